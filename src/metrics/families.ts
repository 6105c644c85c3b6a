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
  /**
   * Per-object levels (channels, queues, subscriptions) only: where each block of items starts,
   * ascending from 0. A block's rendered lines are cached, compressed, and reused by the next
   * answer whose block has the same labels and values (ExpositionWriter.block).
   */
  blockStarts?: number[];
}

export function labelled<T>(blocks = false): Labelled<T> {
  return blocks ? { labels: [], moreLabels: [], items: [], blockStarts: [] } : { labels: [], moreLabels: [], items: [] };
}

export function add<T>(level: Labelled<T>, labels: Uint8Array, moreLabels: Uint8Array, item: T): void {
  level.labels.push(labels);
  level.moreLabels.push(moreLabels);
  level.items.push(item);
}

/** Starts a new block at the next item added. */
export function startBlock<T>(level: Labelled<T>): void {
  const starts = level.blockStarts;
  if (starts === undefined) return;
  const at = level.items.length;
  if (starts.length === 0 || starts[starts.length - 1] !== at) starts.push(at);
}

/** Values of one block, reused from family to family. */
let scratch: Array<number | undefined> = [];

/** Writes one family per row, each over all items; families without samples write nothing. */
export async function writeRows<T>(out: ExpositionWriter, rows: ReadonlyArray<Row<T>>, level: Labelled<T>): Promise<void> {
  const { labels, moreLabels, items, blockStarts } = level;
  for (const [name, type, help, value] of rows) {
    out.family({ name, type, help });
    if (blockStarts !== undefined && out.cachesBlocks) {
      for (let b = 0; b < blockStarts.length; b++) {
        const from = blockStarts[b]!;
        const to = b + 1 < blockStarts.length ? blockStarts[b + 1]! : items.length;
        if (scratch.length < to - from) scratch = new Array(to - from);
        for (let i = from; i < to; i++) scratch[i - from] = value(items[i]!);
        out.block(labels, moreLabels, from, to, scratch);
        const full = out.flushIfFull();
        if (full) await full;
      }
      continue;
    }
    for (let i = 0; i < items.length; i++) {
      const v = value(items[i]!);
      if (v !== undefined) out.sample(labels[i]!, moreLabels[i]!, v);
      const full = out.flushIfFull();
      if (full) await full;
    }
  }
}
