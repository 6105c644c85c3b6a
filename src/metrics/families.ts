import type { ExpositionWriter, MetricType } from './exposition.js';

/** One family in a table of families: its name, type, help and how to read its value from a model object. */
export type Row<T> = readonly [name: string, type: MetricType, help: string, value: (item: T) => number | undefined];

/**
 * Model objects of one level (servers, channels, ...) beside the label text of each, in two
 * parts: `labels` (e.g. server and subject, shared by a channel's consumers) and `moreLabels`
 * (e.g. group and durable, the same text for many channels, so kept once).
 */
export interface Labelled<T> {
  labels: Uint8Array[];
  moreLabels: Uint8Array[];
  items: T[];
}

export function labelled<T>(): Labelled<T> {
  return { labels: [], moreLabels: [], items: [] };
}

export function add<T>(level: Labelled<T>, labels: Uint8Array, moreLabels: Uint8Array, item: T): void {
  level.labels.push(labels);
  level.moreLabels.push(moreLabels);
  level.items.push(item);
}

/** Writes one family per row, each over all items; families without samples write nothing. */
export async function writeRows<T>(out: ExpositionWriter, rows: ReadonlyArray<Row<T>>, { labels, moreLabels, items }: Labelled<T>): Promise<void> {
  for (const [name, type, help, value] of rows) {
    out.family({ name, type, help });
    for (let i = 0; i < items.length; i++) {
      const v = value(items[i]!);
      if (v !== undefined) out.sample(labels[i]!, moreLabels[i]!, v);
      const full = out.flushIfFull();
      if (full) await full;
    }
  }
}
