import { PublishHistory } from './publish-history.js';
import type { Channel, Consumer, MessageAge } from './types.js';

/** Reads the publish time of one message from the server: a client connection (`--nats-url`). */
export interface MessageTimes {
  /** Unix ms when message `seq` of `channel` was published; undefined when the server no longer has it. */
  lookup(channel: string, seq: number, signal: AbortSignal): Promise<number | undefined>;
}

export interface OldestAgeOptions {
  /** Most lookups of publish times per scrape of one server; the rest are estimated. */
  lookupsPerScrape: number;
  /** Lookups at once. */
  concurrency: number;
}

/** Exact publish times remembered per server, by channel and sequence, and last exact times by consumer. */
const MAX_CACHED_TIMES = 20_000;

/**
 * Says, for each consumer of a server, how long the first message after its cursor has waited:
 * exact from a cached or looked-up timestamp, else estimated from the publish history this
 * exporter keeps from its own scrapes, else the last exact figure of that consumer plus the time
 * since (an older message, so never younger than the truth), else a lower bound.
 */
export class OldestAges {
  readonly #history = new PublishHistory();
  readonly #opts: OldestAgeOptions;
  /** `channel NUL seq` -> publish time (ms). */
  readonly #exact = new Map<string, number>();
  /** `channel NUL group NUL durable` -> the publish time of the last message looked up for it. */
  readonly #lastExact = new Map<string, number>();

  constructor(opts: OldestAgeOptions) {
    this.#opts = opts;
  }

  get historyChannels(): number {
    return this.#history.size;
  }

  /**
   * Records the channels' last sequences and sets each consumer's oldestUndeliveredAge. With
   * `times`, looks up at most lookupsPerScrape publish times not known yet, until `signal`.
   * Returns how many were looked up.
   */
  async annotate(server: string, channels: readonly Channel[], nowMs: number, times: MessageTimes | undefined, signal: AbortSignal): Promise<number> {
    const wanted = new Map<string, { channel: string; seq: number }>();
    for (const channel of channels) {
      this.#history.record(server, channel.name, channel.lastSeq, nowMs);
      for (const consumer of channel.consumers) {
        const seq = firstUndelivered(channel, consumer);
        if (seq === undefined) continue;
        const key = `${channel.name}\u0000${seq}`;
        if (times && !this.#exact.has(key) && wanted.size < this.#opts.lookupsPerScrape) wanted.set(key, { channel: channel.name, seq });
      }
    }
    if (times && wanted.size > 0) await this.#lookUp(times, [...wanted], signal);
    for (const channel of channels) {
      for (const consumer of channel.consumers) {
        const age = this.#ageOf(server, channel, consumer, nowMs);
        if (age) consumer.oldestUndeliveredAge = age;
      }
    }
    return wanted.size;
  }

  async #lookUp(times: MessageTimes, wanted: Array<[string, { channel: string; seq: number }]>, signal: AbortSignal): Promise<void> {
    let next = 0;
    // A lookup still under way when the budget ends is not waited for; it lands in the cache if it comes.
    const givenUp = new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true }));
    const work = async (): Promise<void> => {
      while (next < wanted.length && !signal.aborted) {
        const [key, { channel, seq }] = wanted[next++]!;
        const lookup = times.lookup(channel, seq, signal).then((atMs) => {
          if (atMs !== undefined) this.#remember(key, atMs);
        }, () => undefined);
        await Promise.race([lookup, givenUp]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency, wanted.length) }, work));
  }

  #remember(key: string, atMs: number): void {
    setBounded(this.#exact, key, atMs);
  }

  #ageOf(server: string, channel: Channel, consumer: Consumer, nowMs: number): MessageAge | undefined {
    const seq = firstUndelivered(channel, consumer);
    if (seq === undefined) return { seconds: 0, kind: 'exact' };
    const consumerKey = `${channel.name}\u0000${consumer.group}\u0000${consumer.durable}`;
    const exact = this.#exact.get(`${channel.name}\u0000${seq}`);
    if (exact !== undefined) {
      setBounded(this.#lastExact, consumerKey, exact);
      return { seconds: secondsSince(exact, nowMs), kind: 'exact' };
    }
    const estimate = this.#history.publishTime(server, channel.name, seq);
    if (estimate?.kind === 'estimated') return { seconds: secondsSince(estimate.atMs, nowMs), kind: 'estimated' };
    const lastExact = this.#lastExact.get(consumerKey);
    if (lastExact !== undefined) return { seconds: secondsSince(lastExact, nowMs), kind: 'estimated' };
    return estimate && { seconds: secondsSince(estimate.atMs, nowMs), kind: 'at_least' };
  }
}

/** The sequence of the first message after the consumer's cursor that the channel still holds; undefined when nothing waits. */
export function firstUndelivered(channel: Channel, consumer: Consumer): number | undefined {
  if (consumer.undelivered === 0) return undefined;
  return Math.max(consumer.lastSent, channel.firstSeq - 1) + 1;
}

/** Sets `key`, first forgetting the oldest entry when the map is full. */
function setBounded(map: Map<string, number>, key: string, value: number): void {
  if (!map.has(key) && map.size >= MAX_CACHED_TIMES) map.delete(map.keys().next().value!);
  map.set(key, value);
}

function secondsSince(atMs: number, nowMs: number): number {
  return Math.max(0, (nowMs - atMs) / 1000);
}
