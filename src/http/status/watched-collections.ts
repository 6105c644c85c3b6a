import type { Snapshot } from '../../model/types.js';
import { RecentCollections } from './recent-collections.js';
import { STATUS_RULES } from './rules.js';

/**
 * The status history, kept only while someone looks: it starts with the first request for the
 * page's data and is dropped when nobody has asked for STATUS_RULES.keepUnviewedSeconds. Until
 * then recording costs nothing, so an exporter nobody opens stays as small as without the page.
 */
export class WatchedCollections {
  #history: RecentCollections | undefined;
  #lastViewed = 0;

  /** For every collection (Collector's onCollection). `now` is performance.now(). */
  record(snapshot: Snapshot, now = performance.now()): void {
    if (this.#history && now - this.#lastViewed > STATUS_RULES.keepUnviewedSeconds * 1000) this.#history = undefined;
    this.#history?.record(snapshot);
  }

  /** For a request of the page's data: the history, started now if nobody was looking. */
  view(now = performance.now()): RecentCollections {
    this.#lastViewed = now;
    this.#history ??= new RecentCollections();
    return this.#history;
  }
}
