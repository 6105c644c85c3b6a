/**
 * npm run memory: the exporter's peak resident memory (VmHWM) against the targets of a sidecar's
 * memory limit, each exporter its own process started as its manifests start it (a sidecar with the sidecar's node flags):
 *   1. one healthy server with 100 channels beside an endpoint that sends bodies without end
 *      (serverz, storez, then channelsz), five scrapes each: peak at most 100 MB;
 *   2. once that endpoint answers properly again, resident memory back within 10 MB of before;
 *   3. a sidecar under the probe report flood of test/integration/probe-endpoint.test.ts (1,000 reports of
 *      ~100 kB, 25 at a time, /metrics scraped throughout), and another under 50 reports of 1 MiB
 *      at once, three times: peak at most 100 MB each;
 *   4. a sidecar (--subjects auto) reading the 20 channels its probes
 *      report, 30 scrapes: the steady figure for the memory budget.
 * Prints the figures; exits 1 when a target is missed.
 */
import { freePort } from '../harness/ports.js';
import { startMisbehavingPeer } from '../harness/misbehaving-peer.js';
import { closeStan, connectStan, publishMany, ready } from '../harness/stan-client.js';
import { startStan } from '../harness/stan-server.js';
import { memory } from './bench-proc.js';
import { type ExporterProcess, startOurs } from './bench-process.js';
import { SIDECAR_NODE_FLAGS, SIDECAR_NODE_OPTIONS } from '../tools/k8s/resources.js';

const MB = 1024 * 1024;
const PEAK_TARGET_MB = 100;
const BACK_WITHIN_MB = 10;
/**
 * Quiet before each of the two readings compared against BACK_WITHIN_MB, as between real
 * scrapes: V8's memory reducer then collects what the last scrapes left (it starts after about
 * 8 s without allocation), so the two readings differ by what is kept, not by where the garbage
 * collector happened to be (read at once, the same code gave 2-13 MB).
 */
const QUIET_MS = 12_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const CHANNELS = 100;
/** A sidecar runs node as the sidecar manifests run it: their command line and their NODE_OPTIONS. */
const SIDECAR_NODE = [...SIDECAR_NODE_FLAGS, ...SIDECAR_NODE_OPTIONS.split(' ')];

const missed = new Set<string>();
function check(what: string, value: number, most: number): void {
  const ok = value <= most;
  console.log(`${what}: ${value.toFixed(1)} MB (target at most ${most} MB) ${ok ? 'ok' : 'MISSED'}`);
  if (!ok) missed.add(what.trim());
}

function mb(bytes: number): number {
  return bytes / MB;
}

async function scrape(exporter: ExporterProcess): Promise<string> {
  const res = await fetch(exporter.metricsUrl, { headers: { 'accept-encoding': 'gzip' } });
  return res.text();
}

/** The exporter's own view of where its memory is: V8's heap and the memory outside it (buffers). */
async function inside(exporter: ExporterProcess): Promise<string> {
  const text = await scrape(exporter);
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return `heap ${mb(value('nodejs_heap_size_total_bytes')).toFixed(1)} MB, external ${mb(value('nodejs_external_memory_bytes')).toFixed(1)} MB`;
}

