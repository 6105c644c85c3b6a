/**
 * npm run bench:probe: what the probe library costs a worker per message. Prints messages/s
 * through a handler with and without watchPending's wrapper:
 *  1. in process, real node-nats-streaming Message objects re-emitted on a subscription-shaped
 *     emitter (the wrapper's own cost, nothing else in the way);
 *  2. end to end, a real nats-streaming-server delivering a backlog to a real subscription.
 */
import { EventEmitter } from 'node:events';
import { watchPending } from '../src/probe/index.js';
import { freePort } from '../harness/ports.js';
import { type Message, type Stan, closeStan, connectStan, publish, ready } from '../harness/stan-client.js';
import { startStan } from '../harness/stan-server.js';

const PAYLOAD = 'x'.repeat(256);
const MICRO_MESSAGES = 1_000_000;
const E2E_MESSAGES = 50_000;
const RUNS = 5;
const BATCH = 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')} msg/s`;
}

async function publishBacklog(sc: Stan, subject: string, count: number): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const p = publish(sc, subject, PAYLOAD).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 1000) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

/** Real Message objects, received from the server once; their subscription is closed afterwards, so ack() sends nothing. */
async function receiveMessages(sc: Stan, subject: string, count: number): Promise<Message[]> {
  const sub = sc.subscribe(subject, sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(count));
  const messages: Message[] = [];
  const all = new Promise<void>((resolve) =>
    sub.on('message', (m: Message) => {
      messages.push(m);
      if (messages.length === count) resolve();
    }),
  );
  await ready(sub);
  await all;
  await new Promise<void>((resolve) => {
    sub.once('unsubscribed', () => resolve());
    sub.unsubscribe();
  });
  return messages;
}

const server = await startStan({ clusterId: 'bench-probe' });
const sc = await connectStan(server.natsUrl, server.clusterId, 'bench-probe');
const nobody = `http://127.0.0.1:${await freePort()}`;
// Reports go nowhere: the cost measured is the per-message count, not the push every few seconds.
const watcher = watchPending({ server: 'bench', url: nobody, intervalMs: 5000 });

try {
  console.log(
    `node ${process.version}, ${MICRO_MESSAGES.toLocaleString('en-US')} messages per run in process, ${E2E_MESSAGES.toLocaleString('en-US')} end to end, median of ${RUNS} runs\n`,
  );
  await publishBacklog(sc, 'bench.micro', 1000);
  const samples = await receiveMessages(sc, 'bench.micro', 1000);
  const proto = Object.getPrototypeOf(samples[0]) as object;
  const fresh = (i: number): Message => Object.assign(Object.create(proto) as Message, samples[i % samples.length]);

  type Handler = (m: Message) => unknown;
  const handlers: Array<[string, boolean, Handler]> = [
    ['auto-ack, sync handler', false, (m) => m.getSequence()],
    ['auto-ack, async handler', false, async (m) => m.getSequence()],
    ['manual-ack, sync handler', true, (m) => m.ack()],
    ['manual-ack, async handler', true, async (m) => m.ack()],
  ];
  console.log('1. in process: emit -> handler');
  for (const [what, manualAcks, handler] of handlers) {
    const times: Record<'plain' | 'wrapped', number[]> = { plain: [], wrapped: [] };
    for (let run = 0; run < RUNS; run++) {
      for (const kind of ['plain', 'wrapped'] as const) {
        const sub = Object.assign(new EventEmitter(), { subject: 'bench.micro', qGroup: 'g', opts: { manualAcks, maxInFlight: 16384, ackWait: 30_000 } });
        if (kind === 'plain') sub.on('message', handler);
        else watcher.handle(sub, handler);
        const started = performance.now();
        // In batches, as messages come off the socket; between batches the async handlers settle,
        // and settling is part of the cost.
        for (let i = 0; i < MICRO_MESSAGES; ) {
          for (const end = i + BATCH; i < end; i++) sub.emit('message', fresh(i));
          await new Promise((r) => setImmediate(r));
        }
        times[kind].push(performance.now() - started);
        sub.emit('closed');
      }
    }
    const plain = median(times.plain);
    const wrapped = median(times.wrapped);
    console.log(
      `   ${what.padEnd(26)} without ${rate(MICRO_MESSAGES, plain).padStart(16)}   with ${rate(MICRO_MESSAGES, wrapped).padStart(16)}   +${(((wrapped - plain) / MICRO_MESSAGES) * 1e6).toFixed(0)} ns/msg`,
    );
  }

  console.log('\n2. end to end: nats-streaming-server delivers a backlog of 256-byte messages (auto-ack)');
  await publishBacklog(sc, 'bench.e2e', E2E_MESSAGES);
  const times: Record<'plain' | 'wrapped', number[]> = { plain: [], wrapped: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['plain', 'wrapped'] as const) {
      let seen = 0;
      let allSeen = () => undefined as void;
      const done = new Promise<void>((resolve) => (allSeen = resolve));
      const handler = () => {
        if (++seen === E2E_MESSAGES) allSeen();
      };
      const started = performance.now();
      const sub = sc.subscribe('bench.e2e', sc.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(16384));
      if (kind === 'plain') sub.on('message', handler);
      else watcher.handle(sub, handler);
      await done;
      times[kind].push(performance.now() - started);
      sub.unsubscribe();
    }
  }
  console.log(`   without ${rate(E2E_MESSAGES, median(times.plain))}   with ${rate(E2E_MESSAGES, median(times.wrapped))}`);
} finally {
  await watcher.close();
  await closeStan(sc);
  await server.stop();
}
