/**
 * npm run bench: this exporter against prometheus-nats-exporter v0.16.0 and against the floor
 * (fetching every channelsz page with no processing), on one real nats-streaming-server filled
 * through the client protocol with 100, 1,000 and 10,000 channels of 5 subscriptions each.
 * Prints a table; the targets are checked as ratios from the same run.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findStanBinary, startStan } from '../harness/stan-server.js';
import { startMonitorProxy } from '../harness/monitor-proxy.js';
import { BACKLOG_PER_CHANNEL, startFillerProcess } from './bench-fill.js';
import { PAGE_CONCURRENCY } from '../src/sources/stan/source.js';
import { PageSweep, PROMETHEUS_HEADERS, type ScrapeResult, timedScrape } from './bench-http.js';
import { findPeer } from './bench-peer.js';
import { cpuSeconds, memory } from './bench-proc.js';
import { type ExporterProcess, startOurs, startPeer } from './bench-process.js';
import { labelsOfKey, type NssSeries, readNss } from '../harness/nss-series.js';

const SHAPES = listFromEnv('BENCH_SHAPES', [100, 1_000, 10_000]);
const SCRAPES = listFromEnv('BENCH_SCRAPES', [30])[0]!;
const WARMUP_SCRAPES = 2;
const PAGE_SIZE = 1024;
const CONCURRENT_SCRAPES = 20;
const MB = 1024 * 1024;

function listFromEnv(name: string, fallback: number[]): number[] {
  const text = process.env[name];
  if (!text) return fallback;
  const values = text.split(',').map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 1)) {
    console.error(`${name}="${text}": write positive whole numbers separated by commas, e.g. ${name}=${fallback.join(',')}`);
    process.exit(2);
  }
  return values;
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

interface Contender {
  label: string;
  /** compat: this exporter with --nss-compat, measured for what it adds and held to the peer, not to the targets. */
  kind: 'ours' | 'compat' | 'peer' | 'floor';
  pid?: number;
  scrape(keepText: boolean): Promise<ScrapeResult>;
}

interface Measured {
  label: string;
  kind: Contender['kind'];
  samplesMs: number[];
  cpuPerScrape?: number;
  /** CPU seconds the nats-streaming-server spent per scrape of this contender. */
  serverCpuPerScrape: number;
  rssMb?: number;
  peakRssMb?: number;
  series?: number;
  textBytes?: number;
  wireBytes: number;
  /** Channels the answer covers (for the floor: pages). */
  channels?: number;
  /** The nss_* series of the last answer (the peer, and this exporter with --nss-compat). */
  nss?: NssSeries;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const median = (m: Measured) =>
  quantile(
    [...m.samplesMs].sort((a, b) => a - b),
    0.5,
  );
const p95 = (m: Measured) =>
  quantile(
    [...m.samplesMs].sort((a, b) => a - b),
    0.95,
  );

function countSeries(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line !== '' && !line.startsWith('#')) n++;
  return n;
}

function countLines(text: string, prefix: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) n++;
  return n;
}

