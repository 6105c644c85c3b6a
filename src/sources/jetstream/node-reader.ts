import { ScrapeError } from '../scrape-error.js';
import { type NodeStream, NodeStreams } from './leaders.js';
import { JszPageReader, type MonitorGet } from './jsz-reader.js';
import { type JszPage, type VarzIdentity, parseVarz } from './parse.js';
import { readAllAccounts } from './read-accounts.js';

export const VARZ_PATH = '/varz';

/** What one scrape of one nats-server node gives. */
export interface JetStreamNodeRead {
  identity: VarzIdentity;
  jsz: Omit<JszPage, 'accounts'>;
  /** Its streams, each with only the consumers this node leads. */
  streams: NodeStream[];
  /** /jsz requests made. */
  pages: number;
}

/**
 * Reads one node: every /jsz page, and the node's own server name from /varz, which /jsz does
 * not carry but replicas name their leader by. The name is asked once per server process: it
 * is read again only when /jsz shows another server id (the server restarted).
 */
export class JszNodeReader {
  readonly #pageSize: number;
  readonly #pages = new JszPageReader();
  readonly #streams = new NodeStreams();
  #identity: VarzIdentity | undefined;

  constructor(pageSize: number) {
    this.#pageSize = pageSize;
  }

  /** Bytes of the stream records kept for the next read. */
  get cacheBytes(): number {
    return this.#pages.records.bytes;
  }

  /** /jsz pages of the last read (failed or not) that the fast reader left to the checked parser. */
  get checkedPages(): number {
    return this.#pages.checkedPages;
  }

  async read(get: MonitorGet): Promise<JetStreamNodeRead> {
    this.#pages.checkedPages = 0;
    this.#pages.records.beginSweep();
    const readVarz = () => get.body(VARZ_PATH, (body) => parseVarz(get.json(VARZ_PATH, body)));
    const [jsz, fresh] = await Promise.all([readAllAccounts(get, this.#pageSize, this.#pages), this.#identity ? undefined : readVarz()]);
    let identity = fresh ?? this.#identity!;
    if (identity.serverId !== jsz.first.serverId) identity = await readVarz();
    if (identity.serverId !== jsz.first.serverId) {
      throw new ScrapeError(
        'invalid_response',
        `/varz and /jsz came from different servers (server ids ${identity.serverId} and ${jsz.first.serverId}): give each node's own monitoring URL, not one behind a load balancer`,
      );
    }
    this.#identity = identity;
    this.#pages.records.endSweep();
    return { identity, jsz: jsz.first, streams: this.#streams.of(jsz.accounts, identity.serverName), pages: jsz.pages };
  }
}
