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
      pipelined(subjects, WINDOW, (s) => subscribed(this.#watchers.subscribe(s, this.#watchers.subscriptionOptions()), s)),
      pipelined(subjects, WINDOW, (s) => subscribed(this.#watchers.subscribe(s, 'mirror', this.#watchers.subscriptionOptions()), s)),
    ]);
    // A durable whose client closes its connection stays on the server, offline, and its backlog grows.
    await closeStan(leavers);
    const messages = subjects.flatMap((s) => Array.from({ length: BACKLOG_PER_CHANNEL }, (_, n) => [s, `order ${n}`] as const));
    const perPublisher = Math.ceil(messages.length / this.#publishers.length);
    await Promise.all(
      this.#publishers.map((sc, p) => pipelined(messages.slice(p * perPublisher, (p + 1) * perPublisher), WINDOW, ([s, data]) => published(sc, s, data))),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.#holdersA, this.#holdersB, this.#watchers, ...this.#publishers].map(closeStan));
  }
}

/** A Filler in a child process (bench/bench-filler.ts). */
export interface FillerProcess {
  fill(from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFillerProcess(server: StanAddress): Promise<FillerProcess> {
  const child = fork(fileURLToPath(new URL('./bench-filler.js', import.meta.url)), [server.natsUrl, server.clusterId], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const answer = () =>
    new Promise<{ ready?: boolean; filled?: boolean; error?: string }>((resolve, reject) => {
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
    async close() {
      if (child.connected) child.send({ close: true });
      const killLater = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killLater);
    },
  };
}