/** Scrapes every contender in turn, SCRAPES rounds after a warm-up, and measures each. */
async function measure(contenders: Contender[], serverPid: number): Promise<Measured[]> {
  for (let i = 0; i < WARMUP_SCRAPES; i++) for (const c of contenders) await c.scrape(false);
  const results: Measured[] = contenders.map((c) => ({ label: c.label, kind: c.kind, samplesMs: [], wireBytes: 0, serverCpuPerScrape: 0 }));
  const cpu = contenders.map(() => 0);
  for (let round = 0; round < SCRAPES; round++) {
    const last = round === SCRAPES - 1;
    // Each round starts with the next contender, so none always follows the same one: the server's
    // collector finishes one sweep's garbage during the next, and would slow and charge that one.
    for (let turn = 0; turn < contenders.length; turn++) {
      const i = (round + turn) % contenders.length;
      const c = contenders[i]!;
      // The floor runs in this process: its CPU is this process's own.
      const ownBefore = process.cpuUsage();
      const before = c.pid === undefined ? 0 : cpuSeconds(c.pid);
      const serverBefore = cpuSeconds(serverPid);
      const r = await c.scrape(last);
      results[i]!.serverCpuPerScrape += (cpuSeconds(serverPid) - serverBefore) / SCRAPES;
      if (c.pid !== undefined) cpu[i]! += cpuSeconds(c.pid) - before;
      else {
        const own = process.cpuUsage(ownBefore);
        cpu[i]! += (own.user + own.system) / 1e6;
      }
      const m = results[i]!;
      m.samplesMs.push(r.ms);
      m.wireBytes = r.wireBytes;
      if (r.text !== undefined && c.kind !== 'floor') {
        m.series = countSeries(r.text);
        m.textBytes = Buffer.byteLength(r.text);
        m.channels = countLines(r.text, c.kind === 'peer' ? 'nss_chan_msgs_total{' : 'stan_channel_messages{');
        if (c.kind === 'peer' || c.kind === 'compat') m.nss = readNss(r.text);
      }
    }
  }
  for (const [i, c] of contenders.entries()) {
    if (c.pid === undefined) {
      results[i]!.cpuPerScrape = cpu[i]! / SCRAPES;
      continue;
    }
    const mem = memory(c.pid);
    Object.assign(results[i]!, { cpuPerScrape: cpu[i]! / SCRAPES, rssMb: mem.rss / MB, peakRssMb: mem.peakRss / MB });
  }
  return results;
}

function exporterContender(p: ExporterProcess, kind: Contender['kind']): Contender {
  return { label: p.label, kind, pid: p.pid, scrape: (keepText) => timedScrape(p.metricsUrl, keepText) };
}

/** The same exporter asked without Accept-Encoding: what gzip costs or saves on loopback. */
function withoutGzip(p: ExporterProcess): Contender {
  const { 'accept-encoding': _gzip, ...headers } = PROMETHEUS_HEADERS;
  return { label: `${p.label}, no gzip asked`, kind: 'ours', pid: p.pid, scrape: (keepText) => timedScrape(p.metricsUrl, keepText, headers) };
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined ? '' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? '' : `${(a / b).toFixed(2)}x`);

interface ShapeResult {
  channels: number;
  fillSeconds: number;
  measured: Measured[];
  /** The --nats-url contender: publish times read over its client connection, and the scrapes it answered. */
  ageLookups: { lookups: number; scrapes: number };
}

