import {
  AckPolicy,
  type ConsumerConfig,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, type NodeConnectionOptions, type Subscription } from '@nats-io/transport-node';

/**
 * A JetStream client for making the streams and consumers the tests read back through /jsz:
 * everything a test sees comes from a real server, made by the real client library.
 */
export interface JsClient {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

export async function connectJs(url: string | string[], opts: Partial<NodeConnectionOptions> = {}): Promise<JsClient> {
  const nc = await connect({ servers: url, ...opts });
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm, close: () => nc.close() };
}

/**
 * Adds a stream, retrying for a while: a replicated stream is refused until the cluster has
 * formed enough to place it. Returns once the stream has a leader: until then a publish to it
 * finds no responder, which the client reports as "jetstream is not enabled".
 */
export async function addStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await jsm.streams.add(config);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  for (;;) {
    const info = await jsm.streams.info(config.name).catch(() => undefined);
    if (info && (info.cluster === undefined || info.cluster.leader)) return;
    if (Date.now() > deadline) throw new Error(`stream ${config.name} has no leader after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Adds a consumer with explicit acks (as stan2js makes them) and the given config. */
export async function addConsumer(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<string> {
  const info = await jsm.consumers.add(stream, { ack_policy: AckPolicy.Explicit, ...config });
  return info.name;
}

/** Publishes `count` small messages to `subject`, each acknowledged by the stream. */
export async function publish(js: JetStreamClient, subject: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await js.publish(subject, `message ${i}`);
}

/**
 * Fetches up to `count` messages of a pull consumer and acks none of them: they stay
 * delivered-not-acked (num_ack_pending) until their ack wait ends. Returns how many came.
 */
export async function fetchWithoutAck(js: JetStreamClient, stream: string, consumer: string, count: number): Promise<number> {
  const c = await js.consumers.get(stream, consumer);
  const messages = await c.fetch({ max_messages: count, expires: 2_000 });
  let received = 0;
  for await (const _ of messages) {
    if (++received === count) break;
  }
  return received;
}

/**
 * A core NATS queue subscription on a push consumer's deliver subject: the server then reports
 * the consumer as push_bound and delivers to it; nothing is acked.
 */
export function bindPush(nc: NatsConnection, deliverSubject: string, group: string): Subscription {
  return nc.subscribe(deliverSubject, { queue: group });
}

/** Asks a consumer's leader to step down (the JetStream API), so another replica leads. */
export async function stepDownConsumer(nc: NatsConnection, stream: string, consumer: string): Promise<void> {
  await stepDown(nc, `CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`);
}

/** Asks a stream's leader to step down, so another replica leads. */
export async function stepDownStream(nc: NatsConnection, stream: string): Promise<void> {
  await stepDown(nc, `STREAM.LEADER.STEPDOWN.${stream}`);
}

async function stepDown(nc: NatsConnection, api: string): Promise<void> {
  const reply = (await nc.request(`$JS.API.${api}`, '', { timeout: 5_000 })).json<{ success?: boolean; error?: { description: string } }>();
  if (!reply.success) throw new Error(`${api} failed: ${reply.error?.description ?? JSON.stringify(reply)}`);
}

/**
 * Steps a leader down until `leader()` names `wanted` (each step-down lets the replicas elect
 * anew, so it takes a few tries), waiting for each election. A failing `leader()` (no leader
 * yet, the client reconnecting after a node was lost) is asked again.
 */
export async function moveLeader(
  leader: () => Promise<string | undefined>,
  stepDownOnce: () => Promise<void>,
  wanted: (name: string) => boolean,
): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await leader().catch(() => undefined);
    if (now && wanted(now)) return now;
    if (Date.now() > deadline) throw new Error(`the leader did not move as wanted within 30 s (it is ${now ?? 'not elected'})`);
    if (now) await stepDownOnce().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
  }
}
