import type { Channel } from '../../model/types.js';
import { indentedAt, type RecordPlace, recordEnd, recordLayout, recordName, sameRecordAt } from '../record-layout.js';

/**
 * The channels of the last scrape of one node, each with the bytes of its channelsz record, so
 * that a record that comes back the same is not parsed and modelled again: its channel is
 * reused. Only what changed is read.
 *
 * "The same" is decided on the bytes, never guessed:
 * - the record's bytes equal the kept ones; or
 * - they have the same length, the channel's own fields are the same bytes, and its
 *   subscription records are the kept ones in another order, members of one consumer in the
 *   same order as before. nats-streaming-server lists a channel's queue groups and offline
 *   durables from Go maps, so their order changes from one request to the next with nothing else
 *   changed (test/integration/incremental-scrape.test.ts); the model orders subscriptions by
 *   consumer (model/consumers.ts), so such a record makes the same channel.
 *
 * Records are found in a page by the layout nats-streaming-server writes (Go's
 * json.MarshalIndent with two spaces: a channel opens with `{` at four spaces and closes with `}`
 * at four, a subscription at eight; a newline byte never occurs inside a JSON string). Where a
 * page is laid out otherwise nothing is found, nothing is kept, and every record is read: the
 * cache only ever serves a record that the strict reader read whole before, from the same bytes.
 */

/**
 * A record found the same as last time (its kept channel, and where it ends), or one to read
 * (where it lies). A found record's match is the same object on every scrape, set again (no
 * object made per channel): read it before the next call to match().
 */
export type RecordMatch = { channel: Channel; end: number } | { channel: undefined; place: RecordPlace };

/** What a record was made into. */
interface Kept {
  /** A copy of the record's bytes (the pages' buffers are reused for the next answers). */
  bytes: Buffer;
  /**
   * The channel as buildChannel made it, handed to each scrape that finds the record the same.
   * Nothing changes it but the ages each scrape sets on its consumers (model/oldest-age.ts), so
   * an answer still being written from the scrape before may show a consumer's newer age.
   */
  channel: Channel;
  /** For each subscription record, in the order of `bytes`: which consumer (group and durable) it belongs to. */
  consumerOf: Int32Array;
  /** The same record in other orders of its subscriptions, as the server sent them (at most MAX_OTHER_ORDERS). */
  orders?: Buffer[];
  /** Where its subscription records lie (subscriptionRanges), found at the first reordered record that needs them. */
  ranges?: SubscriptionRanges | null;
  /** The last scrape that saw it. */
  seen: number;
  /** The kept record that followed it in the last scrape's pages, the first one tried for the next record. */
  next?: Kept;
  /** Set when it is no longer kept (gone, or replaced by a newer record of its channel): never predicted then. */
  dropped?: true;
  /** What match() answers when it finds this record (its end set each time). */
  found: { channel: Channel; end: number };
}

/**
 * For each subscription, in the record's order, a number shared by the subscriptions of one
 * group and durable (ChannelRecords.keep).
 */
export function consumerOrder(subscriptions: ReadonlyArray<{ group: string; durable: string }>): Int32Array {
  const ids = new Map<string, number>();
  const out = new Int32Array(subscriptions.length);
  for (let i = 0; i < subscriptions.length; i++) {
    const key = `${subscriptions[i]!.group}\u0000${subscriptions[i]!.durable}`;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    out[i] = id;
  }
  return out;
}

/** A channel opens with `{` at four spaces (channelsz pages). */
const CHANNEL = recordLayout(4);
const SUBSCRIPTIONS_OPEN = Buffer.from('\n      "subscriptions": [');
const SUBSCRIPTION_OPENS = Buffer.from('\n        {');
const SUBSCRIPTION_CLOSES = Buffer.from('\n        }');

/**
 * Other orders of one record kept: a channel with two queue groups comes in two orders, the
 * second found then by one comparison of bytes instead of record by record.
 */
const MAX_OTHER_ORDERS = 1;

/**
 * A copy of a record in memory of its own: Buffer.from would put a record of a few kB in a
 * shared pool slab, which any one record still kept holds whole.
 */
