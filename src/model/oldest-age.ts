import { type ChannelHistory, PublishHistory, type PublishTimeScratch } from './publish-history.js';
import type { Channel, Consumer, MessageAge, SeqRange } from './types.js';

/** Where a lookup is made: the channel's account, and how to find the message (SeqRange.firstOn). */
export interface LookupPlace {
  account?: string;
  firstOn?: readonly string[];
}

/** Reads the publish time of one message from the server: a client connection (`--nats-url`). */
export interface MessageTimes {
  /**
   * Unix ms when message `seq` of `channel` was published, or with `where.firstOn` the first
   * message at or after `seq` on one of those subjects; undefined when the server has no such message.
   */
  lookup(channel: string, seq: number, signal: AbortSignal, where?: LookupPlace): Promise<number | undefined>;
  /**
   * False for the channels of an account the connection cannot see (a JetStream client sees its
   * own account only), so that they use up no lookups; absent: every account.
   */
  reaches?(account: string | undefined): boolean;
}

export interface OldestAgeOptions {
  /** Most lookups of publish times per scrape of one server; the rest are estimated. */
  lookupsPerScrape: number;
  /** Lookups at once. */
  concurrency: number;
}

/** Most entries of each per-server memory: exact publish times by channel and sequence, last exact times and quiet cursors by consumer. */
const MAX_CACHED_TIMES = 20_000;

const NOTHING_WAITS: MessageAge = Object.freeze({ seconds: 0, kind: 'exact' });

interface Wanted {
  channel: Channel;
  range: SeqRange;
}

/**
 * Says, for each consumer of a server, how long the first message after its cursor (and, where
 * the backend knows it, its oldest unacked message) has waited: exact from a cached or looked-up
 * timestamp or one the server reported, else estimated from the publish history this exporter
 * keeps from its own scrapes, else the last exact figure of that consumer plus the time since
 * (an older message, so never younger than the truth), else a lower bound.
 */
export class OldestAges {
  readonly #history = new PublishHistory();
  readonly #opts: OldestAgeOptions;
  /** `channel NUL seq` (NUL subjects for a search) -> publish time (ms). */
  readonly #exact = new Map<string, number>();
  /** `channel NUL group NUL durable NUL which` -> the publish time of the last message looked up for it. */
  readonly #lastExact = new Map<string, number>();
  /** The estimate of each queue's message in turn (#ageOf reads it at once). */
  readonly #estimate: PublishTimeScratch = { kind: 'estimated', atMs: 0 };

  constructor(opts: OldestAgeOptions) {
    this.#opts = opts;
  }

