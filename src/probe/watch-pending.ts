import { hostname } from 'node:os';
import { accountOf, type ProbeConnection } from './account.js';
import { ackWaitMs, consumerLabels, countedConsumer, type ProbeConsumer } from './jetstream.js';
import { type ConsumerLabels, type ProbeMessage, SubscriptionTally } from './tally.js';

/**
 * The parts of a node-nats-streaming Subscription the probe uses. Its type declarations do not
 * list subject, qGroup and opts, so they are read at run time and may be given as labels instead.
 */
export interface ProbeSubscription {
  // The listener type of Node's EventEmitter, so a node-nats-streaming Subscription fits as it is.
  on(event: 'message', listener: (...args: any[]) => void): unknown;
  once?(event: 'closed' | 'unsubscribed', listener: () => void): unknown;
}

interface StanSubscriptionFields {
  subject?: unknown;
  qGroup?: unknown;
  opts?: { durableName?: unknown; manualAcks?: unknown; maxInFlight?: unknown; ackWait?: unknown };
}

export interface WatchPendingOptions {
  /** The NAME the sidecar gives the server (its --server NAME=URL, or --jetstream NAME=URL). */
  server: string;
  /** Base URL of the sidecar's probe listener; default $NQE_PROBE_URL or http://127.0.0.1:7779. */
  url?: string;
  /** Identifies this process's reports, which replace each other; default HOSTNAME-PID. */
  clientId?: string;
  /** Milliseconds between reports; default 5000. Keep it well under the sidecar's --probe-ttl. */
  intervalMs?: number;
  /** Told about every failed report (the worker is never thrown at); default: ignore. */
  onError?: (err: Error) => void;
  /**
   * The worker's NATS connection: jetstream() asks it once ($SYS.REQ.USER.INFO) which account
   * its user is in, so that the queues of a JetStream account other than the default one carry
   * the `account` label the exporter gives them. Without it, they carry none unless
   * jetstream(consumer, { account }) says.
   */
  connection?: ProbeConnection;
}

/** Labels for a subscription whose fields cannot be read, or to override them. */
export interface SubscriptionLabels {
  server?: string;
  subject?: string;
  group?: string;
  durable?: string;
  manualAcks?: boolean;
}

export interface PendingFigures extends ConsumerLabels {
  msgs: number;
  bytes: number;
  maxInflight: number | undefined;
}

export interface PendingWatcher {
  /**
   * Attaches `handler` as the subscription's message listener, counting what it holds.
   * Returns the listener attached, for `subscription.removeListener('message', ...)`.
   */
  handle<M extends ProbeMessage>(subscription: ProbeSubscription, handler: (msg: M) => unknown, labels?: SubscriptionLabels): (msg: M) => unknown;
  /**
   * An @nats-io/jetstream 3.x Consumer or PushConsumer whose consume(), fetch() and next()
   * count what they buffer and hand out until it is acked, nakked or termed. Labels come from
   * the consumer's info (stream, deliver group, durable name) and the account of `connection`;
   * `labels` overrides them (`account: ""` for the default account).
   */
  jetstream<C extends ProbeConsumer>(consumer: C, labels?: Partial<ConsumerLabels>): Promise<C>;
  /** What the next report will say, one entry per handled subscription. */
  figures(): PendingFigures[];
  /** Sends a report now; resolves false when the sidecar did not take it. Never rejects. */
  flush(): Promise<boolean>;
  /** Stops reporting after one last report with zero figures. Never rejects. */
  close(): Promise<void>;
}

const DEFAULT_URL = 'http://127.0.0.1:7779';
const MAX_BACKOFF_MS = 60_000;

