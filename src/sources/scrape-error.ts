import type { ScrapeErrorReason, ScrapeFailure } from '../model/types.js';

/** Why one server's part of a scrape failed; `reason` becomes a label value. */
export class ScrapeError extends Error {
  override name = 'ScrapeError';
  constructor(
    readonly reason: ScrapeErrorReason,
    message: string,
    /** With `http_status`: the status the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A failure as the model holds it; an error that is not a ScrapeError is the exporter's own fault. */
export function failureOf(err: unknown, url: string): ScrapeFailure {
  if (err instanceof ScrapeError) return { reason: err.reason, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { reason: 'exporter_error', message: `exporter fault while reading ${url}: ${e.message}`, cause: e };
}
