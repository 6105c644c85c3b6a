import type { MessageAge, Snapshot } from '../../model/types.js';
import {
  type EarlierSample,
  explain,
  judge,
  type QueueRates,
  queueRates,
  type QueueSample,
  STATUS_RULES,
  timeToDrain,
  type Verdict,
  VERDICTS,
} from './rules.js';

/** One queue as the page and /api/v1/queues show it. */
export interface QueueRow {
  server: string;
  /** A JetStream account other than the default one (its `account` label); null otherwise. */
  account: string | null;
  subject: string;
  group: string;
  durable: string;
  verdict: Verdict;
  /** Start time (ISO 8601) of the first collection in a row that gave this verdict. */
  since: string;
  why: string;
  /** Seconds to drain the backlog at `rates` (rules.ts timeToDrain): 0 when empty, "growing" when it does not fall, null without rates. */
  drainSeconds: number | 'growing' | null;
  /** Messages published and acked per second over the window; null before the queue's second collection. */
  rates: QueueRates | null;
  pending: number;
  undelivered: number;
  unacked: number;
  lastSent: number;
  members: number;
  stalledMembers: number;
  offline: boolean;
  /** How long the first message after the cursor has waited; null when nothing can be said. */
  oldestAge: { seconds: number; kind: MessageAge['kind'] } | null;
  /** What this pod's workers report holding (probe reports); null when none report it. */
  clientPending: number | null;
  /** Pending in each collection the history holds, oldest first; null before the queue was seen. */
  pendingHistory: Array<number | null>;
}

/** Per queue and collection: pending, cursor, channel last sequence. */
const RING = { pending: 0, lastSent: 1, channelLastSeq: 2, width: 3 } as const;
/** Per queue, from its latest collection (and when it was last seen and judged). */
const LATEST = {
  undelivered: 0,
  unacked: 1,
  members: 2,
  stalledMembers: 3,
  offline: 4,
  clientPending: 5,
  oldestAge: 6,
  oldestAgeKind: 7,
  since: 8,
  verdict: 9,
  firstSeenIn: 10,
  seenIn: 11,
  width: 12,
} as const;
const AGE_KINDS: ReadonlyArray<MessageAge['kind']> = ['exact', 'estimated', 'at_least'];
const INITIAL_CAPACITY = 256;

const sampleAt = (): EarlierSample => ({ at: 0, pending: 0, lastSent: 0, channelLastSeq: 0 });

/**
 * The last STATUS_RULES.historyCollections collections, per queue, in typed arrays that grow
 * with the number of queues (no object per queue or per collection). A queue missing from a
 * collection (deleted, or no node of its server could give its figures) is dropped and its place reused, so memory
 * follows the queues there are now.
 */
export class RecentCollections {
  readonly #size = STATUS_RULES.historyCollections;
  readonly #times = new Float64Array(STATUS_RULES.historyCollections).fill(Number.NaN);
  /** server -> subject -> the places of that channel's queues (of every account). */
  readonly #index = new Map<string, Map<string, number[]>>();
  readonly #free: number[] = [];
  #servers: string[] = [];
  #subjects: string[] = [];
  #groups: string[] = [];
  #durables: string[] = [];
  /** "" for the default account. */
  #accounts: string[] = [];
  #ring = new Float64Array(0);
  #latest = new Float64Array(0);
  #used = 0;
  #count = 0;
  #slot = -1;
  #collections = 0;
  /** How many collections back the window reaches (at least 1): the same for every queue seen that long. */
  #windowBack = 1;
  // Filled in place for each judgement: recording allocates nothing per queue.
  readonly #now: QueueSample = { at: 0, pending: 0, undelivered: 0, lastSent: 0, channelLastSeq: 0, members: 0, stalledMembers: 0, offline: false };
  readonly #previous = sampleAt();
  readonly #windowStart = sampleAt();
  readonly #judged: { previous: EarlierSample | undefined; windowStart: EarlierSample | undefined } = { previous: undefined, windowStart: undefined };

  /** Start time (Unix ms) of the latest collection; undefined before the first. */
  get collectedAt(): number | undefined {
    return this.#collections === 0 ? undefined : this.#times[this.#slot];
  }

  get queueCount(): number {
    return this.#count;
  }

