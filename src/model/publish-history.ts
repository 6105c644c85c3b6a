/**
 * When each channel's messages were published, as far as the exporter's own scrapes tell: a few
 * points (last_seq, first seen, last seen) per channel, kafka-lag-exporter's method. A message
 * with sequence s, last_seq(i-1) < s <= last_seq(i), was published after point i-1 was last seen
 * and no later than point i was first seen; between the two it is interpolated by sequence.
 * Where the server reports when a sequence was published (JetStream's first_ts and last_ts), the
 * point holds that time instead of first seen and is exact: such anchors place messages that
 * were published before the exporter started.
 */

/** Points kept per channel; when full, the point whose removal widens a gap least is dropped. */
export const POINTS_PER_CHANNEL = 16;
/** Channels kept at most over all servers; more are not remembered. */
const MAX_CHANNELS = 100_000;
/** A channel not seen for this long is forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;

const SEQ = 0;
/** When the sequence was first seen as the last, or (EXACT) when it was published. */
const FIRST_SEEN = 1;
const LAST_SEEN = 2;
/** 1 when FIRST_SEEN is the server's own publish time of SEQ. */
const EXACT = 3;
const FIELDS = 4;

/** When a message was published: from the server's own time, else estimated from the history, else only known to be older. */
export type PublishTime =
  | { kind: 'exact' | 'estimated'; atMs: number }
  /** Published no later than `atMs`: the message is older than anything this history holds. */
  | { kind: 'at_least'; atMs: number };

/** A PublishTime to be set again and again (ChannelHistory.publishTimeBetween's `into`). */
export interface PublishTimeScratch {
  kind: PublishTime['kind'];
  atMs: number;
}

/** What the history says of one channel (PublishHistory.record). */
export interface ChannelHistory {
  /** As PublishHistory.publishTimeBetween; with `into`, the answer is `into`, set (no object made per queue). */
  publishTimeBetween(from: number, to: number, into?: PublishTimeScratch): PublishTime | undefined;
}

function publishTime(kind: PublishTime['kind'], atMs: number, into: PublishTimeScratch | undefined): PublishTime {
  if (into === undefined) return { kind, atMs };
  into.kind = kind;
  into.atMs = atMs;
  return into;
}

/**
 * Points a channel's history has room for at first: most channels of a large server are quiet and
 * need one or two. 2 points are 64 bytes, which V8 keeps inside the typed array (no buffer of its
 * own); room doubles up to POINTS_PER_CHANNEL as points come.
 */
const FIRST_ROOM = 2;

class ChannelPoints implements ChannelHistory {
  /** SEQ, FIRST_SEEN, LAST_SEEN, EXACT per point, oldest first. */
  points = new Float64Array(FIRST_ROOM * FIELDS);
  count = 0;
  touchedMs = 0;

  record(lastSeq: number, nowMs: number, publishedMs: number | undefined): void {
    this.touchedMs = nowMs;
    const newest = (this.count - 1) * FIELDS;
    if (this.count > 0 && this.points[newest + SEQ] === lastSeq) {
      this.points[newest + LAST_SEEN] = nowMs;
      if (publishedMs !== undefined) this.#pin(newest, publishedMs);
      return;
    }
    // A channel deleted and made again starts its sequences over: what was known of it is void.
    if (this.count > 0 && lastSeq < this.points[newest + SEQ]!) this.count = 0;
    this.#roomForOneMore();
    const p = this.points;
    const at = this.count * FIELDS;
    p[at + SEQ] = lastSeq;
    p[at + FIRST_SEEN] = nowMs;
    p[at + LAST_SEEN] = nowMs;
    p[at + EXACT] = 0;
    this.count++;
    if (publishedMs !== undefined) this.#pin(at, publishedMs);
  }

  /**
   * `firstSeq`, the oldest message the channel holds, was published at `publishedMs`. It becomes
   * the first point; points below it are dropped, since no message below it is left to place.
   */
  anchorFirst(firstSeq: number, publishedMs: number): void {
    let p = this.points;
    let below = 0;
    while (below < this.count && p[below * FIELDS + SEQ]! < firstSeq) below++;
    // Only an empty channel has its first sequence above its last: nothing to anchor.
    if (below === this.count) return;
    p.copyWithin(0, below * FIELDS, this.count * FIELDS);
    this.count -= below;
    if (p[SEQ] !== firstSeq) {
      this.#roomForOneMore();
      p = this.points;
      p.copyWithin(FIELDS, 0, this.count * FIELDS);
      p[SEQ] = firstSeq;
      p[LAST_SEEN] = publishedMs;
      this.count++;
    }
    this.#pin(0, publishedMs);
  }

