import { ScrapeError } from '../scrape-error.js';
import { JszPageReader, type MonitorGet } from './jsz-reader.js';
import type { JszAccount, JszPage } from './parse.js';

/**
 * Every account with its streams, their consumers and the consumers' config (durable name,
 * deliver group, max ack pending), which the queue figures need.
 */
export const JSZ_QUERY = 'accounts=true&streams=true&consumers=true&config=true';

export function jszPath(offset: number, limit: number): string {
  return `/jsz?${JSZ_QUERY}&offset=${offset}&limit=${limit}`;
}

/** /jsz pages requested at once after the first; accounts are few, so more would rarely help. */
const PAGE_CONCURRENCY = 2;

export interface JszRead {
  /** The first page's server-wide figures (its accounts are in `accounts`). */
  first: Omit<JszPage, 'accounts'>;
  /** Every JetStream account of the server, each once. */
  accounts: JszAccount[];
  /** Requests made. */
  pages: number;
}

/**
 * Reads every JetStream account of one server from /jsz, `pageSize` accounts per request, each
 * page with `reader` (which keeps the server's names from one scrape to the next).
 *
 * /jsz pages by account (all streams and consumers of an account come in the same answer).
 * From 2.10.28 / 2.11.2 on the answer says how many accounts there are (`total`) and every
 * page is sorted by account, so the pages are read until `total`. Older servers send no
 * `total`, and sort only pages after the first: their first page is an arbitrary choice of
 * accounts, so paging on would miss some and repeat others. For them the top-level `accounts`
 * count says whether the first page held everything; when it did not, all accounts are asked
 * for again in one request.
 */
export async function readAllAccounts(get: MonitorGet, pageSize: number, reader = new JszPageReader()): Promise<JszRead> {
  const readPage = (offset: number, limit: number): Promise<JszPage> => reader.read(get, jszPath(offset, limit), `jsz offset ${offset}`);

  const first = await readPage(0, pageSize);
  if (first.disabled) {
    throw new ScrapeError(
      'invalid_response',
      'JetStream is disabled on this server (/jsz answered {"disabled": true}): start nats-server with -js (or a jetstream block in its config), or leave this URL out of --jetstream',
    );
  }
  const { accounts: firstAccounts, ...firstFigures } = first;
  const byId = new Map<string, JszAccount>();
  const keep = (accounts: readonly JszAccount[]) => {
    // An account that moved to the next page while the pages were read is kept once, as last seen.
    for (const account of accounts) byId.set(account.id, account);
  };

  if (first.total === undefined) {
    const count = first.totals.accounts;
    if (firstAccounts.length >= count) return { first: firstFigures, accounts: firstAccounts, pages: 1 };
    keep((await readPage(0, count)).accounts);
    return { first: firstFigures, accounts: [...byId.values()], pages: 2 };
  }

  keep(firstAccounts);
  let total = first.total;
  let next = pageSize;
  let pages = 1;
  let ended = firstAccounts.length === 0;
  const readPages = async (): Promise<void> => {
    while (!ended && next < total) {
      const offset = next;
      next += pageSize;
      pages++;
      const page = await readPage(offset, pageSize);
      keep(page.accounts);
      // An empty page ends the list; accounts created meanwhile raise the total.
      if (page.accounts.length === 0) ended = true;
      else total = Math.max(total, page.total ?? total);
    }
  };
  await Promise.all(Array.from({ length: PAGE_CONCURRENCY }, readPages));
  return { first: firstFigures, accounts: [...byId.values()], pages };
}
