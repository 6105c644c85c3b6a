import type { Consumer, Snapshot } from '../../model/types.js';
import { type EarlierSample, judge, type QueueSample, STATUS_RULES, type Verdict, VERDICTS } from './rules.js';

/** One queue as the page and /api/v1/queues show it. */
export interface QueueRow {
  server: string;
  subject: string;
  group: string;
  durable: string;
  verdict: Verdict;
  /** Start time (ISO 8601) of the first collection in a row that gave this verdict. */
  since: string;
  why: string;
  pending: number;
  undelivered: number;
  unacked: number;
  lastSent: number;
  members: number;
  stalledMembers: number;
  offline: boolean;
  /** What this pod's workers report holding (probe reports); null when none report it. */
  clientPending: number | null;
  /** Pending in each collection the history holds, oldest first; null before the queue was seen. */
  pendingHistory: Array<number | null>;
}

/** Figures per collection slot, in this order: pending, cursor, channel last sequence. */
const FIGURES = 3;

interface Track {
  readonly server: string;
  readonly subject: string;
  readonly group: string;
  readonly durable: string;
  readonly ring: Float64Array;
  latest: QueueSample;
  unacked: number;
  clientPending: number | null;
  verdict: Verdict;
  since: number;
  why: string;
  seenIn: number;
}

const keyOf = (server: string, subject: string, group: string, durable: string): string => JSON.stringify([server, subject, group, durable]);

function sampleOf(c: Consumer, channelLastSeq: number, at: number): QueueSample {
  return {
    at, pending: c.pending, undelivered: c.undelivered, lastSent: c.lastSent, channelLastSeq,
    members: c.members, stalledMembers: c.stalledMembers, offline: c.offline,
  };
}

/**
 * The last STATUS_RULES.historyCollections collections, per queue: three numbers per collection in
 * one typed array, plus the latest figures. A queue missing from a collection (deleted, or its
 * server failed to answer) is dropped, so memory follows the queues there are now.
 */
export class StatusHistory {
  readonly #size = STATUS_RULES.historyCollections;
  readonly #times = new Float64Array(STATUS_RULES.historyCollections).fill(Number.NaN);
  readonly #tracks = new Map<string, Track>();
  #slot = -1;
  #collections = 0;

  /** Start time (Unix ms) of the latest collection; undefined before the first. */
  get collectedAt(): number | undefined {
    return this.#collections === 0 ? undefined : this.#times[this.#slot];
  }

  get queueCount(): number {
    return this.#tracks.size;
  }

  record(snapshot: Snapshot): void {
    this.#slot = (this.#slot + 1) % this.#size;
    this.#times[this.#slot] = snapshot.startedAt;
    const collection = ++this.#collections;
    const client = new Map(snapshot.clientPending.map((c) => [keyOf(c.server, c.subject, c.group, c.durable), c.messages]));
    for (const server of snapshot.servers) {
      if (server.failure) continue;
      for (const channel of server.channels) {
        for (const consumer of channel.consumers) {
          const key = keyOf(server.name, channel.name, consumer.group, consumer.durable);
          const sample = sampleOf(consumer, channel.lastSeq, snapshot.startedAt);
          const track = this.#tracks.get(key) ?? this.#newTrack(key, server.name, channel.name, consumer, sample);
          this.#update(track, sample, consumer.unacked, client.get(key) ?? null, collection);
        }
      }
    }
    for (const [key, track] of this.#tracks) if (track.seenIn !== collection) this.#tracks.delete(key);
  }

  /** Every queue, worst first: by verdict, then most pending. */
  rows(): QueueRow[] {
    const order: number[] = [];
    for (let i = 1; i <= this.#size; i++) {
      const slot = (this.#slot + i) % this.#size;
      if (!Number.isNaN(this.#times[slot]!)) order.push(slot);
    }
    const rows: QueueRow[] = [];
    for (const t of this.#tracks.values()) {
      const { pending, undelivered, lastSent, members, stalledMembers, offline } = t.latest;
      rows.push({
        server: t.server, subject: t.subject, group: t.group, durable: t.durable,
        verdict: t.verdict, since: new Date(t.since).toISOString(), why: t.why,
        pending, undelivered, unacked: t.unacked, lastSent, members, stalledMembers, offline,
        clientPending: t.clientPending,
        pendingHistory: order.map((slot) => {
          const value = t.ring[slot * FIGURES]!;
          return Number.isNaN(value) ? null : value;
        }),
      });
    }
    const rank = (v: Verdict): number => VERDICTS.indexOf(v);
    return rows.sort((a, b) => rank(a.verdict) - rank(b.verdict) || b.pending - a.pending
      || a.server.localeCompare(b.server) || a.subject.localeCompare(b.subject)
      || a.group.localeCompare(b.group) || a.durable.localeCompare(b.durable));
  }

  #newTrack(key: string, server: string, subject: string, consumer: Consumer, sample: QueueSample): Track {
    const track: Track = {
      server, subject, group: consumer.group, durable: consumer.durable,
      ring: new Float64Array(this.#size * FIGURES).fill(Number.NaN),
      latest: sample, unacked: 0, clientPending: null, verdict: 'healthy', since: sample.at, why: '', seenIn: 0,
    };
    this.#tracks.set(key, track);
    return track;
  }

  #update(track: Track, sample: QueueSample, unacked: number, clientPending: number | null, collection: number): void {
    const r = this.#slot * FIGURES;
    track.ring[r] = sample.pending;
    track.ring[r + 1] = sample.lastSent;
    track.ring[r + 2] = sample.channelLastSeq;
    const { verdict, why } = judge(sample, this.#earlier(track, 1), this.#windowStart(track, sample.at));
    if (verdict !== track.verdict) track.since = sample.at;
    track.latest = sample;
    track.unacked = unacked;
    track.clientPending = clientPending;
    track.verdict = verdict;
    track.why = why;
    track.seenIn = collection;
  }

  /** This queue's figures `back` collections ago, if it was there. */
  #earlier(track: Track, back: number): EarlierSample | undefined {
    const slot = (this.#slot - back + this.#size) % this.#size;
    const at = this.#times[slot]!;
    const r = slot * FIGURES;
    if (back >= this.#size || Number.isNaN(at) || Number.isNaN(track.ring[r]!)) return undefined;
    return { at, pending: track.ring[r]!, lastSent: track.ring[r + 1]!, channelLastSeq: track.ring[r + 2]! };
  }

  /** The oldest earlier collection of this queue inside the window, else the one just before this one. */
  #windowStart(track: Track, now: number): EarlierSample | undefined {
    let start = this.#earlier(track, 1);
    for (let back = 2; ; back++) {
      const earlier = this.#earlier(track, back);
      if (!earlier || now - earlier.at > STATUS_RULES.windowSeconds * 1000) return start;
      start = earlier;
    }
  }
}