  /** Room for one more point: more room while below POINTS_PER_CHANNEL, else one point fewer (#thin). */
  #roomForOneMore(): void {
    if (this.count < this.points.length / FIELDS) return;
    if (this.count === POINTS_PER_CHANNEL) {
      this.#thin();
      return;
    }
    const more = new Float64Array(Math.min(2 * this.points.length, POINTS_PER_CHANNEL * FIELDS));
    more.set(this.points);
    this.points = more;
  }

  #pin(at: number, publishedMs: number): void {
    this.points[at + FIRST_SEEN] = publishedMs;
    this.points[at + EXACT] = 1;
  }

  /** Drops the inner point whose neighbours are closest in time, so that old spans thin out first where they are dense. */
  #thin(): void {
    const p = this.points;
    let drop = 1;
    let narrowest = Infinity;
    for (let i = 1; i < this.count - 1; i++) {
      const gap = p[(i + 1) * FIELDS + FIRST_SEEN]! - p[(i - 1) * FIELDS + LAST_SEEN]!;
      if (gap < narrowest) {
        narrowest = gap;
        drop = i;
      }
    }
    p.copyWithin(drop * FIELDS, (drop + 1) * FIELDS, this.count * FIELDS);
    this.count--;
  }

  /** The first point at or above `seq`; -1 when `seq` is above them all. */
  #pointAtOrAbove(seq: number): number {
    for (let i = 0; i < this.count; i++) if (this.points[i * FIELDS + SEQ]! >= seq) return i;
    return -1;
  }

  publishTime(seq: number, into?: PublishTimeScratch): PublishTime | undefined {
    const i = this.#pointAtOrAbove(seq);
    if (i < 0) return undefined;
    const p = this.points;
    const at = i * FIELDS;
    if (p[at + EXACT] === 1 && p[at + SEQ] === seq) return publishTime('exact', p[at + FIRST_SEEN]!, into);
    if (i === 0) return publishTime('at_least', p[FIRST_SEEN]!, into);
    return publishTime('estimated', this.#interpolate(i, seq), into);
  }

  /**
   * When the first of some messages between `from` and `to` was published, not knowing which:
   * estimated when both lie in the same span between two points (any place in the span is as
   * good as an estimate there), else only "no later than `to` was".
   */
  publishTimeBetween(from: number, to: number, into?: PublishTimeScratch): PublishTime | undefined {
    if (from === to) return this.publishTime(from, into);
    const i = this.#pointAtOrAbove(to);
    if (i < 0) return undefined;
    if (i > 0 && this.#pointAtOrAbove(from) === i) return publishTime('estimated', this.#interpolate(i, to), into);
    return publishTime('at_least', this.points[i * FIELDS + FIRST_SEEN]!, into);
  }

  /** The place of `seq` in the span below point i (i > 0), by its sequence. */
  #interpolate(i: number, seq: number): number {
    const p = this.points;
    const seqAfter = p[i * FIELDS + SEQ]!;
    const seqBefore = p[(i - 1) * FIELDS + SEQ]!;
    const after = p[(i - 1) * FIELDS + LAST_SEEN]!;
    const noLaterThan = p[i * FIELDS + FIRST_SEEN]!;
    return after + ((seq - seqBefore) / (seqAfter - seqBefore)) * (noLaterThan - after);
  }
}

/** The publish history of every channel the exporter reads, by logical server and channel. */
export class PublishHistory {
  /** By server, then channel: no key is made per lookup (40,000 a scrape at 10,000 channels). */
  readonly #servers = new Map<string, Map<string, ChannelPoints>>();
  #size = 0;
  #lastSweepMs = 0;

  #points(server: string, channel: string): ChannelPoints | undefined {
    return this.#servers.get(server)?.get(channel);
  }

  /**
   * One observation of a channel's last sequence, with its publish time when the server reports
   * it. Gives the channel's history (undefined when it is not remembered: MAX_CHANNELS), so that
   * its consumers' ages are read from it without finding it again by name.
   */
  record(server: string, channel: string, lastSeq: number, nowMs: number, lastPublishedMs?: number): ChannelHistory | undefined {
    let channels = this.#servers.get(server);
    if (channels === undefined) this.#servers.set(server, (channels = new Map()));
    let points = channels.get(channel);
    if (points === undefined) {
      if (this.#size >= MAX_CHANNELS) return undefined;
      points = new ChannelPoints();
      channels.set(channel, points);
      this.#size++;
    }
    points.record(lastSeq, nowMs, lastPublishedMs);
    // A channel recorded now is never forgotten by this sweep (it was touched now).
    if (nowMs - this.#lastSweepMs > FORGET_AFTER_MS / 4) this.#forget(nowMs);
    return points;
  }

  /** The server reports that `firstSeq`, the oldest message of a channel recorded this scrape, was published at `publishedMs`. */
  anchorFirst(server: string, channel: string, firstSeq: number, publishedMs: number): void {
    this.#points(server, channel)?.anchorFirst(firstSeq, publishedMs);
  }

  /** When message `seq` of the channel was published, or undefined when the history cannot say. */
  publishTime(server: string, channel: string, seq: number): PublishTime | undefined {
    return this.#points(server, channel)?.publishTime(seq);
  }

  /** When the first of some messages between `from` and `to` (which one is not known) was published. */
  publishTimeBetween(server: string, channel: string, from: number, to: number): PublishTime | undefined {
    return this.#points(server, channel)?.publishTimeBetween(from, to);
  }

  get size(): number {
    return this.#size;
  }

  #forget(nowMs: number): void {
    this.#lastSweepMs = nowMs;
    for (const [server, channels] of this.#servers) {
      for (const [key, points] of channels) {
        if (nowMs - points.touchedMs <= FORGET_AFTER_MS) continue;
        channels.delete(key);
        this.#size--;
      }
      if (channels.size === 0) this.#servers.delete(server);
    }
  }
}
