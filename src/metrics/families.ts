import type { ExpositionWriter, MetricType } from './exposition.js';

/**
 * One family in a table of families: its name, type, help and how to read its value from a model
 * object. `changes` is IN_PLACE when the value is read from fields set again on the same object
 * every scrape (the ages, model/oldest-age.ts): every other value is read from fields fixed when
 * the object was built, which a block reused by identity (BlockTokens) relies on.
 */
export type Row<T> = readonly [name: string, type: MetricType, help: string, value: (item: T) => number | undefined, changes?: typeof IN_PLACE];

/** A row whose value can change on the same object (see Row). */
export const IN_PLACE = 'in place';

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
  /**
   * For each block, a token (BlockTokens) that is the same object as a block of an earlier
   * answer's level exactly when that block held the same items with the same labels, object for
   * object: its families, but those whose values change in place, have the same values.
   */
  blockTokens?: object[];
  /**
   * Items added so far when the arrays were made at their final size (labelled's `size`), which
   * spares the copies an array grown item by item leaves behind; finish() trims any unused room.
   */
  filled?: number;
}

/**
 * Most items a level's arrays are made for at once; a larger level grows item by item. Not a
 * limit of V8's, which keeps an array made by `new Array(n)` fast up to about 32 million items
 * (Node 20 and 24): presizing was measured up to 50,000 items (10,000 channels × 5 subscriptions).
 */
const MAX_PRESIZED = 65_536;

/** A level; `size`, when given, is how many items it will hold, so its arrays are made at that size. */
export function labelled<T>(blocks = false, size?: number): Labelled<T> {
  const level: Labelled<T> = blocks ? { labels: [], moreLabels: [], items: [], blockStarts: [] } : { labels: [], moreLabels: [], items: [] };
  if (size !== undefined && size > 0 && size <= MAX_PRESIZED) {
    level.labels = new Array(size);
    level.moreLabels = new Array(size);
    level.items = new Array(size);
    level.filled = 0;
  }
  return level;
}

export function add<T>(level: Labelled<T>, labels: Uint8Array, moreLabels: Uint8Array, item: T): void {
  if (level.filled !== undefined && level.filled < level.items.length) {
    const i = level.filled++;
    level.labels[i] = labels;
    level.moreLabels[i] = moreLabels;
    level.items[i] = item;
    return;
  }
  if (level.filled !== undefined) level.filled++;
  level.labels.push(labels);
  level.moreLabels.push(moreLabels);
  level.items.push(item);
}

/** The level is complete: room made for items never added is given up. */
export function finish<T>(level: Labelled<T>): void {
  const n = level.filled;
  if (n === undefined) return;
  delete level.filled;
  if (n === level.items.length) return;
  level.labels.length = n;
  level.moreLabels.length = n;
  level.items.length = n;
}

/** Starts a new block at the next item added. */
export function startBlock<T>(level: Labelled<T>): void {
  const starts = level.blockStarts;
  if (starts === undefined) return;
  const at = level.filled ?? level.items.length;
  if (starts.length === 0 || starts[starts.length - 1] !== at) starts.push(at);
}

/**
 * Gives each block of a level its token (Labelled.blockTokens): the token of the previous level's
 * block with the same first label when that block held the same items with the same labels, the
 * same objects one by one (a channel that a scrape found unchanged is the same object:
 * sources/stan/channel-records.ts); a new token otherwise. A cached block whose token is the
 * block's is reused without reading a value (ExpositionWriter.reuseBlock).
 */
export class BlockTokens {
  #previous: Labelled<unknown> | undefined;
  /** First label of each block of the previous level -> the block's index. */
  #blockAt = new Map<Uint8Array, number>();

  assign<T>(level: Labelled<T>): void {
    const { labels, items, blockStarts } = level;
    if (blockStarts === undefined) return;
    const previous = this.#previous;
    const tokens: object[] = new Array(blockStarts.length);
    const blockAt = new Map<Uint8Array, number>();
    for (let b = 0; b < blockStarts.length; b++) {
      const from = blockStarts[b]!;
      const to = b + 1 < blockStarts.length ? blockStarts[b + 1]! : items.length;
      let token: object | undefined;
      if (from < to) {
        const key = labels[from]!;
        blockAt.set(key, b);
        const p = this.#blockAt.get(key);
        if (previous !== undefined && p !== undefined && sameItems(previous, p, level, from, to)) token = previous.blockTokens![p];
      }
      tokens[b] = token ?? {};
    }
    level.blockTokens = tokens;
    this.#previous = level as Labelled<unknown>;
    this.#blockAt = blockAt;
  }
}

/** Whether block `b` of `previous` holds items [from, to) of `level`, with their labels, object for object. */
function sameItems<T>(previous: Labelled<unknown>, b: number, level: Labelled<T>, from: number, to: number): boolean {
  const starts = previous.blockStarts!;
  const pFrom = starts[b]!;
  const pTo = b + 1 < starts.length ? starts[b + 1]! : previous.items.length;
  if (pTo - pFrom !== to - from) return false;
  const { items, labels, moreLabels } = level;
  for (let i = from, j = pFrom; i < to; i++, j++) {
    if (items[i] !== previous.items[j] || labels[i] !== previous.labels[j] || moreLabels[i] !== previous.moreLabels[j]) return false;
  }
  return true;
}

/** Values of one block, reused from family to family. */
let scratch: Array<number | undefined> = [];

/** Writes one family per row, each over all items; families without samples write nothing. */
export async function writeRows<T>(out: ExpositionWriter, rows: ReadonlyArray<Row<T>>, level: Labelled<T>): Promise<void> {
  const { labels, moreLabels, items, blockStarts, blockTokens } = level;
  for (const [name, type, help, value, changes] of rows) {
    out.family({ name, type, help });
    if (blockStarts !== undefined && out.cachesBlocks) {
      const tokens = changes === IN_PLACE ? undefined : blockTokens;
      for (let b = 0; b < blockStarts.length; b++) {
        const from = blockStarts[b]!;
        const to = b + 1 < blockStarts.length ? blockStarts[b + 1]! : items.length;
        const token = tokens?.[b];
        if (token === undefined || !out.reuseBlock(labels, from, to, token)) {
          if (scratch.length < to - from) scratch = new Array(to - from);
          for (let i = from; i < to; i++) scratch[i - from] = value(items[i]!);
          out.block(labels, moreLabels, from, to, scratch, token);
        }
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
