import { Reader } from '../json-bytes.js';
import { locateRecord, type RecordPlace, recordLayout, recordName } from '../record-layout.js';
import type { JszStream } from './parse.js';

/**
 * The streams of the last /jsz sweep of one node, each with the bytes of its record, so that a
 * stream (and its consumers) whose record comes back the same is not parsed again. "The same"
 * is decided on the bytes, with one exception the server forces: every consumer record carries
 * `ts`, the time the server wrote it, which differs on every request with nothing else changed
 * (test/integration/incremental-scrape.test.ts). The bytes are compared around those values;
 * the new values are read and set on the kept consumers (JszConsumer.readAtMs), in place: a
 * stream found the same is the same object on every sweep, so that what is made from it can be
 * kept too (leaders.ts NodeStreams, queues.ts LogicalChannels).
 *
 * Streams are kept by account and name: the server lists an account's streams in another order
 * on every request. A page laid out otherwise than nats-server writes it (record-layout.ts)
 * keeps nothing, and every stream of it is read.
 */

/** A stream opens with `{` at eight spaces: account_details[], stream_detail[]. */
const STREAM = recordLayout(8);
/** A consumer's `ts` field: consumer fields are at fourteen spaces (consumer_detail[] of a stream). */
const TS_FIELD = Buffer.from('\n              "ts": ');
const QUOTE = 0x22;

interface Kept {
  /** A copy of the record's bytes (the pages' buffers are reused). */
  bytes: Buffer;
  /** Start and end of each `ts` value (its quotes included) in `bytes`, in the order of the consumers. */
  times: number[];
  /** The stream as the reader made it; nothing changes it but the `readAtMs` of its consumers (reuse). */
  stream: JszStream;
  seen: number;
  /** What reuse() answers when it finds this record (its end set each time). */
  found: { stream: JszStream; end: number };
}

/** Where each consumer's `ts` value lies in the record being compared (reuse), then its time. */
let valuesAt: number[] = [];

/** Start and end of each consumer's `ts` value in `record`, quotes included; undefined when one is not laid out as expected. */
function timesIn(record: Buffer): number[] | undefined {
  const times: number[] = [];
  for (let at = record.indexOf(TS_FIELD); at >= 0; at = record.indexOf(TS_FIELD, at)) {
    const from = at + TS_FIELD.length;
    if (record[from] !== QUOTE) return undefined;
    const to = record.indexOf(QUOTE, from + 1);
    if (to < 0) return undefined;
    times.push(from, to + 1);
    at = to + 1;
  }
  return times;
}

export class StreamRecords {
  readonly #kept = new Map<string, Kept>();
  #sweep = 0;
  /** Streams reused since the records were made. */
  reused = 0;

  /** A sweep of the node's /jsz pages starts. */
  beginSweep(): void {
    this.#sweep++;
  }

  /** The sweep read every page: streams it did not see are gone. */
  endSweep(): void {
    for (const [key, kept] of this.#kept) if (kept.seen !== this.#sweep) this.#kept.delete(key);
  }

  get bytes(): number {
    let bytes = 0;
    for (const kept of this.#kept.values()) bytes += kept.bytes.length;
    return bytes;
  }

  get size(): number {
    return this.#kept.size;
  }

  locate(page: Buffer, start: number): RecordPlace | undefined {
    return locateRecord(page, start, STREAM);
  }

  /**
   * The kept stream of `account` when the record that starts at `start` (its `{`) has the kept
   * bytes but for the `ts` values, with this record's values set on its consumers, and where the
   * record ends; undefined otherwise (locate() it then, and read it). One pass: each stretch
   * between two `ts` values is compared with the kept one where it must lie, and each value runs
   * to its closing quote, so the record is neither scanned for its end nor for its values first.
   * The answer is the same object on every call for the record, set again: read it at once.
   */
  reuse(page: Buffer, start: number, account: string): { stream: JszStream; end: number } | undefined {
    const name = recordName(page, start, STREAM);
    if (name === undefined) return undefined;
    const kept = this.#kept.get(`${account}\u0000${name.key}`);
    if (kept === undefined) return undefined;
    const { bytes, times } = kept;
    const consumers = kept.stream.consumers;
    if (times.length !== 2 * consumers.length) return undefined;
    if (valuesAt.length < consumers.length) valuesAt = new Array(consumers.length);
    let at = start;
    let keptAt = 0;
    for (let i = 0; i <= times.length; i += 2) {
      const keptTo = i < times.length ? times[i]! : bytes.length;
      const to = at + keptTo - keptAt;
      if (to > page.length || page.compare(bytes, keptAt, keptTo, at, to) !== 0) return undefined;
      at = to;
      if (i === times.length) break;
      // A value is a quoted string; whatever follows its closing quote is compared with what followed the kept one.
      if (page[at] !== QUOTE) return undefined;
      const close = page.indexOf(QUOTE, at + 1);
      if (close < 0) return undefined;
      valuesAt[i / 2] = at;
      at = close + 1;
      keptAt = times[i + 1]!;
    }
    const r = new Reader(page);
    // Every value is read before any is set: a value that does not read leaves the kept stream as it was.
    for (let i = 0; i < consumers.length; i++) {
      r.jump(valuesAt[i]!);
      valuesAt[i] = r.time();
    }
    for (let i = 0; i < consumers.length; i++) consumers[i]!.readAtMs = valuesAt[i]!;
    kept.seen = this.#sweep;
    this.reused++;
    kept.found.end = at;
    return kept.found;
  }

  /** Keeps the stream read from `bytes` (the record at its place) for the next sweep. */
  keep(account: string, key: string, bytes: Buffer, stream: JszStream): void {
    // In memory of its own, not a shared pool slab (Buffer.from) that one record kept holds whole.
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(copy);
    const times = timesIn(copy);
    if (times === undefined || times.length !== 2 * stream.consumers.length) return;
    this.#kept.set(`${account}\u0000${key}`, { bytes: copy, times, stream, seen: this.#sweep, found: { stream, end: 0 } });
  }
}
