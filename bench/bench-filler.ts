/**
 * The benchmark's NATS Streaming clients in a process of their own, so that the 50,000
 * subscriptions they hold do not slow the process that times the scrapes. Driven over IPC by
 * bench.ts: {fill: [from, to]} answers {filled: true} or {error}; {churn: [channel indices]} answers
 * {churnMs} or {error}; {close: true} ends it.
 */
import { Filler } from './bench-fill.js';

const [natsUrl, clusterId] = process.argv.slice(2);
if (!natsUrl || !clusterId || !process.send) throw new Error('usage: fork bench-filler.js NATS_URL CLUSTER_ID with an IPC channel');
const send = (message: unknown) => process.send!(message);
const filler = await Filler.connect({ natsUrl, clusterId });

process.on('message', (message: { fill?: [number, number]; churn?: number[]; close?: boolean }) => {
  if (message.fill) {
    const [from, to] = message.fill;
    filler.fill(from, to).then(
      () => send({ filled: true }),
      (err: Error) => send({ error: err.message }),
    );
  } else if (message.churn) {
    filler.churn(message.churn).then(
      (churnMs) => send({ churnMs }),
      (err: Error) => send({ error: err.message }),
    );
  } else if (message.close) {
    void filler.close().finally(() => process.exit(0));
  }
});
send({ ready: true });