  /**
   * Records the channels' last sequences (and the publish times the server reports) and sets each
   * consumer's oldestUndeliveredAge, and oldestUnackedAge where the backend gave oldestUnacked
   * (undefined where nothing can be said).
   * With `times`, looks up at most lookupsPerScrape publish times not known yet, first for the
   * undelivered messages, until `signal`. Returns how many were looked up.
   */
  async annotate(server: string, channels: readonly Channel[], nowMs: number, times: MessageTimes | undefined, signal: AbortSignal): Promise<number> {
    const wanted = new Map<string, Wanted>();
    const want = (channel: Channel, range: SeqRange): void => {
      if (wanted.size >= this.#opts.lookupsPerScrape || times?.reaches?.(channel.account) === false) return;
      const key = lookupKey(channel, range.from, range.to, range.firstOn);
      if (key !== undefined && !this.#exact.has(key)) wanted.set(key, { channel, range });
    };
    const candidates: Array<[Channel, SeqRange]> = [];
    /** Each channel's history, in the order of `channels`. */
    const histories: Array<ChannelHistory | undefined> = new Array(channels.length);
    for (let c = 0; c < channels.length; c++) {
      const channel = channels[c]!;
      const key = channelKey(channel);
      histories[c] = this.#history.record(server, key, channel.lastSeq, nowMs, channel.lastPublishedMs);
      if (channel.firstPublishedMs !== undefined) this.#history.anchorFirst(server, key, channel.firstSeq, channel.firstPublishedMs);
      if (times) for (const consumer of channel.consumers) pushRange(candidates, channel, undeliveredRange(channel, consumer));
    }
    if (times) {
      for (const channel of channels) for (const consumer of channel.consumers) pushRange(candidates, channel, consumer.oldestUnacked);
      // The history places a message within a scrape interval or so; a lookup matters most where it
      // cannot: messages older than the history, the oldest waiting message of a stuck queue. Those go first.
      for (const [channel, range] of candidates) {
        const estimate = this.#history.publishTimeBetween(server, channelKey(channel), range.from, range.to);
        if (estimate === undefined || estimate.kind === 'at_least') want(channel, range);
      }
      for (const [channel, range] of candidates) want(channel, range);
    }
    if (times && wanted.size > 0) await this.#lookUp(times, [...wanted], signal);
    for (let c = 0; c < channels.length; c++) {
      const channel = channels[c]!;
      const history = histories[c];
      const consumers = channel.consumers;
      for (let q = 0; q < consumers.length; q++) {
        const consumer = consumers[q]!;
        const seq = firstUndelivered(channel, consumer);
        // Without a range from the backend, the message is the one after the cursor (NATS Streaming).
        const range = consumer.undeliveredRange;
        // Set, or cleared, on every scrape: a consumer reused from the scrape before (an unchanged
        // NATS Streaming channel) must not keep that scrape's age. Its own age object is set again
        // rather than replaced: 30,000 queues make no 30,000 objects a scrape.
        const age =
          seq === undefined
            ? NOTHING_WAITS
            : this.#ageOf(history, channel, consumer, '', range?.from ?? seq, range?.to ?? seq, range?.firstOn, nowMs, consumer.oldestUndeliveredAge);
        if (age !== undefined || consumer.oldestUndeliveredAge !== undefined) consumer.oldestUndeliveredAge = age;
        const unacked = consumer.oldestUnacked;
        if (unacked === undefined) continue;
        const unackedAge =
          unacked === null
            ? NOTHING_WAITS
            : this.#ageOf(history, channel, consumer, 'unacked', unacked.from, unacked.to, unacked.firstOn, nowMs, consumer.oldestUnackedAge);
        if (unackedAge !== undefined || consumer.oldestUnackedAge !== undefined) consumer.oldestUnackedAge = unackedAge;
      }
    }
    return wanted.size;
  }

  async #lookUp(times: MessageTimes, wanted: Array<[string, Wanted]>, signal: AbortSignal): Promise<void> {
    let next = 0;
    // A lookup still under way when the budget ends is not waited for; it lands in the cache if it comes.
    const givenUp = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    const work = async (): Promise<void> => {
      while (next < wanted.length && !signal.aborted) {
        const [key, { channel, range }] = wanted[next++]!;
        const lookup = times.lookup(channel.name, range.from, signal, lookupPlace(channel, range)).then(
          (atMs) => {
            if (atMs !== undefined) this.#remember(key, atMs);
          },
          () => undefined,
        );
        await Promise.race([lookup, givenUp]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency, wanted.length) }, work));
  }

  #remember(key: string, atMs: number): void {
    setBounded(this.#exact, key, atMs);
  }

