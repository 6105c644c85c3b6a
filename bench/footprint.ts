/**
 * npm run footprint: the memory of the exporter as a sidecar (`--subjects auto`), run as the sidecar
 * manifests run it (their Node flags and NODE_OPTIONS), against a real nats-streaming-server, beside
 * bare `node` run the same way as the floor. Prints figures and whether the targets are met: idle,
 * and after the scrapes once one scrape interval has passed with none, as between a real sidecar's
 * scrapes (the figure right after the last of the back-to-back scrapes is printed beside it).
 *   FOOTPRINT_SCRAPES (default 1000)   scrapes after the idle reading
 *   FOOTPRINT_NODE_FLAGS               other Node flags to measure (default: the sidecar's command line)
 *   FOOTPRINT_NODE_OPTIONS             another NODE_OPTIONS (default: the sidecar's)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseSamples, valueOf } from '../harness/exporter.js';
import { freePort } from '../harness/ports.js';
import { closeStan, connectStan, publishMany, ready } from '../harness/stan-client.js';
import { startStan } from '../harness/stan-server.js';
import { memory } from './bench-proc.js';
import { SIDECAR_NODE_FLAGS, SIDECAR_NODE_OPTIONS } from '../tools/k8s/resources.js';

const SCRAPES = Number(process.env['FOOTPRINT_SCRAPES'] ?? 1000);
const NODE_FLAGS = process.env['FOOTPRINT_NODE_FLAGS']?.split(' ').filter((o) => o !== '') ?? SIDECAR_NODE_FLAGS;
const NODE_ENV = { ...process.env, NODE_OPTIONS: process.env['FOOTPRINT_NODE_OPTIONS'] ?? SIDECAR_NODE_OPTIONS };
/** The targets for one sidecar on Node 24, in MB (docs/memory.md). */
const IDLE_TARGET_MB = 75;
const SCRAPED_TARGET_MB = 85;
/** The libraries of the specification whose cost is printed: each loaded alone into bare node. */
const LIBRARIES = ['express', 'pino', 'undici'] as const;
/** Channels on the server; the pod's worker consumes the first few, which auto mode reads. */
const CHANNELS = 200;
const CONSUMED = 5;
/** Time a process is left alone before its idle RSS is read. */
const SETTLE_MS = 3000;
/**
 * The quiet after the last scrape before RSS is read again: one scrape interval (15 s, a common
 * one; Prometheus' default is 1 min). The bench scrapes back to back, 1,000 in 10-20 s, which a
 * sidecar never sees; between real scrapes V8's memory reducer collects what they left (it starts
 * after about 8 s without allocation).
 */
const SCRAPE_INTERVAL_MS = 15_000;

const mb = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const server = await startStan({ clusterId: 'footprint' });
const sc = await connectStan(server.natsUrl, 'footprint', 'footprint-worker');
for (let i = 0; i < CHANNELS; i++) await publishMany(sc, `orders.${i}`, 3);
for (let i = 0; i < CONSUMED; i++) {
  // Members that never ack: every consumed queue has a backlog the sidecar must show.
  const sub = sc.subscribe(
    `orders.${i}`,
    'workers',
    sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable().setDurableName('d'),
  );
  sub.on('message', () => undefined);
  await ready(sub);
}

