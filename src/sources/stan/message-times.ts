import type stanTypes from 'node-nats-streaming';
import type { MessageTimes } from '../../model/oldest-age.js';
import { tlsConnectOptions } from '../../monitor-access.js';
import { nodeCrypto } from '../../node-builtins.js';
import type { NatsClientTarget } from '../../targets.js';

/** How long one lookup may take before it is given up (the next scrape asks again). */
const LOOKUP_TIMEOUT_MS = 2000;
/** How long to wait for the server to accept the connection. */
const CONNECT_TIMEOUT_MS = 3000;
/** After a failed connection, the next try waits this long, so that scrapes are not held by it. */
const RETRY_AFTER_MS = 10_000;

/**
 * Publish times of single messages, read over a NATS Streaming client connection: a plain
 * (never durable) subscription that starts at the sequence, takes one message's timestamp without
 * acking it, and is unsubscribed, so nothing is left on the server.
 */
export class StanMessageTimes implements MessageTimes {
  readonly #target: NatsClientTarget;
  #clusterId = '';
  #connection: Promise<stanTypes.Stan> | undefined;
  #retryAtMs = 0;
  /** Why the last connection failed or broke; undefined while connected or not tried. */
  error: string | undefined;

  constructor(target: NatsClientTarget) {
    this.#target = target;
  }

  /** The cluster id the owning node's serverz reported; a new one drops the connection. */
  useCluster(clusterId: string): void {
    if (clusterId === this.#clusterId) return;
    this.#clusterId = clusterId;
    void this.#drop();
  }

  async lookup(channel: string, seq: number, signal: AbortSignal): Promise<number | undefined> {
    const sc = await this.#connect();
    if (!sc) return undefined;
    return new Promise<number | undefined>((resolve) => {
      const opts = sc.subscriptionOptions().setStartAtSequence(seq).setManualAckMode(true).setMaxInFlight(1).setAckWait(60_000);
      let sub: stanTypes.Subscription;
      try {
        sub = sc.subscribe(channel, opts);
      } catch (err) {
        this.error = `subscribe to ${channel} failed: ${(err as Error).message}`;
        resolve(undefined);
        return;
      }
      const timer = setTimeout(() => finish(undefined), LOOKUP_TIMEOUT_MS);
      const onAbort = () => finish(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (atMs: number | undefined) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        sub.removeAllListeners('message');
        try {
          sub.unsubscribe();
        } catch {
          // The connection is gone: the server drops the subscription with it.
        }
        resolve(atMs);
      };
      sub.once('message', (msg: stanTypes.Message) => finish(msg.getSequence() === seq ? msg.getTimestamp().getTime() : undefined));
      sub.once('error', (err: Error) => {
        this.error = `subscribe to ${channel} failed: ${err.message}`;
        finish(undefined);
      });
    });
  }

  async #connect(): Promise<stanTypes.Stan | undefined> {
    if (this.#connection) return this.#connection.catch(() => undefined);
    if (this.#clusterId === '' || Date.now() < this.#retryAtMs) return undefined;
    const { default: stan } = await import('node-nats-streaming');
    const t = this.#target;
    const clientId = `nqe-age-${t.server.replace(/[^A-Za-z0-9_-]/g, '_')}-${nodeCrypto().randomBytes(4).toString('hex')}`;
    const options: stanTypes.StanOptions = { url: t.url, reconnect: false, connectTimeout: CONNECT_TIMEOUT_MS, maxPubAcksInflight: 1 };
    if (t.user !== undefined) options.user = t.user;
    if (t.password !== undefined) options.pass = t.password.reveal();
    if (t.token !== undefined) options.token = t.token.reveal();
    if (t.tls !== undefined) options.tls = tlsConnectOptions(t.tls) as stanTypes.StanOptions['tls'];
    const connecting = new Promise<stanTypes.Stan>((resolve, reject) => {
      const sc = stan.connect(this.#clusterId, clientId, options);
      sc.once('connect', () => {
        this.error = undefined;
        resolve(sc);
      });
      sc.on('error', (err: Error) => {
        this.error = `${t.url} (cluster id "${this.#clusterId}" from serverz): ${describe(err)}`;
        reject(err);
        void this.#drop();
      });
      sc.once('close', () => {
        if (this.#connection === connecting) this.#connection = undefined;
      });
    });
    this.#connection = connecting;
    return connecting.catch(() => {
      this.#connection = undefined;
      this.#retryAtMs = Date.now() + RETRY_AFTER_MS;
      return undefined;
    });
  }

  async #drop(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    const sc = await connection?.catch(() => undefined);
    if (!sc) return;
    await new Promise<void>((resolve) => {
      sc.once('close', () => resolve());
      try {
        sc.close();
      } catch {
        resolve();
      }
      setTimeout(resolve, 1000).unref();
    });
  }

  close(): Promise<void> {
    return this.#drop();
  }
}

/** A connection error in words that say what to fix. */
function describe(err: Error): string {
  const text = err.message;
  if (/authorization/i.test(text)) return `${text}: check the user, --nats-password-file or --nats-token-file for this server`;
  if (/connect request timeout|timeout/i.test(text))
    return `${text}: no NATS Streaming server with this cluster id answered at that URL; --nats-url must reach the same server as the monitoring URL`;
  return text;
}