function upOf(text: string, server: string): string | undefined {
  return new RegExp(`^stan_up\\{server="${server}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];
}

async function post(probeUrl: string, body: object): Promise<number> {
  const res = await fetch(`${probeUrl}/v1/pending`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/**
 * A sidecar as the manifests run it (--subjects auto, --probe-max-series
 * 500 as in test/integration/probe-endpoint.test.ts) while `send` posts reports and /metrics is scraped
 * throughout; checks its peak.
 */
async function flooded(label: string, send: (probeUrl: string) => Promise<Map<number, number>>): Promise<void> {
  const probePort = await freePort();
  const sidecar = await startOurs(
    label,
    server.monitorUrl,
    ['--probe-listen', `127.0.0.1:${probePort}`, '--probe-max-series', '500', '--subjects', 'auto'],
    'server',
    SIDECAR_NODE,
  );
  for (let i = 0; i < 3; i++) await scrape(sidecar);
  console.log(`   before: RSS ${mb(memory(sidecar.pid).rss).toFixed(1)} MB`);
  let sending = true;
  let scrapes = 0;
  const scraper = (async () => {
    while (sending) {
      await scrape(sidecar);
      scrapes++;
    }
  })();
  const statuses = await send(`http://127.0.0.1:${probePort}`);
  sending = false;
  await scraper;
  console.log(
    `   answers ${JSON.stringify(Object.fromEntries(statuses))}, ${scrapes} scrapes meanwhile; RSS after ${mb(memory(sidecar.pid).rss).toFixed(1)} MB; ${await inside(sidecar)}`,
  );
  check(`   peak RSS (VmHWM), ${label}`, mb(memory(sidecar.pid).peakRss), PEAK_TARGET_MB);
  await sidecar.stop();
}

const server = await startStan({ clusterId: 'memory' });
const sc = await connectStan(server.natsUrl, 'memory', 'memory-worker');
// Each channel: a queue group of two members holding unacked messages, ten messages published.
for (let i = 0; i < CHANNELS; i++) {
  for (let member = 0; member < 2; member++) {
    const sub = sc.subscribe(`memory.${i}`, 'workers', sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(3).setDeliverAllAvailable());
    sub.on('message', () => undefined);
    await ready(sub);
  }
  await publishMany(sc, `memory.${i}`, 10);
}
const peer = await startMisbehavingPeer(server.monitorUrl);

try {
  console.log(`1. a healthy server with ${CHANNELS} channels (${2 * CHANNELS} subscriptions) beside an endpoint that sends bodies without end`);
  const central = await startOurs('central', server.monitorUrl, ['--server', `bad=${peer.url}`, '--timeout', '5']);
  for (let i = 0; i < 20; i++) await scrape(central);
  await sleep(QUIET_MS);
  const before = memory(central.pid);
  console.log(
    `   after 20 scrapes with both answering and ${QUIET_MS / 1000} s without: RSS ${mb(before.rss).toFixed(1)} MB, peak ${mb(before.peakRss).toFixed(1)} MB; ${await inside(central)}`,
  );
  for (const path of ['/streaming/serverz', '/streaming/storez', '/streaming/channelsz']) {
    await peer.misbehave(path, { kind: 'endless' });
    for (let i = 0; i < 5; i++) {
      const text = await scrape(central);
      if (upOf(text, 'bad') !== '0' || upOf(text, 'bench') !== '1') missed.add(`stan_up while ${path} never ends`);
    }
    console.log(
      `   5 scrapes while ${path} never ends: RSS ${mb(memory(central.pid).rss).toFixed(1)} MB, peak ${mb(memory(central.pid).peakRss).toFixed(1)} MB; ${await inside(central)}`,
    );
  }
  check('   peak RSS (VmHWM) with the endless endpoint', mb(memory(central.pid).peakRss), PEAK_TARGET_MB);

  console.log('2. the endpoint answers properly again');
  await peer.misbehave(undefined);
  for (let i = 0; i < 20; i++) await scrape(central);
  await sleep(QUIET_MS);
  const after = memory(central.pid);
  console.log(
    `   after 20 more scrapes and ${QUIET_MS / 1000} s without: RSS ${mb(after.rss).toFixed(1)} MB (before the bad answers: ${mb(before.rss).toFixed(1)} MB); ${await inside(central)}`,
  );
  check('   RSS above where it was before', mb(after.rss - before.rss), BACK_WITHIN_MB);
  await central.stop();

  const long = 'x'.repeat(1000);
  const report = (id: string) => ({
    client_id: id,
    subscriptions: Array.from({ length: 50 }, (_, k) => ({ server: 'bench', subject: `flood.${long}.${k}`, group: long, durable: long, msgs: 1, bytes: 100 })),
  });

  console.log('3. the probe report flood: 1,000 reports of ~100 kB from 1,000 client ids, 25 at a time, /metrics scraped throughout');
  await flooded('flood', async (probeUrl) => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i += 25) {
      const answers = await Promise.all(Array.from({ length: 25 }, (_, k) => post(probeUrl, report(`flood-${i + k}`))));
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    return statuses;
  });

  console.log('   the same sidecar afresh, then 50 workers at once, each with a report of 1 MiB (the most one may send), three times');
  await flooded('1 MiB reports', async (probeUrl) => {
    for (let i = 0; i < 10; i++) await post(probeUrl, report(`held-${i}`));
    const padded = JSON.stringify(report('big')).padEnd(1024 * 1024, ' ');
    const statuses = new Map<number, number>();
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${probeUrl}/v1/pending`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded }).then(
            async (res) => (await res.arrayBuffer(), res.status),
            () => 0,
          ),
        ),
      );
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    return statuses;
  });

  console.log('4. a sidecar: --subjects auto, probes reporting 20 channels, 30 scrapes');
  const autoPort = await freePort();
  const autoUrl = `http://127.0.0.1:${autoPort}`;
  const auto = await startOurs('sidecar', server.monitorUrl, ['--probe-listen', `127.0.0.1:${autoPort}`, '--subjects', 'auto'], 'server', SIDECAR_NODE);
  const reported = Array.from({ length: 20 }, (_, i) => ({
    server: 'bench',
    subject: `memory.${i}`,
    group: 'workers',
    durable: '',
    msgs: 3,
    bytes: 300,
    max_inflight: 3,
  }));
  if ((await post(autoUrl, { client_id: 'sidecar-worker', subscriptions: reported })) !== 200) missed.add("the sidecar's probe report");
  for (let i = 0; i < 30; i++) await scrape(auto);
  const steady = memory(auto.pid);
  console.log(`   RSS ${mb(steady.rss).toFixed(1)} MB, peak (VmHWM) ${mb(steady.peakRss).toFixed(1)} MB`);
  await auto.stop();
} finally {
  await peer.close();
  await closeStan(sc);
  await server.stop();
}

console.log(missed.size === 0 ? '\nall memory targets met' : `\nmissed: ${[...missed].join('; ')}`);
process.exit(missed.size === 0 ? 0 : 1);
