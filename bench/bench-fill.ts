import type stan from 'node-nats-streaming';
import { closeStan, connectStan, type Stan } from '../harness/stan-client.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Messages published to every channel after its subscriptions exist. */
export const BACKLOG_PER_CHANNEL = 10;
/** In-flight window of each durable queue group member; it never acks, so it stays stalled. */
const HOLDER_MAX_INFLIGHT = 3;
/** Long enough that nothing is redelivered while the benchmark runs. */
const HOLDER_ACK_WAIT_MS = 3_600_000;
/** Requests (subscribe or publish) awaiting the server's answer, per connection. */
const WINDOW = 512;
/** How long the churn waits for the watchers to receive its messages before it gives up. */
const CHURN_DELIVERY_TIMEOUT_MS = 30_000;
/** A moment after the watchers have the churn's messages, for their acks to reach the server. */
const CHURN_SETTLE_MS = 20;

/** Where the clients connect. */
export interface StanAddress {
  natsUrl: string;
  clusterId: string;
}

export function channelName(i: number): string {
  return `bench.orders.${String(i).padStart(5, '0')}`;
}

/** Runs `task` over `items` with at most `window` unsettled at once. */
async function pipelined<T>(items: readonly T[], window: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
}

function subscribed(sub: stan.Subscription, subject: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sub.once('ready', () => resolve());
    sub.once('error', (err: Error) => reject(new Error(`subscribe ${subject}: ${err.message}`)));
    sub.once('timeout', (err: Error) => reject(new Error(`subscribe ${subject}: ${err.message}`)));
  });
}

function published(sc: Stan, subject: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sc.publish(subject, data, (err) => (err ? reject(new Error(`publish ${subject}: ${err.message}`)) : resolve()));
  });
}

/**
 * Clients that give every channel the benchmark's five subscriptions: two members of the durable
 * queue group bench:workers in manual-ack mode that hold unacked messages, an offline durable
 * (its client has gone), a plain subscription and a member of the non-durable queue group mirror.
 */
export class Filler {
  readonly #server: StanAddress;
  readonly #holdersA: Stan;
  readonly #holdersB: Stan;
  readonly #watchers: Stan;
  readonly #publishers: Stan[];
  #leavers = 0;
  /** The data of the current churn's messages, and how many the watchers have received of them. */
  #churnData = '';
  #churnDelivered = 0;
  #churns = 0;

