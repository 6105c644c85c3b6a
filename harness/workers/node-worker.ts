/**
 * A node-nats-streaming worker that reports through 'nats-queue-exporter/probe', run by the tests
 * as a child process. Its handler waits at a gate the test opens and closes over stdin
 * ("open" / "close"); in manual-ack mode it acks when it passes the gate (or never, with
 * WORKER_ACKS=never). Settings come from
 * the environment; it prints one JSON line per event on stdout.
 */
import stan from 'node-nats-streaming';
import { env, say, stdinGate, watcherFromEnv } from './worker-io.js';

const manualAcks = env('WORKER_MANUAL_ACK', 'false') === 'true';
// "never": the handler returns without acking, so the server redelivers after the ack wait.
const acks = env('WORKER_ACKS', 'after-gate');
const gate = stdinGate();
let handled = 0;

const sc = stan.connect(env('WORKER_CLUSTER'), env('WORKER_CLIENT_ID'), { url: env('WORKER_NATS_URL'), reconnect: false });
const watcher = watcherFromEnv();

sc.on('connect', () => {
  const opts = sc
    .subscriptionOptions()
    .setDeliverAllAvailable()
    .setManualAckMode(manualAcks)
    .setMaxInFlight(Number(env('WORKER_MAX_INFLIGHT', '1000')))
    .setAckWait(Number(env('WORKER_ACK_WAIT_MS', '30000')));
  const durable = env('WORKER_DURABLE', '');
  if (durable !== '') opts.setDurableName(durable);
  const group = env('WORKER_GROUP', '');
  const sub = group === '' ? sc.subscribe(env('WORKER_SUBJECT'), opts) : sc.subscribe(env('WORKER_SUBJECT'), group, opts);
  watcher.handle(sub, async (msg: stan.Message) => {
    await gate.pass();
    if (manualAcks && acks !== 'never') msg.ack();
    handled += 1;
    say({ handled, sequence: msg.getSequence(), redelivered: msg.isRedelivered() });
  });
  sub.on('ready', () => say({ ready: true }));
});
sc.on('error', (err: Error) => say({ natsError: err.message }));

process.once('SIGTERM', () => {
  void watcher.close().then(() => {
    say({ closed: true });
    sc.close();
    process.exit(0);
  });
});
