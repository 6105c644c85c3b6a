/**
 * npm run soak: the exporter (a child process, so its memory is its own) against a real
 * nats-streaming-server whose channels churn, then under 50 concurrent scrapers. Prints figures;
 * exits 1 when any answer is wrong.
 *   SOAK_SCRAPES (default 1000)  sequential scrapes while channels and subscriptions churn
 *   SOAK_SECONDS (default 60)    how long the 50 concurrent scrapers run
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseSamples, valueOf } from '../harness/exporter.js';
import { freePort } from '../harness/ports.js';
import { closeStan, connectStan, publish, publishMany, ready } from '../harness/stan-client.js';
import { startStan } from '../harness/stan-server.js';
import { memory } from './bench-proc.js';

const SCRAPES = Number(process.env['SOAK_SCRAPES'] ?? 1000);
const SECONDS = Number(process.env['SOAK_SECONDS'] ?? 60);
const CONCURRENCY = 50;
const STEADY_CHANNELS = 20;
const STEADY_MESSAGES = 7;

function rssMb(pid: number): number {
  return memory(pid).rss / (1024 * 1024);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// Channels without subscriptions or new messages for 1 s are deleted: churn comes from the server itself.
const server = await startStan({ clusterId: 'soak', args: ['-mi', '1s'] });
const sc = await connectStan(server.natsUrl, 'soak', 'soak-client');
for (let i = 0; i < STEADY_CHANNELS; i++) {
  await publishMany(sc, `steady.${i}`, STEADY_MESSAGES);
  // A subscription keeps a steady channel from being deleted for inactivity.
  const keeper = sc.subscribe(`steady.${i}`);
  keeper.on('message', () => undefined);
  await ready(keeper);
}
const worker = sc.subscribe(
  'steady.0',
  'workers',
  sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(3).setDeliverAllAvailable().setDurableName('d'),
);
worker.on('message', () => undefined);
await ready(worker);

const port = await freePort();
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const exporter = spawn(
  process.execPath,
  ['--max-semi-space-size=4', cli, '--server', `soak=${server.monitorUrl}`, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'],
  { stdio: 'inherit' },
);
const url = `http://127.0.0.1:${port}/metrics`;
for (let i = 0; i < 100; i++) {
  if (
    await fetch(url).then(
      () => true,
      () => false,
    )
  )
    break;
  await new Promise((r) => setTimeout(r, 50));
}

let wrong = 0;
function check(text: string): void {
  const samples = parseSamples(text);
  const problems: string[] = [];
  if (valueOf(samples, 'stan_up', { server: 'soak' }) !== 1) problems.push('stan_up is not 1');
  for (let i = 0; i < STEADY_CHANNELS; i++) {
    const v = valueOf(samples, 'stan_channel_messages', { subject: `steady.${i}` });
    if (v !== STEADY_MESSAGES) problems.push(`steady.${i} has ${v} messages`);
  }
  const pending = valueOf(samples, 'queue_msgs_pending', { subject: 'steady.0', group: 'workers', durable: 'd' });
  if (pending !== STEADY_MESSAGES) problems.push(`queue_msgs_pending of steady.0 is ${pending}`);
  if (problems.length > 0) {
    wrong++;
    if (wrong <= 5) console.error(`wrong answer: ${problems.join('; ')}`);
  }
}

console.log(`exporter pid ${exporter.pid}, idle RSS ${rssMb(exporter.pid!).toFixed(1)} MB`);
console.log(`\n${SCRAPES} sequential scrapes while channels churn (a new channel and a short-lived subscription before each scrape):`);
const rssAt: Array<[number, number]> = [];
let churn = 0;
for (let i = 1; i <= SCRAPES; i++) {
  const name = `churn.${churn++}`;
  await publish(sc, name, 'x');
  const sub = sc.subscribe(name, `g${i % 7}`);
  await ready(sub);
  check(await (await fetch(url)).text());
  sub.unsubscribe();
  if (i % (SCRAPES / 10) === 0) rssAt.push([i, rssMb(exporter.pid!)]);
}
console.log('scrapes  RSS MB');
for (const [i, rss] of rssAt) console.log(`${String(i).padStart(7)}  ${rss.toFixed(1)}`);
const [, rssEarly] = rssAt[1] ?? rssAt[0]!;
const [, rssLate] = rssAt[rssAt.length - 1]!;
console.log(`RSS from scrape ${rssAt[1]?.[0] ?? rssAt[0]![0]} to ${SCRAPES}: ${rssLate - rssEarly >= 0 ? '+' : ''}${(rssLate - rssEarly).toFixed(1)} MB`);

console.log(`\n${CONCURRENCY} concurrent scrapers for ${SECONDS} s:`);
const latencies: number[] = [];
let failed = 0;
const deadline = performance.now() + SECONDS * 1000;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const res = await fetch(url);
        const text = await res.text();
        latencies.push(performance.now() - started);
        if (res.status !== 200) failed++;
        else check(text);
      } catch {
        failed++;
      }
    }
  }),
);
latencies.sort((a, b) => a - b);
console.log(
  `answers ${latencies.length}, failed requests ${failed}, latency ms p50 ${percentile(latencies, 50).toFixed(1)} p99 ${percentile(latencies, 99).toFixed(1)} max ${latencies[latencies.length - 1]!.toFixed(1)}`,
);
console.log(`RSS after the concurrent run: ${rssMb(exporter.pid!).toFixed(1)} MB`);
console.log(`\nwrong answers: ${wrong}`);

exporter.kill('SIGTERM');
await new Promise((r) => exporter.once('exit', r));
await closeStan(sc);
await server.stop();
process.exit(wrong === 0 && failed === 0 ? 0 : 1);