  /**
   * The age of the consumer's message that lies between `from` and `to` (firstOn: how a lookup
   * finds it), from its channel's `history` where no exact time is known; `which` tells the
   * undelivered ('') and the unacked message apart. Keys are built only where a cache holds
   * something: at 10,000 queues without --nats-url, none. The age is written into `into` (the
   * consumer's age of the scrape before) when there is one of its own.
   */
  #ageOf(
    history: ChannelHistory | undefined,
    channel: Channel,
    consumer: Consumer,
    which: string,
    from: number,
    to: number,
    firstOn: readonly string[] | undefined,
    nowMs: number,
    into: MessageAge | undefined,
  ): MessageAge | undefined {
    const key = this.#exact.size === 0 ? undefined : lookupKey(channel, from, to, firstOn);
    const exact = key === undefined ? undefined : this.#exact.get(key);
    if (exact !== undefined) {
      setBounded(this.#lastExact, consumerKey(channel, consumer, which), exact);
      return messageAge(into, secondsSince(exact, nowMs), 'exact');
    }
    const estimate = history?.publishTimeBetween(from, to, this.#estimate);
    if (estimate && estimate.kind !== 'at_least') return messageAge(into, secondsSince(estimate.atMs, nowMs), estimate.kind);
    const lastExact = this.#lastExact.size === 0 ? undefined : this.#lastExact.get(consumerKey(channel, consumer, which));
    if (lastExact !== undefined) return messageAge(into, secondsSince(lastExact, nowMs), 'estimated');
    return estimate && messageAge(into, secondsSince(estimate.atMs, nowMs), 'at_least');
  }
}

/** `into` set to the age when it is a consumer's own age object (not the shared NOTHING_WAITS), else a new one. */
function messageAge(into: MessageAge | undefined, seconds: number, kind: MessageAge['kind']): MessageAge {
  if (into === undefined || into === NOTHING_WAITS) return { seconds, kind };
  into.seconds = seconds;
  into.kind = kind;
  return into;
}

function pushRange(into: Array<[Channel, SeqRange]>, channel: Channel, range: SeqRange | null | undefined): void {
  if (range) into.push([channel, range]);
}

/** The sequence of the first message after the consumer's cursor that the channel still holds; undefined when nothing waits. */
export function firstUndelivered(channel: Channel, consumer: Consumer): number | undefined {
  if (consumer.undelivered === 0) return undefined;
  return Math.max(consumer.lastSent, channel.firstSeq - 1) + 1;
}

/** Where the consumer's first undelivered message lies; undefined when nothing waits. */
export function undeliveredRange(channel: Channel, consumer: Consumer): SeqRange | undefined {
  const seq = firstUndelivered(channel, consumer);
  if (seq === undefined) return undefined;
  return consumer.undeliveredRange ?? { from: seq, to: seq };
}

/** Names a consumer's undelivered ('') or unacked message in the last exact times. */
function consumerKey(channel: Channel, consumer: Consumer, which: string): string {
  return `${channelKey(channel)}\u0000${consumer.group}\u0000${consumer.durable}\u0000${which}`;
}

/** Channels of different accounts may share a name. */
export function channelKey(channel: Channel): string {
  return channel.account === undefined ? channel.name : `${channel.account}\u0000${channel.name}`;
}

/** The cache key of the message a range names, or of its search; undefined when no lookup finds it. */
function lookupKey(channel: Channel, from: number, to: number, firstOn: readonly string[] | undefined): string | undefined {
  if (from === to) return `${channelKey(channel)}\u0000${from}`;
  if (firstOn === undefined) return undefined;
  return `${channelKey(channel)}\u0000${from}\u0000${firstOn.join(' ')}`;
}

function lookupPlace(channel: Channel, range: SeqRange): LookupPlace | undefined {
  const firstOn = range.from === range.to ? undefined : range.firstOn;
  if (channel.account === undefined && firstOn === undefined) return undefined;
  return { ...(channel.account === undefined ? {} : { account: channel.account }), ...(firstOn === undefined ? {} : { firstOn }) };
}

/** Sets `key`, first forgetting the oldest entry when the map is full. */
export function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  if (!map.has(key) && map.size >= MAX_CACHED_TIMES) map.delete(map.keys().next().value!);
  map.set(key, value);
}

function secondsSince(atMs: number, nowMs: number): number {
  return Math.max(0, (nowMs - atMs) / 1000);
}
