import { Reader } from '../json-bytes.js';
import { locateRecord, type RecordPlace, recordLayout } from '../record-layout.js';
import type { JszConsumer, JszStream } from './parse.js';

/**
 * The streams of the last /jsz sweep of one node, each with the bytes of its record, so that a
 * stream (and its consumers) whose record comes back the same is not parsed again. "The same"
 * is decided on the bytes, with one exception the server forces: every consumer record carries
 * `ts`, the time the server wrote it, which differs on every request with nothing else changed
 * (test/integration/incremental-scrape.test.ts). The bytes are compared around those values;
 * the new values are read and set on the reused consumers (JszConsumer.readAtMs).
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
  /** The stream as the reader made it; handed out only as copies (reuse). */
  stream: JszStream;
  seen: number;
}

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

/** Whether `record` and the kept bytes are the same but for the `ts` values. */
function sameButTimes(record: Buffer, times: readonly number[], kept: Kept): boolean {
  if (times.length !== kept.times.length) return false;
  let at = 0;
  let keptAt = 0;
  for (let i = 0; i <= times.length; i += 2) {
    const to = i < times.length ? times[i]! : record.length;
    const keptTo = i < times.length ? kept.times[i]! : kept.bytes.length;
    if (to - at !== keptTo - keptAt || record.compare(kept.bytes, keptAt, keptTo, at, to) !== 0) return false;
    if (i < times.length) {
      at = times[i + 1]!;
      keptAt = kept.times[i + 1]!;
    }
  }
  return true;
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

  /** The kept stream of `account` for the record at `place`, with this record's `ts` values, when the record is the same; undefined otherwise. */
  reuse(page: Buffer, place: RecordPlace, account: string): JszStream | undefined {
    const kept = this.#kept.get(`${account}\u0000${place.key}`);
    if (kept === undefined) return undefined;
    const record = page.subarray(place.start, place.end);
    const times = timesIn(record);
    if (times === undefined || !sameButTimes(record, times, kept)) return undefined;
    const consumers = kept.stream.consumers;
    if (times.length !== 2 * consumers.length) return undefined;
    const r = new Reader(record);
    const fresh: JszConsumer[] = new Array(consumers.length);
    for (let i = 0; i < consumers.length; i++) {
      r.jump(times[2 * i]!);
      fresh[i] = { ...consumers[i]!, readAtMs: r.time() };
    }
    kept.seen = this.#sweep;
    this.reused++;
    return { ...kept.stream, consumers: fresh };
  }

  /** Keeps the stream read from `bytes` (the record at its place) for the next sweep. */
  keep(account: string, key: string, bytes: Buffer, stream: JszStream): void {
    // In memory of its own, not a shared pool slab (Buffer.from) that one record kept holds whole.
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(copy);
    const times = timesIn(copy);
    if (times === undefined || times.length !== 2 * stream.consumers.length) return;
    this.#kept.set(`${account}\u0000${key}`, { bytes: copy, times, stream, seen: this.#sweep });
  }
}