function labelOf(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/**
 * Counts, per subscription, the messages this worker holds and has not finished, and pushes them
 * to the nats-queue-exporter sidecar every `intervalMs` (with backoff while it is absent).
 */
export function watchPending(options: WatchPendingOptions): PendingWatcher {
  if (typeof options?.server !== 'string' || options.server === '') {
    throw new TypeError('watchPending: options.server must be the NAME the sidecar gives the server (its --server NAME=URL), e.g. { server: "prod-a" }');
  }
  const base = options.url ?? process.env['NQE_PROBE_URL'] ?? DEFAULT_URL;
  let endpoint: URL;
  try {
    endpoint = new URL('/v1/pending', base);
  } catch {
    throw new TypeError(`watchPending: url "${base}" is not a URL: write the sidecar's probe address, e.g. ${DEFAULT_URL}`);
  }
  const intervalMs = options.intervalMs ?? 5000;
  if (!Number.isFinite(intervalMs) || intervalMs < 100) {
    throw new TypeError(`watchPending: intervalMs ${intervalMs} is too small: write at least 100 (milliseconds), e.g. 5000`);
  }
  return new Watcher({
    server: options.server,
    endpoint: endpoint.href,
    clientId: options.clientId ?? `${hostname()}-${process.pid}`,
    intervalMs,
    onError: options.onError ?? (() => undefined),
    connection: options.connection,
  });
}

interface WatcherSettings {
  server: string;
  endpoint: string;
  clientId: string;
  intervalMs: number;
  onError: (err: Error) => void;
  connection: ProbeConnection | undefined;
}

class Watcher implements PendingWatcher {
  readonly #opts: WatcherSettings;
  readonly #tallies = new Set<SubscriptionTally>();
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #sending: Promise<boolean> | undefined;
  #closed = false;
  /** The connection's account, asked once: every consumer of this watcher gets the same answer. */
  #account: Promise<string | undefined> | undefined;

  constructor(opts: WatcherSettings) {
    this.#opts = opts;
    this.#schedule(opts.intervalMs);
  }

  handle<M extends ProbeMessage>(subscription: ProbeSubscription, handler: (msg: M) => unknown, labels: SubscriptionLabels = {}): (msg: M) => unknown {
    const fields = subscription as StanSubscriptionFields;
    const subject = labels.subject ?? labelOf(fields.subject, '');
    if (subject === '') {
      throw new TypeError('watchPending handle(): the subscription has no subject: pass a node-nats-streaming Subscription, or labels { subject }');
    }
    const opts = fields.opts ?? {};
    const tally = new SubscriptionTally(
      {
        server: labels.server ?? this.#opts.server,
        subject,
        group: labels.group ?? labelOf(fields.qGroup, ''),
        durable: labels.durable ?? labelOf(opts.durableName, ''),
      },
      {
        maxInflight: typeof opts.maxInFlight === 'number' ? opts.maxInFlight : undefined,
        ackWaitMs: typeof opts.ackWait === 'number' ? opts.ackWait : 30_000,
      },
    );
    const manualAcks = labels.manualAcks ?? opts.manualAcks === true;
    const listener = manualAcks ? tally.wrapManualAck(handler) : tally.wrapAutoAck(handler);
    this.#tallies.add(tally);
    const stop = () => this.#tallies.delete(tally);
    subscription.once?.('closed', stop);
    subscription.once?.('unsubscribed', stop);
    subscription.on('message', listener);
    return listener;
  }

  async jetstream<C extends ProbeConsumer>(consumer: C, labels: Partial<ConsumerLabels> = {}): Promise<C> {
    if (typeof consumer?.info !== 'function' || typeof consumer.consume !== 'function') {
      throw new TypeError('watchPending jetstream(): pass an @nats-io/jetstream Consumer, e.g. await js.consumers.get("orders", "billing")');
    }
    const [info, account] = await Promise.all([consumer.info(true), labels.account === undefined ? this.#connectionAccount() : undefined]);
    // max_ack_pending is one window for all members, not this client's: it is not reported.
    const tally = new SubscriptionTally(consumerLabels(info, this.#opts.server, account, labels), { maxInflight: undefined, ackWaitMs: ackWaitMs(info) });
    this.#tallies.add(tally);
    return countedConsumer(consumer, tally, info.config.ack_policy !== 'none');
  }

  /** Undefined without a connection, for the default account, and when the server did not say (told to onError). */
  #connectionAccount(): Promise<string | undefined> {
    const connection = this.#opts.connection;
    if (connection === undefined) return Promise.resolve(undefined);
    this.#account ??= accountOf(connection).catch((err: unknown) => {
      this.#report(
        new Error(
          `watchPending: the connection did not say which JetStream account its user is in (${(err as Error).message}), so its queues are reported without an account label: let the user publish to $SYS.REQ.USER.INFO, or pass jetstream(consumer, { account: "NAME" })`,
          { cause: err },
        ),
      );
      return undefined;
    });
    return this.#account;
  }

  figures(): PendingFigures[] {
    const now = performance.now();
    return [...this.#tallies].map((t) => {
      t.expire(now);
      return { ...t.labels, msgs: t.messages + t.bufferedMessages(), bytes: t.bytes, maxInflight: t.maxInflight };
    });
  }

  flush(): Promise<boolean> {
    return this.#send(this.figures());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#sending;
    await this.#send(this.figures().map((f) => ({ ...f, msgs: 0, bytes: 0 })));
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      void this.flush().then((ok) => {
        this.#failures = ok ? 0 : this.#failures + 1;
        if (this.#closed) return;
        const backoff = Math.min(this.#opts.intervalMs * 2 ** this.#failures, Math.max(MAX_BACKOFF_MS, this.#opts.intervalMs));
        // Jitter keeps the workers of a restarted pod from reporting in step.
        this.#schedule(this.#failures === 0 ? this.#opts.intervalMs : backoff * (0.8 + Math.random() * 0.4));
      });
    }, delayMs);
    // Reporting alone must never keep the worker's process alive.
    this.#timer.unref();
  }

  #send(figures: PendingFigures[]): Promise<boolean> {
    const body = JSON.stringify({
      client_id: this.#opts.clientId,
      subscriptions: figures.map((f) => ({
        server: f.server,
        ...(f.account === undefined ? {} : { account: f.account }),
        subject: f.subject,
        group: f.group,
        durable: f.durable,
        msgs: f.msgs,
        bytes: f.bytes,
        ...(f.maxInflight === undefined ? {} : { max_inflight: f.maxInflight }),
      })),
    });
    const sending = this.#post(body).finally(() => {
      if (this.#sending === sending) this.#sending = undefined;
    });
    this.#sending = sending;
    return sending;
  }

  async #post(body: string): Promise<boolean> {
    try {
      const res = await fetch(this.#opts.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(Math.min(this.#opts.intervalMs, 5000)),
      });
      const answer = await res.text();
      if (res.ok) return true;
      this.#report(new Error(`sidecar ${this.#opts.endpoint} answered ${res.status}: ${answer.slice(0, 300)}`));
    } catch (err) {
      this.#report(new Error(`sidecar ${this.#opts.endpoint} did not take the report: ${(err as Error).message}`, { cause: err }));
    }
    return false;
  }

  #report(err: Error): void {
    try {
      this.#opts.onError(err);
    } catch {
      // The worker's own error hook failing must not reach the worker either.
    }
  }
}
