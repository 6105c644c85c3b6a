import type { SubscriptionReport } from './report.js';

/**
 * What one byte of a report body costs while it is read and parsed: the body itself, its text,
 * the parsed JSON and the checked report. Measured at about 4.8 for a 1 MiB report of 15,000
 * entries (heap growth of decode + JSON.parse + checked copies, Node 20).
 */
export const BODY_COST = 5;

/** V8 string header and one report entry (object, map and array slots), rounded up. */
const STRING_BYTES = 24;
const ENTRY_BYTES = 128;
const REPORT_BYTES = 160;

/**
 * One bound on the memory probe reports take: the bodies being read and parsed (BODY_COST per
 * byte) and the reports the store holds, together. Room is taken before the memory is, so a
 * refusal always comes before the bound is passed, never after.
 */
export class ProbeMemoryBound {
  readonly limit: number;
  #reading = 0;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes room for `bytes` more of bodies being read; false (and nothing taken) when it would pass the bound. */
  tryReserve(bytes: number): boolean {
    if (this.#reading + this.#held + bytes > this.limit) return false;
    this.#reading += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#reading -= bytes;
  }

  /** What the held reports would take after changing by `delta` bytes, beside the bodies being read. */
  wouldTake(delta: number): number {
    return this.#reading + this.#held + delta;
  }

  /** Records that the held reports changed by `delta` bytes. */
  hold(delta: number): void {
    this.#held += delta;
  }
}

/** The memory a held report takes, estimated from its strings (one or two bytes a character, as V8 stores them). */
export function heldBytes(clientId: string, subscriptions: readonly SubscriptionReport[]): number {
  let bytes = REPORT_BYTES + stringBytes(clientId);
  for (const s of subscriptions) {
    bytes +=
      ENTRY_BYTES +
      stringBytes(s.server) +
      stringBytes(s.subject) +
      stringBytes(s.group) +
      stringBytes(s.durable) +
      (s.account === undefined ? 0 : stringBytes(s.account));
  }
  return bytes;
}

const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

function stringBytes(s: string): number {
  return STRING_BYTES + (BEYOND_LATIN1.test(s) ? 2 : 1) * s.length;
}
