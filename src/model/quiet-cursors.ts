import { channelKey, setBounded } from './oldest-age.js';
import type { Channel } from './types.js';

/**
 * Narrows where a consumer's first undelivered message lies by what earlier scrapes saw: when
 * nothing waited for it at last sequence L and its cursor has not moved since, everything that
 * waits now came after L. This places the messages of a filtered JetStream consumer, whose
 * cursor stays behind the other subjects' messages, as closely as the scrapes allow. A backend
 * whose message after the cursor is always the next one (NATS Streaming) has no use for it.
 */
export class QuietCursors {
  /** `channel NUL group NUL durable` -> its cursor and the channel's last sequence when nothing waited for it. */
  readonly #quiet = new Map<string, { cursor: number; lastSeq: number }>();

  /** Narrows the consumers' undeliveredRange in place, and remembers those with nothing waiting. */
  narrow(channels: readonly Channel[]): void {
    for (const channel of channels) {
      const prefix = channelKey(channel);
      for (const consumer of channel.consumers) {
        // Only a range wider than one message can be narrowed; with nothing remembered, nothing to look up.
        const waits = consumer.undelivered > 0;
        if (waits && (this.#quiet.size === 0 || consumer.undeliveredRange === undefined || consumer.undeliveredRange.from === consumer.undeliveredRange.to))
          continue;
        const key = `${prefix}\u0000${consumer.group}\u0000${consumer.durable}`;
        const quiet = this.#quiet.get(key);
        const range = consumer.undeliveredRange;
        if (!waits) {
          if (quiet?.cursor !== consumer.lastSent || quiet.lastSeq !== channel.lastSeq)
            setBounded(this.#quiet, key, { cursor: consumer.lastSent, lastSeq: channel.lastSeq });
          continue;
        }
        if (quiet === undefined || range === undefined) continue;
        // A cursor that moved, or a range that ends before what was quiet (the consumer was made
        // again), voids what was seen.
        if (quiet.cursor !== consumer.lastSent || quiet.lastSeq >= range.to) this.#quiet.delete(key);
        else if (quiet.lastSeq >= range.from) consumer.undeliveredRange = { ...range, from: quiet.lastSeq + 1 };
      }
    }
  }
}
