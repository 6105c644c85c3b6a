/**
 * When each channel's messages were published, as far as the exporter's own scrapes tell: a few
 * points (last_seq, first seen, last seen) per channel, kafka-lag-exporter's method. A message
 * with sequence s, last_seq(i-1) < s <= last_seq(i), was published after point i-1 was last seen
 * and no later than point i was first seen; between the two it is interpolated by sequence.
 */

/** Points kept per channel; when full, the point whose removal widens a gap least is dropped. */
export const POINTS_PER_CHANNEL = 16;
/** Channels kept at most over all servers; more are not remembered. */
const MAX_CHANNELS = 100_000;
/** A channel not seen for this long is forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;

const SEQ = 0;
const FIRST_SEEN = 1;
const LAST_SEEN = 2;
const FIELDS = 3;

/** When a message was published: `exact` from its own timestamp, else estimated from the history, else only known to be older. */
export type PublishTime =
  | { kind: 'estimated'; atMs: number }
  /** Published no later than `atMs`: the message is older than anything this history holds. */
  | { kind: 'at_least'; atMs: number };

class ChannelPoints {
  /** SEQ, FIRST_SEEN, LAST_SEEN per point, oldest first. */
  readonly points = new Float64Array(POINTS_PER_CHANNEL * FIELDS);
  count = 0;
  touchedMs = 0;

  record(lastSeq: number, nowMs: number): void {
    this.touchedMs = nowMs;
    const p = this.points;
    const newest = (this.count - 1) * FIELDS;
    if (this.count > 0 && p[newest + SEQ] === lastSeq) {
      p[newest + LAST_SEEN] = nowMs;
      return;
    }
    // A channel deleted and made again starts its sequences over: what was known of it is void.
    if (this.count > 0 && lastSeq < p[newest + SEQ]!) this.count = 0;
    if (this.count === POINTS_PER_CHANNEL) this.#thin();
    const at = this.count * FIELDS;
    p[at + SEQ] = lastSeq;
    p[at + FIRST_SEEN] = nowMs;
    p[at + LAST_SEEN] = nowMs;
    this.count++;
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

  publishTime(seq: number): PublishTime | undefined {
    const p = this.points;
    if (this.count === 0) return undefined;
    if (seq <= p[SEQ]!) return { kind: 'at_least', atMs: p[FIRST_SEEN]! };
    for (let i = 1; i < this.count; i++) {
      const seqAfter = p[i * FIELDS + SEQ]!;
      if (seq > seqAfter) continue;
      const seqBefore = p[(i - 1) * FIELDS + SEQ]!;
      const after = p[(i - 1) * FIELDS + LAST_SEEN]!;
      const noLaterThan = p[i * FIELDS + FIRST_SEEN]!;
      return { kind: 'estimated', atMs: after + ((seq - seqBefore) / (seqAfter - seqBefore)) * (noLaterThan - after) };
    }
    return undefined;
  }
}

/** The publish history of every channel the exporter reads, by logical server and channel. */
export class PublishHistory {
  readonly #channels = new Map<string, ChannelPoints>();
  #lastSweepMs = 0;

  /** One observation of a channel's last sequence. */
  record(server: string, channel: string, lastSeq: number, nowMs: number): void {
    const key = `${server}\u0000${channel}`;
    let points = this.#channels.get(key);
    if (points === undefined) {
      if (this.#channels.size >= MAX_CHANNELS) return;
      points = new ChannelPoints();
      this.#channels.set(key, points);
    }
    points.record(lastSeq, nowMs);
    if (nowMs - this.#lastSweepMs > FORGET_AFTER_MS / 4) this.#forget(nowMs);
  }

  /** When message `seq` of the channel was published, or undefined when the history cannot say. */
  publishTime(server: string, channel: string, seq: number): PublishTime | undefined {
    return this.#channels.get(`${server}\u0000${channel}`)?.publishTime(seq);
  }

  get size(): number {
    return this.#channels.size;
  }

  #forget(nowMs: number): void {
    this.#lastSweepMs = nowMs;
    for (const [key, points] of this.#channels) if (nowMs - points.touchedMs > FORGET_AFTER_MS) this.#channels.delete(key);
  }
}