  private constructor(server: StanAddress, clients: Stan[]) {
    this.#server = server;
    [this.#holdersA, this.#holdersB, this.#watchers] = clients as [Stan, Stan, Stan];
    this.#publishers = clients.slice(3);
  }

  static async connect(server: StanAddress): Promise<Filler> {
    const names = ['bench-holders-a', 'bench-holders-b', 'bench-watchers', 'bench-publisher-1', 'bench-publisher-2'];
    const clients = await Promise.all(names.map((name) => connectStan(server.natsUrl, server.clusterId, name)));
    return new Filler(server, clients);
  }

  /** Adds channels [from, to) with their subscriptions and backlog. */
  async fill(from: number, to: number): Promise<void> {
    const subjects = Array.from({ length: to - from }, (_, i) => channelName(from + i));
    const leavers = await connectStan(this.#server.natsUrl, this.#server.clusterId, `bench-leavers-${++this.#leavers}`);
    const holder = (sc: Stan) =>
      sc
        .subscriptionOptions()
        .setDurableName('bench')
        .setManualAckMode(true)
        .setMaxInFlight(HOLDER_MAX_INFLIGHT)
        .setAckWait(HOLDER_ACK_WAIT_MS)
        .setDeliverAllAvailable();
    await Promise.all([
      pipelined(subjects, WINDOW, (s) => subscribed(this.#holdersA.subscribe(s, 'workers', holder(this.#holdersA)), s)),
      pipelined(subjects, WINDOW, (s) => subscribed(this.#holdersB.subscribe(s, 'workers', holder(this.#holdersB)), s)),
      pipelined(subjects, WINDOW, (s) => subscribed(leavers.subscribe(s, leavers.subscriptionOptions().setDurableName('audit').setDeliverAllAvailable()), s)),
      pipelined(subjects, WINDOW, (s) => subscribed(this.#watch(this.#watchers.subscribe(s, this.#watchers.subscriptionOptions())), s)),
      pipelined(subjects, WINDOW, (s) => subscribed(this.#watch(this.#watchers.subscribe(s, 'mirror', this.#watchers.subscriptionOptions())), s)),
    ]);
    // A durable whose client closes its connection stays on the server, offline, and its backlog grows.
    await closeStan(leavers);
    const messages = subjects.flatMap((s) => Array.from({ length: BACKLOG_PER_CHANNEL }, (_, n) => [s, `order ${n}`] as const));
    const perPublisher = Math.ceil(messages.length / this.#publishers.length);
    await Promise.all(
      this.#publishers.map((sc, p) => pipelined(messages.slice(p * perPublisher, (p + 1) * perPublisher), WINDOW, ([s, data]) => published(sc, s, data))),
    );
  }

  /** Counts the churn's messages a watcher (the plain subscription or the mirror member) receives. */
  #watch(sub: stan.Subscription): stan.Subscription {
    sub.on('message', (msg: stan.Message) => {
      if (msg.getData() === this.#churnData) this.#churnDelivered++;
    });
    return sub;
  }

  /**
   * Publishes one message to each of `channels` (indices, as in channelName), awaits the server's
   * acks, then waits until the plain subscription and the mirror member of each have received it,
   * and a moment more for their acks. Answers how long that took, in ms.
   */
  async churn(channels: readonly number[]): Promise<number> {
    const started = performance.now();
    this.#churnData = `churn ${++this.#churns}`;
    this.#churnDelivered = 0;
    const expected = 2 * channels.length;
    const perPublisher = Math.ceil(channels.length / this.#publishers.length);
    await Promise.all(
      this.#publishers.map((sc, p) =>
        pipelined(channels.slice(p * perPublisher, (p + 1) * perPublisher), WINDOW, (i) => published(sc, channelName(i), this.#churnData)),
      ),
    );
    const deadline = Date.now() + CHURN_DELIVERY_TIMEOUT_MS;
    while (this.#churnDelivered < expected) {
      if (Date.now() > deadline)
        throw new Error(`churn: the watchers received ${this.#churnDelivered} of ${expected} messages in ${CHURN_DELIVERY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, CHURN_SETTLE_MS));
    return performance.now() - started;
  }

  async close(): Promise<void> {
    await Promise.all([this.#holdersA, this.#holdersB, this.#watchers, ...this.#publishers].map(closeStan));
  }
}

/** A Filler in a child process (bench/bench-filler.ts). */
export interface FillerProcess {
  fill(from: number, to: number): Promise<void>;
  /** Filler.churn in the child process: its ms. */
  churn(channels: readonly number[]): Promise<number>;
  close(): Promise<void>;
}

export async function startFillerProcess(server: StanAddress): Promise<FillerProcess> {
  const child = fork(fileURLToPath(new URL('./bench-filler.js', import.meta.url)), [server.natsUrl, server.clusterId], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answer = () =>
    new Promise<{ ready?: boolean; filled?: boolean; churnMs?: number; error?: string }>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the filler process exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (message: { error?: string }) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const first = await answer();
  if (first.error) throw new Error(first.error);
  return {
    async fill(from, to) {
      const reply = answer();
      child.send({ fill: [from, to] });
      const message = await reply;
      if (message.error) throw new Error(`filling channels ${from} to ${to}: ${message.error}`);
    },
    async churn(channels) {
      const reply = answer();
      child.send({ churn: channels });
      const message = await reply;
      if (message.error) throw new Error(`churning ${channels.length} channels: ${message.error}`);
      return message.churnMs!;
    },
    async close() {
      if (child.connected) child.send({ close: true });
      const killLater = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
    },
  };
}
