import type { ClientPending } from '../model/types.js';
import { heldBytes, type ProbeMemoryBound } from './memory-bound.js';
import type { ProbeReport, SubscriptionReport } from './report.js';

interface HeldReport {
  /** Unix ms when it arrived; it counts until at + ttl. */
  at: number;
  subscriptions: SubscriptionReport[];
  /** Its share of the memory bound (heldBytes). */
  bytes: number;
}

export type AcceptResult =
  | { accepted: true }
  | { accepted: false; bound: 'series'; wouldHold: number }
  | { accepted: false; bound: 'memory'; wouldTake: number };

function consumerKey(s: SubscriptionReport): string {
  return `${s.server}\u0000${s.account ?? ''}\u0000${s.subject}\u0000${s.group}\u0000${s.durable}`;
}

/** Adds up a report's entries for the same consumer (a client may subscribe twice). */
function mergeByConsumer(subscriptions: readonly SubscriptionReport[]): SubscriptionReport[] {
  const merged = new Map<string, SubscriptionReport>();
  for (const s of subscriptions) {
    const key = consumerKey(s);
    const held = merged.get(key);
    if (held === undefined) {
      merged.set(key, { ...s });
      continue;
    }
    held.messages += s.messages;
    held.bytes += s.bytes;
    if (s.dropped !== undefined) held.dropped = (held.dropped ?? 0) + s.dropped;
    if (s.maxInflight !== undefined) held.maxInflight = (held.maxInflight ?? 0) + s.maxInflight;
  }
  return [...merged.values()];
}

/**
 * The live client-side reports, one per client id, each replacing the client's previous one.
 * A report counts for `ttlMs` after it arrived; expiry is evaluated whenever the store is read
 * or written, so nothing runs in between. At most `maxSeries` subscription entries are held over
 * all clients, which bounds the series a flood of client ids can create, and what they hold
 * counts against the memory bound shared with the bodies being read.
 */
export class ProbeStore {
  readonly #ttlMs: number;
  readonly #maxSeries: number;
  readonly #memory: ProbeMemoryBound;
  /** In arrival order (a client that reports again moves to the end), so expiry stops early. */
  readonly #reports = new Map<string, HeldReport>();
  #held = 0;

  constructor(opts: { ttlMs: number; maxSeries: number; memory: ProbeMemoryBound }) {
    this.#ttlMs = opts.ttlMs;
    this.#maxSeries = opts.maxSeries;
    this.#memory = opts.memory;
  }

  /** Replaces the client's report, unless the entries held would then exceed maxSeries or the memory bound. */
  accept(report: ProbeReport, now: number): AcceptResult {
    this.#expire(now);
    const subscriptions = mergeByConsumer(report.subscriptions);
    const previous = this.#reports.get(report.clientId);
    const wouldHold = this.#held - (previous?.subscriptions.length ?? 0) + subscriptions.length;
    if (wouldHold > this.#maxSeries) return { accepted: false, bound: 'series', wouldHold };
    const bytes = subscriptions.length > 0 ? heldBytes(report.clientId, subscriptions) : 0;
    const delta = bytes - (previous?.bytes ?? 0);
    if (delta > 0 && this.#memory.wouldTake(delta) > this.#memory.limit) return { accepted: false, bound: 'memory', wouldTake: this.#memory.wouldTake(delta) };
    this.#reports.delete(report.clientId);
    if (subscriptions.length > 0) this.#reports.set(report.clientId, { at: now, subscriptions, bytes });
    this.#held = wouldHold;
    this.#memory.hold(delta);
    return { accepted: true };
  }

  /** The live figures summed per consumer. */
  pending(now: number): ClientPending[] {
    this.#expire(now);
    const byConsumer = new Map<string, ClientPending>();
    for (const report of this.#reports.values()) {
      for (const s of report.subscriptions) {
        const key = consumerKey(s);
        let sum = byConsumer.get(key);
        if (sum === undefined) {
          sum = {
            server: s.server,
            ...(s.account === undefined ? {} : { account: s.account }),
            subject: s.subject,
            group: s.group,
            durable: s.durable,
            messages: 0,
            bytes: 0,
            reports: 0,
          };
          byConsumer.set(key, sum);
        }
        sum.messages += s.messages;
        sum.bytes += s.bytes;
        sum.reports += 1;
        if (s.dropped !== undefined) sum.dropped = (sum.dropped ?? 0) + s.dropped;
        if (s.maxInflight !== undefined) sum.maxInflight = (sum.maxInflight ?? 0) + s.maxInflight;
      }
    }
    return [...byConsumer.values()];
  }

  #expire(now: number): void {
    for (const [clientId, report] of this.#reports) {
      if (now - report.at < this.#ttlMs) break;
      this.#reports.delete(clientId);
      this.#held -= report.subscriptions.length;
      this.#memory.hold(-report.bytes);
    }
  }
}
