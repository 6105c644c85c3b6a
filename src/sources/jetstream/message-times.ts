import type { JetStreamManager, MsgRequest } from '@nats-io/jetstream';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import type { LookupPlace, MessageTimes } from '../../model/oldest-age.js';
import { tlsConnectOptions } from '../../monitor-access.js';
import type { NatsClientTarget } from '../../targets.js';
import { DEFAULT_ACCOUNT } from './queues.js';

/** How long one lookup may take before it is given up (the next scrape asks again). */
const LOOKUP_TIMEOUT_MS = 2000;
/** How long to wait for the server to accept the connection. */
const CONNECT_TIMEOUT_MS = 3000;
/** After a failed connection, the next try waits this long, so that scrapes are not held by it. */
const RETRY_AFTER_MS = 10_000;
/** The account a server without configured accounts puts every client in. */

interface Connection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** The id and the name of the account the connection's user belongs to. */
  account: readonly string[];
}

/**
 * Publish times of single messages, read over a NATS client connection with the JetStream API's
 * stream message get ($JS.API.STREAM.MSG.GET): by sequence, or the next message on a subject at
 * or after a sequence. It reads, it never consumes: nothing changes on the server. A client sees
 * the streams of its own account only, so channels of other accounts are not looked up.
 */
export class JetStreamMessageTimes implements MessageTimes {
  readonly #target: NatsClientTarget;
  #connection: Promise<Connection> | undefined;
  /** The account of the last connection, once known. */
  #account: readonly string[] | undefined;
  #retryAtMs = 0;
  /** Why the last connection or lookup failed; undefined while they work or before the first. */
  error: string | undefined;

  constructor(target: NatsClientTarget) {
    this.#target = target;
  }

  reaches(account: string | undefined): boolean {
    return this.#account === undefined || this.#account.includes(account ?? DEFAULT_ACCOUNT);
  }

  async lookup(channel: string, seq: number, _signal: AbortSignal, where?: LookupPlace): Promise<number | undefined> {
    const conn = await this.#connect();
    if (!conn || !conn.account.includes(where?.account ?? DEFAULT_ACCOUNT)) return undefined;
    const subjects = where?.firstOn;
    try {
      let found: Array<{ seq: number; time: Date } | null>;
      if (subjects === undefined) found = [await conn.jsm.streams.getMessage(channel, { seq })];
      else {
        // Each subject's next message at or after seq; the first of them is the one wanted.
        const on = subjects.length === 0 ? ['>'] : subjects;
        // $JS.API.STREAM.MSG.GET takes next_by_subj with seq (nats-server 2.9+), though the
        // library's type lists only seq and last_by_subj; direct get would need allow_direct.
        found = await Promise.all(on.map((next_by_subj) => conn.jsm.streams.getMessage(channel, { seq, next_by_subj } as unknown as MsgRequest)));
      }
      this.error = undefined;
      let first: { seq: number; time: Date } | undefined;
      for (const m of found) if (m && (!first || m.seq < first.seq)) first = m;
      return first?.time.getTime();
    } catch (err) {
      // A stream deleted since /jsz listed it is no failure of the connection.
      if ((err as Error).name === 'StreamNotFoundError') return undefined;
      this.error = `${this.#target.url}: reading message ${seq} of stream ${channel} failed: ${(err as Error).message}`;
      return undefined;
    }
  }

  async #connect(): Promise<Connection | undefined> {
    if (this.#connection) return this.#connection.catch(() => undefined);
    if (Date.now() < this.#retryAtMs) return undefined;
    const connecting = this.#open();
    this.#connection = connecting;
    return connecting.then(
      (conn) => {
        this.error = undefined;
        this.#account = conn.account;
        // A connection the server closes is opened again on a later lookup.
        void conn.nc.closed().then(() => {
          if (this.#connection === connecting) this.#connection = undefined;
        });
        return conn;
      },
      (err: Error) => {
        if (this.#connection === connecting) this.#connection = undefined;
        this.#retryAtMs = Date.now() + RETRY_AFTER_MS;
        this.error = `${this.#target.url}: ${describe(err)}`;
        return undefined;
      },
    );
  }

  async #open(): Promise<Connection> {
    const [{ connect }, { jetstreamManager }] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
    const t = this.#target;
    const options: NodeConnectionOptions = { servers: t.url, name: 'nats-queue-exporter', reconnect: false, timeout: CONNECT_TIMEOUT_MS };
    if (t.user !== undefined) options.user = t.user;
    if (t.password !== undefined) options.pass = t.password.reveal();
    if (t.token !== undefined) options.token = t.token.reveal();
    if (t.tls !== undefined || t.url.startsWith('tls:')) options.tls = tlsConnectOptions(t.tls) as NodeConnectionOptions['tls'];
    const nc = await connect(options);
    try {
      const jsm = await jetstreamManager(nc, { timeout: LOOKUP_TIMEOUT_MS, checkAPI: false });
      return { nc, jsm, account: await accountOf(nc) };
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const conn = await this.#connection?.catch(() => undefined);
    this.#connection = undefined;
    await conn?.nc.close();
  }
}

/** The account the connection's user is in ($SYS.REQ.USER.INFO, which any user may ask), by id and name. */
async function accountOf(nc: NatsConnection): Promise<string[]> {
  let reply: { data?: { account?: string; account_name?: string }; error?: { description?: string } };
  try {
    reply = (await nc.request('$SYS.REQ.USER.INFO', '', { timeout: LOOKUP_TIMEOUT_MS })).json();
  } catch (err) {
    throw new Error(
      `the server did not say which account this user is in ($SYS.REQ.USER.INFO: ${(err as Error).message}); nats-server 2.10 or later answers it`,
      { cause: err },
    );
  }
  const { account, account_name: name } = reply.data ?? {};
  if (account === undefined)
    throw new Error(`the server did not say which account this user is in ($SYS.REQ.USER.INFO answered ${reply.error?.description ?? 'without one'})`);
  return name === undefined ? [account] : [account, name];
}

/** A connection error in words that say what to fix. */
function describe(err: Error): string {
  const text = err.message;
  if (/authorization|authentication/i.test(text)) return `${text}: check the user, --nats-password-file or --nats-token-file for this server`;
  if (/timeout|ECONNREFUSED|ENOTFOUND/i.test(text))
    return `${text}: no NATS server answered at that URL; --nats-url must name the client port (4222) of a node of this server`;
  return text;
}
