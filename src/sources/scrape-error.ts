import type { ScrapeErrorReason } from '../model/types.js';

/** Why one server's part of a scrape failed; `reason` becomes a label value. */
export class ScrapeError extends Error {
  override name = 'ScrapeError';
  constructor(
    readonly reason: ScrapeErrorReason,
    message: string,
  ) {
    super(message);
  }
}