/** Publish times the exporter at `metricsUrl` has read over --nats-url so far. */
async function ageLookupsOf(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^nats_queue_exporter_age_lookups_total\{server="bench"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

function printTable(shapes: ShapeResult[]): void {
  const header = [
    'channels',
    'exporter',
    'median ms',
    'p95 ms',
    'CPU s/scrape',
    'server CPU s/scrape',
    'RSS MB',
    'peak RSS MB',
    'series',
    'text MB',
    'wire MB',
    'channels in answer',
    'median / peer',
    'median / floor',
  ];
  const rows: string[][] = [];
  for (const s of shapes) {
    const peer = s.measured.find((m) => m.kind === 'peer');
    const floor = s.measured.find((m) => m.kind === 'floor');
    for (const m of s.measured) {
      const med = median(m);
      rows.push([
        fmt(s.channels),
        m.label,
        fmt(med),
        fmt(p95(m)),
        fmt(m.cpuPerScrape, 3),
        fmt(m.serverCpuPerScrape, 3),
        fmt(m.rssMb),
        fmt(m.peakRssMb),
        fmt(m.series),
        m.textBytes === undefined ? '' : fmt(m.textBytes / MB, 1),
        fmt(m.wireBytes / MB, 1),
        m.kind === 'floor' ? `${fmt(s.channels)} (${m.channels} page${m.channels === 1 ? '' : 's'})` : fmt(m.channels),
        m.kind === 'ours' || m.kind === 'compat' ? ratio(med, peer && median(peer)) : '',
        m.kind === 'ours' || m.kind === 'compat' ? ratio(med, floor && median(floor)) : '',
      ]);
    }
  }
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

async function main(): Promise<void> {
  const began = performance.now();
  if (!findStanBinary()) {
    log('nats-streaming-server is not installed; installing it with go install ...');
    const install = fileURLToPath(new URL('../../tools/install-nats-streaming-server.sh', import.meta.url));
    if (spawnSync('bash', [install], { stdio: 'inherit' }).status !== 0)
      throw new Error('could not install nats-streaming-server: install Go, or set NATS_STREAMING_SERVER');
  }
  const peer = findPeer();
  if ('missing' in peer) log(`the peer is left out: ${peer.missing}`);

  const server = await startStan({ clusterId: 'bench-cluster', store: 'MEMORY', args: ['-msu', '0'] });
  const filler = await startFillerProcess(server);
  const results: ShapeResult[] = [];
  let idleRssMb = 0;
  let sharedSweep = '';
  try {
    let filled = 0;
    for (const channels of SHAPES) {
      log(`filling to ${channels} channels x 5 subscriptions, ${BACKLOG_PER_CHANNEL} messages each`);
      const fillStarted = performance.now();
      await filler.fill(filled, channels);
      filled = channels;
      const fillSeconds = (performance.now() - fillStarted) / 1000;
      log(`filled in ${fillSeconds.toFixed(1)} s; measuring`);

      const exporters: ExporterProcess[] = [];
      const sweep = new PageSweep(server.monitorUrl, PAGE_SIZE, PAGE_CONCURRENCY);
      try {
        const withSubs = await startOurs('this, subscription metrics on', server.monitorUrl);
        exporters.push(withSubs);
        await new Promise((r) => setTimeout(r, 1000));
        idleRssMb = Math.max(idleRssMb, memory(withSubs.pid).rss / MB);
        exporters.push(await startOurs('this, --no-subscription-metrics', server.monitorUrl, ['--no-subscription-metrics']));
        const compat = await startOurs('this, --nss-compat (subscription metrics on)', server.monitorUrl, ['--nss-compat']);
        exporters.push(compat);
        const exactAges = await startOurs('this, --no-subscription-metrics, --nats-url (exact ages)', server.monitorUrl, [
          '--no-subscription-metrics',
          '--nats-url',
          `bench=${server.natsUrl}`,
        ]);
        exporters.push(exactAges);
        const peerProcess = 'path' in peer ? await startPeer('prometheus-nats-exporter v0.16.0', peer.path, server.monitorUrl) : undefined;
        if (peerProcess) exporters.push(peerProcess);
        const contenders: Contender[] = exporters.map((p) => exporterContender(p, p === peerProcess ? 'peer' : p === compat ? 'compat' : 'ours'));
        contenders.splice(1, 0, withoutGzip(withSubs));
        contenders.push({
          label: 'floor: channelsz pages, no processing',
          kind: 'floor',
          scrape: async () => {
            const r = await sweep.sweep();
            return { ms: r.ms, wireBytes: r.bytes };
          },
        });
        const measured = await measure(contenders, server.process.pid!);
        const floor = measured.find((m) => m.kind === 'floor')!;
        floor.channels = Math.ceil(channels / PAGE_SIZE);
        // One more scrape reads the counter; it is not counted among the measured ones.
        const ageLookups = { lookups: await ageLookupsOf(exactAges.metricsUrl), scrapes: WARMUP_SCRAPES + SCRAPES };
        results.push({ channels, fillSeconds, measured, ageLookups });
      } finally {
        await Promise.all(exporters.map((p) => p.stop()));
        await sweep.close();
      }
    }
    sharedSweep = await concurrentScrapes(server.monitorUrl, filled);
  } finally {
    await filler.close();
    await server.stop();
  }

  console.log(
    `\nnats-queue-exporter benchmark: one nats-streaming-server v0.25.6 (MEMORY store, -mc 0 -msu 0), node ${process.version}, ${SCRAPES} scrapes per exporter per shape after ${WARMUP_SCRAPES} warm-up, scrapes alternating (each round starting with the next contender), headers as Prometheus sends them (OpenMetrics preferred, gzip accepted).`,
  );
  console.log(
    `Each channel: durable queue group bench:workers (2 members, manual ack, max in flight 3, holding unacked messages), offline durable audit, a plain subscription, non-durable queue group mirror; ${BACKLOG_PER_CHANNEL} messages published.\n`,
  );
  printTable(results);
  console.log('');
  for (const s of results) console.log(`fill ${fmt(s.channels)} channels: ${s.fillSeconds.toFixed(1)} s (cumulative shapes: each adds to the previous)`);
  console.log(`idle RSS of this exporter (started, not scraped yet): ${idleRssMb.toFixed(0)} MB`);
  console.log(sharedSweep);
  for (const s of results) {
    const { lookups, scrapes } = s.ageLookups;
    console.log(
      `--nats-url at ${fmt(s.channels)} channels: ${fmt(lookups)} publish times read in ${scrapes} scrapes (${(lookups / scrapes).toFixed(1)} per scrape; 2 cursors per channel, --age-lookups 5)`,
    );
  }
  if ('missing' in peer) console.log(`peer: not measured: ${peer.missing}`);
  for (const s of results) {
    const p = s.measured.find((m) => m.kind === 'peer');
    if (p && p.channels !== undefined && p.channels < s.channels) {
      const ours = s.measured.find((m) => m.kind === 'ours')!;
      console.log(
        `at ${fmt(s.channels)} channels the peer answered ${fmt(p.channels)} channels (it reads one channelsz page), this exporter ${fmt(ours.channels)}: its ratio there is not like for like`,
      );
    }
  }
  console.log('');
  for (const s of results) printCompat(s);
  console.log('');
  printTargets(results, idleRssMb);
  console.log(`\nbench took ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

/** What --nss-compat adds to the same exporter with subscription metrics, and how its nss_* series compare with the peer's. */
function printCompat(s: ShapeResult): void {
  const base = s.measured.find((m) => m.kind === 'ours');
  const compat = s.measured.find((m) => m.kind === 'compat');
  if (!base || !compat) return;
  const plus = (a: number | undefined, b: number | undefined, digits = 0) =>
    a === undefined || b === undefined ? '?' : `${a >= b ? '+' : ''}${fmt(a - b, digits)}`;
  console.log(
    `--nss-compat at ${fmt(s.channels)} channels adds ${plus(median(compat), median(base))} ms to the median (${fmt(median(base))} -> ${fmt(median(compat))}), ` +
      `${plus(compat.cpuPerScrape, base.cpuPerScrape, 3)} CPU s per scrape, ${plus(compat.peakRssMb, base.peakRssMb)} MB peak RSS, ` +
      `${plus(compat.series, base.series)} series and ${plus(compat.textBytes && compat.textBytes / MB, base.textBytes && base.textBytes / MB, 1)} MB of text`,
  );
  const peer = s.measured.find((m) => m.kind === 'peer');
  if (!peer?.nss || !compat.nss) return;
  let same = 0;
  const differ: string[] = [];
  const missing: string[] = [];
  for (const [key, value] of peer.nss.series) {
    const ours = compat.nss.series.get(key);
    if (ours === undefined) missing.push(key);
    else if (ours === value) same++;
    else differ.push(`${key}: ${value} there, ${ours} here`);
  }
  const extra = [...compat.nss.series.keys()].filter((key) => !peer.nss!.series.has(key));
  const extraChannels = new Set(extra.map((key) => labelsOfKey(key)['channel'] ?? '(not a channel series)'));
  console.log(
    `nss_* against the peer at ${fmt(s.channels)} channels: ${fmt(same)} of its ${fmt(peer.nss.series.size)} series identical here, ${differ.length} with another value, ${missing.length} missing here; ` +
      `${fmt(extra.length)} more here, of ${fmt(extraChannels.size)} channels it did not list`,
  );
  for (const line of [...differ, ...missing].slice(0, 5)) console.log(`  ${line}`);
}

function printTargets(results: ShapeResult[], idleRssMb: number): void {
  const check = (ok: boolean | undefined, text: string) => console.log(`${ok === undefined ? 'n/a ' : ok ? 'met ' : 'MISS'} ${text}`);
  check(idleRssMb < 70, `idle RSS ${fmt(idleRssMb)} MB under 70 MB`);
  const at = (n: number) => results.find((s) => s.channels === n);
  const ours = (s: ShapeResult) => s.measured.filter((m) => m.kind === 'ours');
  const s1k = at(1_000);
  const peer1k = s1k?.measured.find((m) => m.kind === 'peer');
  for (const m of s1k ? ours(s1k) : []) {
    check(
      peer1k && median(m) <= median(peer1k),
      `1,000 channels, ${m.label}: median ${fmt(median(m))} ms <= peer's ${peer1k ? fmt(median(peer1k)) : '(not measured)'} ms`,
    );
  }
  const s10k = at(10_000);
  const floor10k = s10k?.measured.find((m) => m.kind === 'floor');
  for (const m of s10k ? ours(s10k) : []) {
    check(
      median(m) <= 1.5 * median(floor10k!),
      `10,000 channels, ${m.label}: median ${fmt(median(m))} ms within 1.5x of the floor's ${fmt(median(floor10k!))} ms (${ratio(median(m), median(floor10k!))})`,
    );
    check(median(m) < 2000, `10,000 channels, ${m.label}: median ${fmt(median(m))} ms under 2,000 ms`);
    check((m.peakRssMb ?? Infinity) < 150, `10,000 channels, ${m.label}: peak RSS ${fmt(m.peakRssMb)} MB under 150 MB`);
  }
  // Exporter and server share this machine's cores: their CPU time per scrape, spread over every
  // core, is a time no scrape can beat here, however well the two overlap. The server does the
  // same work for every contender, but Go's collector also takes idle cores while a scrape runs,
  // so a longer scrape is charged more: the least the server was charged stands for its work.
  const cores = availableParallelism();
  const serverCpu = s10k && Math.min(...s10k.measured.map((m) => m.serverCpuPerScrape));
  for (const m of s10k ? ours(s10k) : []) {
    if (m.cpuPerScrape === undefined || !floor10k || serverCpu === undefined) continue;
    const boundMs = ((m.cpuPerScrape + serverCpu) / cores) * 1000;
    console.log(
      `note 10,000 channels, ${m.label}: exporter ${fmt(m.cpuPerScrape, 3)} s + server ${fmt(serverCpu, 3)} s of CPU per scrape on ${cores} cores: no scrape can take under ${fmt(boundMs)} ms here, ${ratio(boundMs, median(floor10k))} the floor`,
    );
  }
}

/** 20 scrapes at once through a counting proxy: they should share one sweep of the server. */
async function concurrentScrapes(monitorUrl: string, channels: number): Promise<string> {
  const proxy = await startMonitorProxy(monitorUrl);
  const exporter = await startOurs('this, behind a counting proxy', proxy.url);
  try {
    proxy.counts.clear();
    await Promise.all(Array.from({ length: CONCURRENT_SCRAPES }, () => timedScrape(exporter.metricsUrl, false)));
    const count = (path: string) => proxy.counts.get(path) ?? 0;
    const pages = Math.ceil(channels / PAGE_SIZE);
    return `${CONCURRENT_SCRAPES} concurrent scrapes at ${fmt(channels)} channels made ${count('/streaming/serverz')} serverz, ${count('/streaming/storez')} storez and ${count('/streaming/channelsz')} channelsz requests (one sweep is 1, 1 and ${pages})`;
  } finally {
    await exporter.stop();
    await proxy.close();
  }
}

await main();
// The NATS client and undici keep sockets that would hold the process open a while longer.
process.exit(0);