  record(snapshot: Snapshot): void {
    this.#slot = (this.#slot + 1) % this.#size;
    this.#times[this.#slot] = snapshot.startedAt;
    const collection = ++this.#collections;
    const client = this.#clientPending(snapshot);
    this.#reserve(snapshot);
    this.#windowBack = 1;
    while (
      this.#windowBack + 1 < Math.min(this.#size, collection) &&
      snapshot.startedAt - this.#times[this.#slotBack(this.#windowBack + 1)]! <= STATUS_RULES.windowSeconds * 1000
    )
      this.#windowBack++;
    for (const server of snapshot.servers) {
      const channels = this.#index.get(server.name) ?? this.#index.set(server.name, new Map()).get(server.name)!;
      for (const channel of server.channels) {
        if (channel.consumers.length === 0) continue;
        const places = channels.get(channel.name) ?? channels.set(channel.name, []).get(channel.name)!;
        const account = channel.account ?? '';
        for (const c of channel.consumers) {
          let q = this.#find(places, account, c.group, c.durable);
          if (q === undefined) {
            q = this.#add(server.name, account, channel.name, c.group, c.durable, collection);
            places.push(q);
          }
          const r = (q * this.#size + this.#slot) * RING.width;
          this.#ring[r + RING.pending] = c.pending;
          this.#ring[r + RING.lastSent] = c.lastSent;
          this.#ring[r + RING.channelLastSeq] = channel.lastSeq;
          const l = q * LATEST.width;
          this.#latest[l + LATEST.undelivered] = c.undelivered;
          this.#latest[l + LATEST.unacked] = c.unacked;
          this.#latest[l + LATEST.members] = c.members;
          this.#latest[l + LATEST.stalledMembers] = c.stalledMembers;
          this.#latest[l + LATEST.offline] = c.offline ? 1 : 0;
          this.#latest[l + LATEST.clientPending] = client?.get(server.name)?.get(account)?.get(channel.name)?.get(c.group)?.get(c.durable) ?? Number.NaN;
          this.#latest[l + LATEST.oldestAge] = c.oldestUndeliveredAge?.seconds ?? Number.NaN;
          this.#latest[l + LATEST.oldestAgeKind] = c.oldestUndeliveredAge ? AGE_KINDS.indexOf(c.oldestUndeliveredAge.kind) : -1;
          const verdict = VERDICTS.indexOf(this.#judge(q));
          if (this.#latest[l + LATEST.firstSeenIn] === collection || this.#latest[l + LATEST.verdict] !== verdict)
            this.#latest[l + LATEST.since] = snapshot.startedAt;
          this.#latest[l + LATEST.verdict] = verdict;
          this.#latest[l + LATEST.seenIn] = collection;
        }
      }
    }
    for (let q = 0; q < this.#used; q++) {
      if (this.#servers[q] !== '' && this.#latest[q * LATEST.width + LATEST.seenIn] !== collection) this.#remove(q);
    }
  }

  /**
   * Every queue, worst first: by verdict, then most pending. One row at a time from a sorted list
   * of places, so that 10,000s of queues never exist as rows all at once.
   */
  *rows(): Generator<QueueRow> {
    const order: number[] = [];
    for (let i = 1; i <= this.#size; i++) {
      const slot = (this.#slot + i) % this.#size;
      if (!Number.isNaN(this.#times[slot]!)) order.push(slot);
    }
    const pendingOf = (q: number): number => this.#ring[(q * this.#size + this.#slot) * RING.width + RING.pending]!;
    const verdictOf = (q: number): number => this.#latest[q * LATEST.width + LATEST.verdict]!;
    const places: number[] = [];
    for (let q = 0; q < this.#used; q++) if (this.#servers[q] !== '') places.push(q);
    places.sort(
      (a, b) =>
        verdictOf(a) - verdictOf(b) ||
        pendingOf(b) - pendingOf(a) ||
        this.#servers[a]!.localeCompare(this.#servers[b]!) ||
        this.#subjects[a]!.localeCompare(this.#subjects[b]!) ||
        this.#groups[a]!.localeCompare(this.#groups[b]!) ||
        this.#durables[a]!.localeCompare(this.#durables[b]!) ||
        this.#accounts[a]!.localeCompare(this.#accounts[b]!),
    );
    for (const q of places) yield this.#row(q, order);
  }

  #row(q: number, order: readonly number[]): QueueRow {
    const verdict = this.#judge(q);
    const [now, previous, windowStart] = [this.#now, this.#judged.previous, this.#judged.windowStart];
    const l = q * LATEST.width;
    const clientPending = this.#latest[l + LATEST.clientPending]!;
    const oldestAge = this.#latest[l + LATEST.oldestAge]!;
    const rates = windowStart && queueRates(now, windowStart);
    return {
      server: this.#servers[q]!,
      account: this.#accounts[q] || null,
      subject: this.#subjects[q]!,
      group: this.#groups[q]!,
      durable: this.#durables[q]!,
      verdict,
      since: new Date(this.#latest[l + LATEST.since]!).toISOString(),
      why: explain(verdict, now, previous, windowStart),
      drainSeconds: timeToDrain(now.pending, rates) ?? null,
      rates: rates ?? null,
      pending: now.pending,
      undelivered: now.undelivered,
      unacked: this.#latest[l + LATEST.unacked]!,
      lastSent: now.lastSent,
      members: now.members,
      stalledMembers: now.stalledMembers,
      offline: now.offline,
      oldestAge: Number.isNaN(oldestAge) ? null : { seconds: oldestAge, kind: AGE_KINDS[this.#latest[l + LATEST.oldestAgeKind]!]! },
      clientPending: Number.isNaN(clientPending) ? null : clientPending,
      pendingHistory: order.map((slot) => {
        const value = this.#ring[(q * this.#size + slot) * RING.width + RING.pending]!;
        return Number.isNaN(value) ? null : value;
      }),
    };
  }

  #find(places: readonly number[], account: string, group: string, durable: string): number | undefined {
    for (const q of places) if (this.#groups[q] === group && this.#durables[q] === durable && this.#accounts[q] === account) return q;
    return undefined;
  }

  /** Queue q in the latest collection, against its earlier ones; leaves the figures it used in #now and #judged. */
  #judge(q: number): Verdict {
    const now = this.#now;
    const l = q * LATEST.width;
    this.#read(q, this.#slot, now);
    now.undelivered = this.#latest[l + LATEST.undelivered]!;
    now.members = this.#latest[l + LATEST.members]!;
    now.stalledMembers = this.#latest[l + LATEST.stalledMembers]!;
    now.offline = this.#latest[l + LATEST.offline] === 1;
    // A queue is in every collection since it was first seen (else it was dropped).
    const seenBefore = this.#collections - this.#latest[l + LATEST.firstSeenIn]!;
    const previous = seenBefore > 0 ? this.#read(q, this.#slotBack(1), this.#previous) : undefined;
    const windowStart = seenBefore > 0 ? this.#read(q, this.#slotBack(Math.min(seenBefore, this.#windowBack)), this.#windowStart) : undefined;
    this.#judged.previous = previous;
    this.#judged.windowStart = windowStart;
    return judge(now, previous, windowStart);
  }

  #slotBack(back: number): number {
    return (this.#slot - back + this.#size) % this.#size;
  }

  #read(q: number, slot: number, into: EarlierSample): EarlierSample {
    const r = (q * this.#size + slot) * RING.width;
    into.at = this.#times[slot]!;
    into.pending = this.#ring[r + RING.pending]!;
    into.lastSent = this.#ring[r + RING.lastSent]!;
    into.channelLastSeq = this.#ring[r + RING.channelLastSeq]!;
    return into;
  }

  /**
   * Client-side pending by server, account ("" for the default one, or none reported), subject,
   * group and durable, as the series' labels match; undefined when no probe reports.
   */
  #clientPending(snapshot: Snapshot): Map<string, Map<string, Map<string, Map<string, Map<string, number>>>>> | undefined {
    if (snapshot.clientPending.length === 0) return undefined;
    const found = new Map<string, Map<string, Map<string, Map<string, Map<string, number>>>>>();
    const child = <K, V>(m: Map<K, V>, k: K, make: () => V): V => m.get(k) ?? m.set(k, make()).get(k)!;
    for (const c of snapshot.clientPending) {
      const byAccount = child(found, c.server, () => new Map());
      child(
        child(
          child(byAccount, c.account ?? '', () => new Map()),
          c.subject,
          () => new Map(),
        ),
        c.group,
        () => new Map(),
      ).set(c.durable, c.messages);
    }
    return found;
  }

  #add(server: string, account: string, subject: string, group: string, durable: string, collection: number): number {
    let q = this.#free.pop();
    if (q === undefined) {
      if (this.#used >= this.#capacity()) this.#grow();
      q = this.#used++;
    }
    this.#servers[q] = server;
    this.#subjects[q] = subject;
    this.#groups[q] = group;
    this.#durables[q] = durable;
    this.#accounts[q] = account;
    this.#ring.fill(Number.NaN, q * this.#size * RING.width, (q + 1) * this.#size * RING.width);
    this.#latest.fill(0, q * LATEST.width, (q + 1) * LATEST.width);
    this.#latest[q * LATEST.width + LATEST.firstSeenIn] = collection;
    this.#count++;
    return q;
  }

  #remove(q: number): void {
    const channels = this.#index.get(this.#servers[q]!)!;
    const places = channels.get(this.#subjects[q]!)!;
    places.splice(places.indexOf(q), 1);
    if (places.length === 0) channels.delete(this.#subjects[q]!);
    this.#servers[q] = this.#subjects[q] = this.#groups[q] = this.#durables[q] = this.#accounts[q] = '';
    this.#free.push(q);
    this.#count--;
  }

  /**
   * Sizes the arrays for a collection's queues at once (a tenth more, for new ones), so that
   * they seldom grow: each growth copies them and leaves the old ones to the allocator.
   */
  #reserve(snapshot: Snapshot): void {
    let queues = 0;
    for (const server of snapshot.servers) for (const channel of server.channels) queues += channel.consumers.length;
    if (queues > this.#capacity()) this.#grow(Math.ceil(queues * 1.1));
  }

  #capacity(): number {
    return this.#latest.length / LATEST.width;
  }

  #grow(capacity = Math.max(INITIAL_CAPACITY, this.#used * 2)): void {
    const ring = new Float64Array(capacity * this.#size * RING.width);
    ring.set(this.#ring);
    this.#ring = ring;
    const latest = new Float64Array(capacity * LATEST.width);
    latest.set(this.#latest);
    this.#latest = latest;
  }
}