const floor = spawn(process.execPath, [...NODE_FLAGS, '-e', 'setInterval(() => {}, 60_000)'], { stdio: 'inherit', env: NODE_ENV });
// Bare node with one library loaded: an upper bound of what the library adds, since in the
// sidecar it shares Node's own modules (http, zlib, stream) with the rest.
const withLibrary = LIBRARIES.map((name) => ({
  name,
  child: spawn(process.execPath, [...NODE_FLAGS, '-e', `require(${JSON.stringify(name)}); setInterval(() => {}, 60_000)`], {
    stdio: 'inherit',
    env: NODE_ENV,
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
  }),
}));
const port = await freePort();
const probePort = await freePort();
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const exporter = spawn(
  process.execPath,
  [
    ...NODE_FLAGS,
    cli,
    '--server',
    `prod=${server.monitorUrl}`,
    '--subjects',
    'auto',
    '--listen',
    `127.0.0.1:${port}`,
    '--probe-listen',
    `127.0.0.1:${probePort}`,
    '--log-level',
    'warn',
  ],
  { stdio: 'inherit', env: NODE_ENV },
);
const base = `http://127.0.0.1:${port}`;
for (
  let i = 0;
  i < 200 &&
  !(await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
)
  await sleep(25);
await sleep(SETTLE_MS);
const floorIdle = memory(floor.pid!).rss;
const idle = memory(exporter.pid!).rss;
const libraryRss = withLibrary.map(({ name, child }) => ({ name, rss: memory(child.pid!).rss }));
await Promise.all(withLibrary.map(({ child }) => stop(child)));

const report = JSON.stringify({
  client_id: 'footprint-worker',
  subscriptions: Array.from({ length: CONSUMED }, (_, i) => ({ server: 'prod', subject: `orders.${i}`, group: 'workers', durable: 'd', msgs: 2, bytes: 64 })),
});
async function postReport(): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${probePort}/v1/pending`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: report });
  if (res.status !== 200) throw new Error(`probe report refused: ${res.status} ${await res.text()}`);
}

let wrong = 0;
let lastReport = -Infinity;
let afterFirstScrape = 0;
const started = performance.now();
for (let i = 1; i <= SCRAPES; i++) {
  // undici loads at the first scrape (until then the sidecar has only taken reports).
  if (i === 2) afterFirstScrape = memory(exporter.pid!).rss;
  // As a worker's probe does, every few seconds, well inside --probe-ttl.
  if (performance.now() - lastReport > 5000) {
    await postReport();
    lastReport = performance.now();
  }
  const samples = parseSamples(await (await fetch(`${base}/metrics`, { headers: { 'accept-encoding': 'gzip' } })).text());
  const pending = valueOf(samples, 'queue_msgs_pending', { subject: `orders.${i % CONSUMED}`, group: 'workers', durable: 'd' });
  const unconsumed = valueOf(samples, 'stan_channel_messages', { subject: `orders.${CONSUMED}` });
  if (pending !== 3 || unconsumed !== undefined) {
    wrong++;
    if (wrong <= 5) console.error(`wrong answer at scrape ${i}: pending ${pending} (want 3), a channel nobody here consumes: ${unconsumed} (want none)`);
  }
}
const elapsed = (performance.now() - started) / 1000;
const backToBack = memory(exporter.pid!).rss;
await sleep(SCRAPE_INTERVAL_MS);
const scraped = memory(exporter.pid!);
const floorAfter = memory(floor.pid!).rss;

console.log(
  `sidecar footprint (--subjects auto, ${CONSUMED} of ${CHANNELS} channels consumed by this pod), Node ${process.version}, node ${NODE_FLAGS.join(' ')} with NODE_OPTIONS=${NODE_ENV.NODE_OPTIONS}`,
);
console.log('                                   RSS MB  floor MB (bare node, same options)');
console.log(`idle (started, not scraped yet)    ${mb(idle).padStart(6)}  ${mb(floorIdle).padStart(8)}`);
console.log(`${`after ${SCRAPES} scrapes, at once`.padEnd(35)}${mb(backToBack).padStart(6)}`);
console.log(`${`after ${SCRAPES} scrapes, ${SCRAPE_INTERVAL_MS / 1000} s later`.padEnd(35)}${mb(scraped.rss).padStart(6)}  ${mb(floorAfter).padStart(8)}`);
console.log(`peak                               ${mb(scraped.peakRss).padStart(6)}`);
console.log(`${SCRAPES} scrapes in ${elapsed.toFixed(1)} s (${((elapsed / SCRAPES) * 1000).toFixed(1)} ms each), wrong answers: ${wrong}`);
console.log("what each library adds, loaded alone into bare node (an upper bound: in the sidecar it shares Node's modules):");
for (const { name, rss } of libraryRss) console.log(`  ${name.padEnd(8)} ${mb(rss - floorIdle).padStart(6)} MB`);
console.log(
  `  undici in the sidecar: RSS after the first scrape, which loads it, less idle: ${mb(afterFirstScrape - idle)} MB (the scrape's own garbage included)`,
);
const verdict = (ok: boolean): string => (ok ? 'met ' : 'MISS');
console.log(`${verdict(idle <= IDLE_TARGET_MB * 1024 * 1024)} idle RSS ${mb(idle)} MB <= ${IDLE_TARGET_MB} MB`);
console.log(
  `${verdict(scraped.rss <= SCRAPED_TARGET_MB * 1024 * 1024)} RSS after ${SCRAPES} scrapes and one scrape interval ${mb(scraped.rss)} MB <= ${SCRAPED_TARGET_MB} MB (at once: ${mb(backToBack)} MB)`,
);

await Promise.all([stop(exporter), stop(floor)]);
await closeStan(sc);
await server.stop();
process.exit(wrong === 0 ? 0 : 1);
