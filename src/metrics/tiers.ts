import type { Row } from './families.js';

/**
 * Which endpoint a per-object family (one series per channel, stream, queue or subscription)
 * is on. `default`: a dashboard panel, an alert, a recording rule or the status page reads it,
 * and /metrics serves it. `detailed`: nothing of this project reads it; /metrics/detailed serves
 * it, and /metrics too with --detailed-metrics. The audit behind each row's tier is on
 * docs/metrics.md#series-audit.
 */
export type Tier = 'default' | 'detailed';

/** A row of a per-object family table, led by its tier. */
export type TieredRow<T> = readonly [Tier, ...Row<T>];

/**
 * Which families a rendering writes: the default ones (/metrics), the detailed ones
 * (/metrics/detailed), or both (/metrics with --detailed-metrics).
 */
export interface FamilySelection {
  default: boolean;
  /** Every detailed family (true), none (false), or only those named (family=NAME on /metrics/detailed). */
  detailed: boolean | ReadonlySet<string>;
}

function selected(tier: Tier, name: string, selection: FamilySelection): boolean {
  if (tier === 'default') return selection.default;
  const detailed = selection.detailed;
  return typeof detailed === 'boolean' ? detailed : detailed.has(name);
}

/** The rows of `table` that `selection` asks for, in the table's order. */
export function selectRows<T>(table: ReadonlyArray<TieredRow<T>>, selection: FamilySelection): Array<Row<T>> {
  const rows: Array<Row<T>> = [];
  for (const [tier, ...row] of table) if (selected(tier, row[0], selection)) rows.push(row);
  return rows;
}

/** The names of the families of `tier` in `table`. */
export function familyNames(table: ReadonlyArray<readonly [Tier, string, ...unknown[]]>, tier: Tier): string[] {
  return table.filter(([t]) => t === tier).map(([, name]) => name);
}
