import type { ConsumerLabels, ProbeJsMsg, SubscriptionTally } from './tally.js';

/**
 * The parts of @nats-io/jetstream 3.x types the probe uses, written out so that the probe
 * neither loads nor needs that package: a worker passes its own Consumer and gets it back.
 */
export interface ProbeConsumerInfo {
  stream_name: string;
  config: { durable_name?: string; deliver_group?: string; ack_wait?: number; ack_policy?: string };
}

/** What consume() and fetch() resolve to (ConsumerMessages): iterated, or feeding a callback. */
export interface ProbeConsumerMessages extends AsyncIterable<ProbeJsMsg> {
  /** Messages received and not yet handed out by the iterator. */
  getPending(): number;
  closed(): Promise<unknown>;
}

/** A pull Consumer (consume, fetch, next) or a PushConsumer (consume). */
export interface ProbeConsumer {
  info(cached?: boolean): Promise<ProbeConsumerInfo>;
  // The option types are the library's own; they pass through untouched.
  consume(opts?: any): Promise<ProbeConsumerMessages>;
  fetch?(opts?: any): Promise<ProbeConsumerMessages>;
  next?(opts?: any): Promise<ProbeJsMsg | null>;
}

/** Without an ack wait in the consumer's config the server uses 30 s. */
const DEFAULT_ACK_WAIT_MS = 30_000;

/**
 * The queue a consumer feeds, as the exporter labels it (the stan2js mapping): the stream's
 * name, the deliver group ("" for pull consumers) and the durable name ("" for an ephemeral),
 * in `account` (undefined or "" for the default one).
 */
export function consumerLabels(info: ProbeConsumerInfo, server: string, account: string | undefined, overrides: Partial<ConsumerLabels>): ConsumerLabels {
  const inAccount = overrides.account ?? account;
  return {
    server: overrides.server ?? server,
    ...(inAccount === undefined || inAccount === '' ? {} : { account: inAccount }),
    subject: overrides.subject ?? info.stream_name,
    group: overrides.group ?? info.config.deliver_group ?? '',
    durable: overrides.durable ?? info.config.durable_name ?? '',
  };
}

export function ackWaitMs(info: ProbeConsumerInfo): number {
  const nanos = info.config.ack_wait;
  return typeof nanos === 'number' && nanos > 0 ? nanos / 1e6 : DEFAULT_ACK_WAIT_MS;
}

/**
 * `consumer` with consume(), fetch() and next() counted in `tally`: what the library buffers
 * (getPending()) and what it handed out and was not acked, nakked or termed yet. With
 * ack_policy "none" a message is finished once handed out, so only the buffer counts.
 * Everything else is the consumer's own, called on the consumer itself.
 */
export function countedConsumer<C extends ProbeConsumer>(consumer: C, tally: SubscriptionTally, acked: boolean): C {
  const hold = (msg: ProbeJsMsg) => {
    if (acked) tally.holdJetStream(msg);
  };
  const overrides: Record<PropertyKey, unknown> = {
    consume: async (opts?: { callback?: (msg: ProbeJsMsg) => unknown }) => {
      const callback = opts?.callback;
      if (callback === undefined) return counted(await consumer.consume(opts), tally, hold);
      const counting = acked ? tally.wrapJetStream(callback) : callback;
      const messages = await consumer.consume({ ...opts, callback: counting });
      watchBuffer(messages, tally);
      return messages;
    },
  };
  const { fetch, next } = consumer;
  if (fetch) overrides['fetch'] = async (opts?: unknown) => counted(await fetch.call(consumer, opts), tally, hold);
  if (next) {
    overrides['next'] = async (opts?: unknown) => {
      const msg = await next.call(consumer, opts);
      if (msg) hold(msg);
      return msg;
    };
  }
  return overlay(consumer, overrides);
}

/** Counts the library's buffer of `messages` until they are closed. */
function watchBuffer(messages: ProbeConsumerMessages, tally: SubscriptionTally): void {
  tally.addBuffer(messages);
  const stop = () => tally.removeBuffer(messages);
  void messages.closed().then(stop, stop);
}

function counted(messages: ProbeConsumerMessages, tally: SubscriptionTally, hold: (msg: ProbeJsMsg) => void): ProbeConsumerMessages {
  watchBuffer(messages, tally);
  return overlay(messages, { [Symbol.asyncIterator]: () => handOut(messages, hold) });
}

/** The same messages in the same order, each held from the moment the worker gets it. */
async function* handOut(messages: ProbeConsumerMessages, hold: (msg: ProbeJsMsg) => void): AsyncGenerator<ProbeJsMsg> {
  for await (const msg of messages) {
    hold(msg);
    yield msg;
  }
}

/**
 * `target` with some properties replaced. The rest are read from, and methods called on,
 * `target` itself: the library's objects keep private state a stand-in could not reach.
 */
function overlay<T extends object>(target: T, overrides: Record<PropertyKey, unknown>): T {
  return new Proxy(target, {
    get(t, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key];
      const value: unknown = Reflect.get(t, key, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
}