function copyOf(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** Where the record at `start` ends when it has the kept bytes, in any order kept; -1 otherwise. */
function sameKeptAt(page: Buffer, start: number, kept: Kept): number {
  let end = sameRecordAt(page, start, kept.bytes);
  for (let i = 0; end < 0 && i < (kept.orders?.length ?? 0); i++) end = sameRecordAt(page, start, kept.orders![i]!);
  return end;
}

/** Bytes a kept record holds: its copy and its other orders. */
function keptBytes(kept: Kept): number {
  let bytes = kept.bytes.length;
  for (const order of kept.orders ?? []) bytes += order.length;
  return bytes;
}

/** Subscriptions of a record above which the order-free comparison is not tried (the record is read). */
const MAX_REORDERED_SUBSCRIPTIONS = 64;

export class ChannelRecords {
  readonly #kept = new Map<string, Kept>();
  /** Bytes of the records kept, counted as they are kept and dropped. */
  #bytes = 0;
  #scrape = 0;
  /** The first record found the same in the last scrape, and the last one found the same in this one. */
  #first: Kept | undefined;
  #last: Kept | undefined;

  /** A scrape of the node's channels starts. */
  beginScrape(): void {
    this.#scrape++;
    this.#last = undefined;
  }

  /** The scrape read every page: channels it did not see are gone. */
  endScrape(): void {
    // forEach, not for-of: no [key, value] array is made for each of the channels.
    this.#kept.forEach((kept, key, all) => {
      if (kept.seen === this.#scrape) {
        if (kept.next !== undefined && kept.next.seen !== this.#scrape) kept.next = undefined;
        return;
      }
      all.delete(key);
      this.#bytes -= keptBytes(kept);
      kept.dropped = true;
    });
    if (this.#first !== undefined && this.#first.seen !== this.#scrape) this.#first = undefined;
  }

  /** Bytes of the records kept. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#kept.size;
  }

  /**
   * The record that starts at `start` (its `{`): the kept channel and where the record ends when
   * it is the same as last time (see above), else where it lies, to be read and kept; undefined
   * when the page is not laid out as expected there. A record with the kept bytes (in any kept
   * order) is found by one comparison; only another record is scanned for its end.
   */
  match(page: Buffer, start: number): RecordMatch | undefined {
    // The server lists channels by name, so most records are the one that followed the last record
    // found the same last time: tried first, by its bytes alone (which hold its name).
    const predicted = this.#last === undefined ? this.#first : this.#last.next;
    if (predicted !== undefined && predicted.dropped === undefined && indentedAt(page, start, CHANNEL)) {
      const end = sameKeptAt(page, start, predicted);
      if (end >= 0) return this.#found(predicted, end);
    }
    const name = recordName(page, start, CHANNEL);
    if (name === undefined) return undefined;
    const kept = this.#kept.get(name.key);
    if (kept !== undefined) {
      const end = sameKeptAt(page, start, kept);
      if (end >= 0) return this.#found(kept, end);
    }
    const end = recordEnd(page, name.nameEnd, CHANNEL);
    if (end < 0) return undefined;
    if (kept !== undefined && kept.bytes.length === end - start) {
      const record = page.subarray(start, end);
      if (sameSubscriptionsReordered(kept, record)) {
        // The same channel in another order: kept too (a copy), so that it is found by its bytes next time.
        if ((kept.orders ??= []).length < MAX_OTHER_ORDERS) {
          kept.orders.push(copyOf(record));
          this.#bytes += record.length;
        }
        return this.#found(kept, end);
      }
    }
    return { channel: undefined, place: { start, end, key: name.key } };
  }

  /** The kept record is this scrape's next: seen, and after the last one found. */
  #found(kept: Kept, end: number): RecordMatch {
    kept.seen = this.#scrape;
    if (this.#last === undefined) this.#first = kept;
    else this.#last.next = kept;
    this.#last = kept;
    kept.found.end = end;
    return kept.found;
  }

  /**
   * Keeps what the record at `place` was made into. `consumerOf`: for each subscription in the
   * record's order, a number that is the same for subscriptions of the same group and durable.
   */
  keep(key: string, bytes: Buffer, channel: Channel, consumerOf: Int32Array): void {
    const replaced = this.#kept.get(key);
    if (replaced !== undefined) {
      this.#bytes -= keptBytes(replaced);
      replaced.dropped = true;
    }
    this.#kept.set(key, { bytes: copyOf(bytes), channel, consumerOf, seen: this.#scrape, found: { channel, end: 0 } });
    this.#bytes += bytes.length;
  }
}

interface SubscriptionRanges {
  /** Where the channel's own fields end (the subscriptions field starts). */
  fieldsEnd: number;
  /** Start and end of each subscription record. */
  ranges: number[];
}

/** The byte ranges of a record's subscription records, or undefined when it is not laid out as expected. */
function subscriptionRanges(record: Buffer): SubscriptionRanges | undefined {
  const open = record.indexOf(SUBSCRIPTIONS_OPEN);
  if (open < 0) return undefined;
  const ranges: number[] = [];
  let at = open + SUBSCRIPTIONS_OPEN.length;
  for (;;) {
    const from = record.indexOf(SUBSCRIPTION_OPENS, at);
    if (from < 0) break;
    const to = record.indexOf(SUBSCRIPTION_CLOSES, from);
    if (to < 0) return undefined;
    at = to + SUBSCRIPTION_CLOSES.length;
    ranges.push(from + 1, at);
    if (ranges.length > 2 * MAX_REORDERED_SUBSCRIPTIONS) return undefined;
  }
  return { fieldsEnd: open, ranges };
}

/**
 * Whether `record` holds the channel fields of `kept` and its subscription records in another
 * order, with the records of each consumer in the kept order (so that buildChannel, which orders
 * them by consumer and keeps the order within one, would make the same channel).
 */
function sameSubscriptionsReordered(kept: Kept, record: Buffer): boolean {
  if (kept.ranges === undefined) kept.ranges = subscriptionRanges(kept.bytes) ?? null;
  const before = kept.ranges;
  const now = subscriptionRanges(record);
  if (before === null || now === undefined) return false;
  if (before.fieldsEnd !== now.fieldsEnd || before.ranges.length !== now.ranges.length) return false;
  if (record.compare(kept.bytes, 0, before.fieldsEnd, 0, now.fieldsEnd) !== 0) return false;
  const n = now.ranges.length / 2;
  if (kept.consumerOf.length !== n) return false;
  // What lies between the subscription records, and after the last, is the same bytes.
  for (let i = 0; i <= n; i++) {
    const gapFrom = i === 0 ? now.fieldsEnd : now.ranges[2 * i - 1]!;
    const gapTo = i === n ? record.length : now.ranges[2 * i]!;
    const keptFrom = i === 0 ? before.fieldsEnd : before.ranges[2 * i - 1]!;
    const keptTo = i === n ? kept.bytes.length : before.ranges[2 * i]!;
    if (record.compare(kept.bytes, keptFrom, keptTo, gapFrom, gapTo) !== 0) return false;
  }
  const used = new Uint8Array(n);
  /** The last kept position matched for each consumer. */
  const lastOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const from = now.ranges[2 * i]!;
    const to = now.ranges[2 * i + 1]!;
    let match = -1;
    for (let j = 0; j < n && match < 0; j++) {
      // Same place first: most records keep most of their order.
      const k = (i + j) % n;
      if (used[k]) continue;
      const keptFrom = before.ranges[2 * k]!;
      const keptTo = before.ranges[2 * k + 1]!;
      if (keptTo - keptFrom === to - from && record.compare(kept.bytes, keptFrom, keptTo, from, to) === 0) match = k;
    }
    if (match < 0) return false;
    used[match] = 1;
    const consumer = kept.consumerOf[match]!;
    const last = lastOf.get(consumer);
    if (last !== undefined && last > match) return false;
    lastOf.set(consumer, match);
  }
  return true;
}
