import { compressSegment, type Segment } from './gzip-segments.js';

/**
 * The compressed lines of each block of each per-object family, as the last answers rendered
 * them, for gzipped answers (ExpositionWriter.block): a block whose labels (the same interned
 * label bytes, item by item) and values are those of the cached entry reuses its segment;
 * any other block is rendered and compressed again. A value is compared, or known the same: an
 * entry found right for a block's token (Labelled.blockTokens: the same objects with the same
 * labels) is reused for that token without reading values, for families whose values never
 * change in place. An entry is only ever reused for exactly the lines it holds, so nothing is
 * served stale.
 */

interface BlockEntry {
  labels: Uint8Array[];
  moreLabels: Uint8Array[];
  values: Array<number | undefined>;
  /** Undefined when no item of the block has a value (no lines); MOVING when its lines are not kept (see block). */
  segment: Segment | undefined | typeof MOVING;
  /** Answers in a row that found the block's values moved. */
  moves: number;
  /** The token of the block these lines were last found right for (Labelled.blockTokens), if any. */
  token: object | undefined;
  /** The answer that last used it. */
  used: number;
  /** What the entry holds, as counted in SegmentCache.bytes. */
  bytes: number;
}

/**
 * What block() answers for a block whose values moved on this answer and on the answers before
 * (ages, with the clock; the counts of a busy queue): its lines are written into the answer's
 * running text, which is compressed in large pieces, rather than compressed on their own for a
 * reuse that will not come. Compressing each such block alone cost one deflate call, with zlib's
 * set-up, per block: about 300 a scrape at 10,000 channels whose queues all have a waiting message.
 */
export const MOVING = Symbol('moving');
/** Answers in a row a block's values must move before its lines are no longer kept. */
const MOVES_BEFORE_NOT_KEPT = 2;

/** Answers after which an entry that none of them used is dropped. */
const KEEP_UNUSED_ANSWERS = 4;
/** Bytes an entry costs per item beside its compressed lines: two label references and a value. */
const BYTES_PER_ITEM = 24;
const BYTES_PER_ENTRY = 96;

export class SegmentCache {
  /** Family name -> first label bytes of a block -> entry. */
  readonly #blocks = new Map<string, Map<Uint8Array, BlockEntry>>();
  /** Format and family -> the compressed HELP and TYPE lines. */
  readonly #headers = new Map<string, Segment>();
  #answer = 0;
  #bytes = 0;
  /** Blocks reused and rendered again since the exporter started; `moving`: those of the misses written into the answer's text (MOVING). */
  hits = 0;
  misses = 0;
  moving = 0;

  /** What the cache holds: compressed lines, label references, values (an estimate of its heap use). */
  get bytes(): number {
    return this.#bytes;
  }

  /** An answer starts; entries that no answer used lately are dropped now and then. */
  beginAnswer(): void {
    this.#answer++;
    if (this.#answer % KEEP_UNUSED_ANSWERS !== 0) return;
    const before = this.#answer - KEEP_UNUSED_ANSWERS;
    for (const [family, blocks] of this.#blocks) {
      for (const [key, entry] of blocks) {
        if (entry.used < before) {
          blocks.delete(key);
          this.#bytes -= entry.bytes;
        }
      }
      if (blocks.size === 0) this.#blocks.delete(family);
    }
  }

  /** The segment of HELP and TYPE `text`, compressed once per format and family. */
  header(key: string, text: () => Uint8Array): Segment {
    let segment = this.#headers.get(key);
    if (segment === undefined) {
      segment = compressSegment(text());
      this.#headers.set(key, segment);
      this.#bytes += segment.deflated.length;
    }
    return segment;
  }

  /**
   * The entry of `family`'s block whose first label is `key` when it was last found right for the
   * block of `token` (a family whose values never change in place): a hit, without a value read.
   */
  byToken(family: string, key: Uint8Array, token: object): { segment: Segment | undefined } | undefined {
    const cached = this.#blocks.get(family)?.get(key);
    if (cached === undefined || cached.token !== token || cached.segment === MOVING) return undefined;
    cached.used = this.#answer;
    this.hits++;
    cached.moves = 0;
    return cached as { segment: Segment | undefined };
  }

  /**
   * The cached segment of items [from, to) of `family` when every label and value is the same as
   * the cached block's (undefined: the same, and no lines); otherwise it calls `render` for the
   * block's text, compresses and keeps it; or, when the values moved on this answer and the ones
   * before (MOVES_BEFORE_NOT_KEPT), MOVING: the caller writes the lines into the answer's text.
   */
  block(
    family: string,
    labels: readonly Uint8Array[],
    moreLabels: readonly Uint8Array[],
    from: number,
    to: number,
    values: ReadonlyArray<number | undefined>,
    token: object | undefined,
    render: () => Uint8Array,
  ): Segment | undefined | typeof MOVING {
    let blocks = this.#blocks.get(family);
    if (blocks === undefined) {
      blocks = new Map();
      this.#blocks.set(family, blocks);
    }
    const key = labels[from]!;
    const cached = blocks.get(key);
    const same = cached !== undefined && sameBlock(cached, labels, moreLabels, from, to, values);
    if (same && cached.segment !== MOVING) {
      cached.used = this.#answer;
      cached.token = token;
      cached.moves = 0;
      this.hits++;
      return cached.segment;
    }
    this.misses++;
    // The same values as a block whose lines were not kept: it stopped moving, so keep them now.
    const moves = cached === undefined || same ? 0 : cached.moves + 1;
    const n = to - from;
    let segment: Segment | undefined | typeof MOVING = MOVING;
    if (moves >= MOVES_BEFORE_NOT_KEPT) this.moving++;
    else {
      const text = render();
      segment = text.length === 0 ? undefined : compressSegment(text);
    }
    const bytes = BYTES_PER_ENTRY + n * BYTES_PER_ITEM + (segment === MOVING ? 0 : (segment?.deflated.length ?? 0));
    if (cached !== undefined && cached.labels.length === n) {
      // The entry is set again in place: a block that misses answer after answer (the ages) makes
      // no new entry and arrays each time, which would outlive the answer and so reach V8's old
      // generation, bringing its full collections sooner.
      for (let i = from; i < to; i++) {
        cached.labels[i - from] = labels[i]!;
        cached.moreLabels[i - from] = moreLabels[i]!;
        cached.values[i - from] = values[i - from];
      }
      this.#bytes += bytes - cached.bytes;
      cached.segment = segment;
      cached.moves = moves;
      cached.token = token;
      cached.used = this.#answer;
      cached.bytes = bytes;
      return segment;
    }
    const entry: BlockEntry = {
      labels: labels.slice(from, to),
      moreLabels: moreLabels.slice(from, to),
      values: values.slice(0, n),
      segment,
      moves,
      token,
      used: this.#answer,
      bytes,
    };
    if (cached !== undefined) this.#bytes -= cached.bytes;
    blocks.set(key, entry);
    this.#bytes += entry.bytes;
    return segment;
  }
}

function sameBlock(
  entry: BlockEntry,
  labels: readonly Uint8Array[],
  moreLabels: readonly Uint8Array[],
  from: number,
  to: number,
  values: ReadonlyArray<number | undefined>,
): boolean {
  if (entry.labels.length !== to - from) return false;
  const cachedLabels = entry.labels;
  const cachedMore = entry.moreLabels;
  const cachedValues = entry.values;
  for (let i = from; i < to; i++) {
    const j = i - from;
    if (cachedLabels[j] !== labels[i] || cachedMore[j] !== moreLabels[i] || cachedValues[j] !== values[j]) return false;
  }
  return true;
}
