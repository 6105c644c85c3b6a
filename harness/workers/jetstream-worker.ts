/**
 * An @nats-io/jetstream worker that reports through 'nats-queue-exporter/probe', run by the
 * tests as a child process. WORKER_MODE says how it takes messages from its consumer:
 * consume (iterator, one at a time), callback (consume() with a callback, handlers run
 * concurrently), fetch (batches, handlers run concurrently), next (one at a time) or push (a
 * PushConsumer's consume(), iterator). It logs in as WORKER_NATS_USER (password the same) when
 * set; the probe learns its account from the connection, unless WORKER_ACCOUNT names it. Its handler waits at a gate the test opens and closes over
 * stdin ("open" / "close") and acks when it passes it (or never, with WORKER_ACKS=never).
 * Settings come from the environment; it prints one JSON line per event on stdout.
 */
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { env, say, stdinGate, watcherFromEnv } from './worker-io.js';

const mode = env('WORKER_MODE');
const acks = env('WORKER_ACKS', 'after-gate');
const batch = Number(env('WORKER_BATCH', '100'));
const gate = stdinGate();
let handled = 0;
let stopping = false;

const user = process.env['WORKER_NATS_USER'];
const nc = await connect({ servers: env('WORKER_NATS_URL'), ...(user === undefined ? {} : { user, pass: user }) });
const watcher = watcherFromEnv(nc);
const js = jetstream(nc);
const stream = env('WORKER_STREAM');
const name = env('WORKER_CONSUMER');
const account = process.env['WORKER_ACCOUNT'];
const labels = account === undefined ? {} : { account };

// The message loops below never return: SIGTERM is wired up before them.
process.once('SIGTERM', () => {
  stopping = true;
  void watcher.close().then(async () => {
    say({ closed: true });
    await nc.close();
    process.exit(0);
  });
});

async function handle(msg: JsMsg): Promise<void> {
  await gate.pass();
  if (acks !== 'never') msg.ack();
  handled += 1;
  say({ handled, sequence: msg.seq, redelivered: msg.redelivered });
}

if (mode === 'push') {
  const consumer = await watcher.jetstream(await js.consumers.getPushConsumer(stream, name), labels);
  const messages = await consumer.consume();
  say({ ready: true });
  for await (const msg of messages) await handle(msg);
} else {
  const consumer = await watcher.jetstream(await js.consumers.get(stream, name), labels);
  if (mode === 'consume') {
    const messages = await consumer.consume({ max_messages: batch });
    say({ ready: true });
    for await (const msg of messages) await handle(msg);
  } else if (mode === 'callback') {
    await consumer.consume({ max_messages: batch, callback: (msg) => void handle(msg) });
    say({ ready: true });
  } else if (mode === 'fetch') {
    say({ ready: true });
    while (!stopping) {
      const messages = await consumer.fetch({ max_messages: batch, expires: 1_000 });
      for await (const msg of messages) void handle(msg);
    }
  } else if (mode === 'next') {
    say({ ready: true });
    while (!stopping) {
      const msg = await consumer.next({ expires: 1_000 });
      if (msg) await handle(msg);
    }
  } else {
    throw new Error(`jetstream-worker: WORKER_MODE "${mode}" is not consume, callback, fetch, next or push`);
  }
}
