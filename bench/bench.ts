/**
 * npm run bench: this exporter against prometheus-nats-exporter v0.16.0 and against the floor
 * (fetching every channelsz page with no processing), on one real nats-streaming-server filled
 * through the client protocol with 100, 1,000 and 10,000 channels of 5 subscriptions each.
 * Prints a table, then each target as met or MISSED from ratios of the same run.
 *
 * BENCH_SHAPES: channel counts (default 100,1000,10000). BENCH_SCRAPES: scrapes per contender and
 * churn mode (default 30). BENCH_CHURN: fractions of the channels that change between two scrapes
 * (default 0,0.01), measured at the largest shape and at the shapes BENCH_CHURN_SHAPES names; the
 * other shapes are measured without churn.
 *
 * BENCH_BASELINE: a directory holding an older build of this exporter (its dist/src/cli.js), run
 * beside this one with every configuration and labelled "before, ...". To make one:
 *   git worktree add /tmp/before <commit> && cd /tmp/before && npm ci && npm run build
 * then BENCH_BASELINE=/tmp/before npm run bench (and git worktree remove /tmp/before after).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findStanBinary, type StanServer, startStan } from '../harness/stan-server.js';
import { startMonitorProxy } from '../harness/monitor-proxy.js';
import { BACKLOG_PER_CHANNEL, type FillerProcess, startFillerProcess } from './bench-fill.js';
import { PAGE_CONCURRENCY } from '../src/sources/stan/source.js';
import { PageSweep, PROMETHEUS_HEADERS, resent, roundOrder, type ScrapeResult, timedScrape } from './bench-http.js';
import { findPeer } from './bench-peer.js';
import { cpuSeconds, memory } from './bench-proc.js';
import { CENTRAL_NODE_FLAGS, type ExporterProcess, startOurs, startPeer } from './bench-process.js';
import { scrapeCacheBytes, type SeriesBudget, seriesBudget } from './bench-series.js';
import { labelsOfKey, type NssSeries, readNss } from '../harness/nss-series.js';

/** The flag that gives the detailed set of families (the defaults before the series budget). */
const DETAILED_FLAG = '--detailed-metrics';

const SHAPES = listFromEnv('BENCH_SHAPES', [100, 1_000, 10_000]);
const SCRAPES = listFromEnv('BENCH_SCRAPES', [30])[0]!;
const CHURN = fractionsFromEnv('BENCH_CHURN', [0, 0.01]);
const CHURN_SHAPES = new Set([Math.max(...SHAPES), ...(process.env['BENCH_CHURN_SHAPES'] ? listFromEnv('BENCH_CHURN_SHAPES', []) : [])]);
const BASELINE = process.env['BENCH_BASELINE'];
const WARMUP_SCRAPES = 2;
const PAGE_SIZE = 1024;
const CONCURRENT_SCRAPES = 20;
const MB = 1024 * 1024;

/** The targets: the shapes and churn modes they are held at, and their bounds. */
const TARGET = {
  largeShape: 10_000,
  peerShape: 1_000,
  churns: [0, 0.01],
  floorRatio: 1.5,
  cpuSeconds: 0.15,
  peakRssMb: 150,
  medianMs: 2_000,
  idleRssMb: 70,
  seriesPerQueue: 12,
  seriesPerChannel: 4,
};

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

function fractionsFromEnv(name: string, fallback: number[]): number[] {
  const text = process.env[name];
  if (!text) return fallback;
  const values = text.split(',').map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) {
    console.error(`${name}="${text}": write fractions from 0 to 1 separated by commas, e.g. ${name}=${fallback.join(',')}`);
    process.exit(2);
  }
  return values;
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** How this exporter is run: its flags, and the old build's flags for the same row. */
interface Configuration {
  /** The row's label after "this, " or "before, ". */
  label: string;
  args(server: StanServer): string[];
  /** Asked without Accept-Encoding (its own process, so that every process sees the same churn between its scrapes). */
  noGzip?: boolean;
  /** The old build's flags where they differ from this build's, and the label's note saying so. */
  before?: { args: string[]; note: string };
  role?: 'default' | 'compat' | 'exact ages';
}

const OLD_DEFAULT = 'no flags; the old default was the detailed set';
const CONFIGURATIONS: readonly Configuration[] = [
  { label: 'default', args: () => [], before: { args: [], note: OLD_DEFAULT }, role: 'default' },
  { label: 'default, no gzip asked', args: () => [], noGzip: true, before: { args: [], note: OLD_DEFAULT } },
  {
    label: DETAILED_FLAG,
    args: () => [DETAILED_FLAG],
    before: { args: [], note: 'no flags; the old build has no such flag, its default was the detailed set' },
  },
  { label: '--nss-compat', args: () => ['--nss-compat'], role: 'compat' },
  { label: '--nats-url (exact ages)', args: (server) => ['--nats-url', `bench=${server.natsUrl}`], role: 'exact ages' },
];

interface Contender {
  label: string;
  /** this: this build; before: the build BENCH_BASELINE names. */
  kind: 'this' | 'before' | 'peer' | 'floor';
  configuration?: Configuration;
  process?: ExporterProcess;
  scrape(keepText: boolean): Promise<ScrapeResult>;
}

interface Measured {
  contender: Contender;
  samplesMs: number[];
  /** Exporter CPU seconds (utime + stime) of each measured scrape; the floor's are this process's own. */
  cpuSamples: number[];
  /** CPU seconds the nats-streaming-server spent per scrape of this contender. */
  serverCpuPerScrape: number;
  rssMb?: number;
  peakRssMb?: number;
  budget?: SeriesBudget;
  textBytes?: number;
  wireBytes: number;
  /** Channels the answer covers (for the floor: pages). */
  channels?: number;
  /** nats_queue_exporter_scrape_cache_bytes after the scrapes; null when the exporter has no such gauge. */
  cacheBytes?: number | null;
  /** nats_queue_exporter_age_lookups_total after the scrapes (the --nats-url row). */
  ageLookups?: number;
  /** The nss_* series of the last answer (the peer, and this exporter with --nss-compat). */
  nss?: NssSeries;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const median = (m: Measured) => quantile(m.samplesMs, 0.5);
const p95 = (m: Measured) => quantile(m.samplesMs, 0.95);
const cpuMedian = (m: Measured) => quantile(m.cpuSamples, 0.5);
const cpuMean = (m: Measured) => m.cpuSamples.reduce((a, b) => a + b, 0) / m.cpuSamples.length;

/**
 * Scrapes every contender in turn, WARMUP_SCRAPES + SCRAPES rounds, the first WARMUP_SCRAPES not
 * measured. Each round starts with `churn` (when given), outside every timed scrape and every CPU
 * window, so that each exporter sees one churn between two of its scrapes.
 */
async function measure(contenders: Contender[], serverPid: number, churn?: () => Promise<number>): Promise<{ measured: Measured[]; churnMs: number[] }> {
  const results: Measured[] = contenders.map((contender) => ({ contender, samplesMs: [], cpuSamples: [], wireBytes: 0, serverCpuPerScrape: 0 }));
  const churnMs: number[] = [];
  for (let round = 0; round < WARMUP_SCRAPES + SCRAPES; round++) {
    if (churn) churnMs.push(await churn());
    const measured = round >= WARMUP_SCRAPES;
    const last = round === WARMUP_SCRAPES + SCRAPES - 1;
    // A new order each round (roundOrder), so that no contender always follows the same one.
    for (const i of roundOrder(contenders.length, round)) {
      const c = contenders[i]!;
      const pid = c.process?.pid;
      // The floor runs in this process: its CPU is this process's own.
      const ownBefore = process.cpuUsage();
      const before = pid === undefined ? 0 : cpuSeconds(pid);
      const serverBefore = cpuSeconds(serverPid);
      const r = await c.scrape(last);
      const serverCpu = cpuSeconds(serverPid) - serverBefore;
      let cpu: number;
      if (pid !== undefined) cpu = cpuSeconds(pid) - before;
      else {
        const own = process.cpuUsage(ownBefore);
        cpu = (own.user + own.system) / 1e6;
      }
      if (!measured) continue;
      const m = results[i]!;
      m.samplesMs.push(r.ms);
      m.cpuSamples.push(cpu);
      m.serverCpuPerScrape += serverCpu / SCRAPES;
      m.wireBytes = r.wireBytes;
      if (r.text !== undefined && c.kind !== 'floor') {
        m.budget = seriesBudget(r.text);
        m.textBytes = Buffer.byteLength(r.text);
        m.channels = m.budget.channels;
        if (c.kind === 'peer' || c.configuration?.role === 'compat') m.nss = readNss(r.text);
      }
    }
  }
  for (const m of results) {
    const p = m.contender.process;
    if (!p) continue;
    const mem = memory(p.pid);
    m.rssMb = mem.rss / MB;
    m.peakRssMb = mem.peakRss / MB;
    if (m.contender.kind === 'peer') continue;
    // After the scrapes, one more (not measured) reads the exporter's own gauges.
    const text = await (await fetch(p.metricsUrl)).text();
    m.cacheBytes = scrapeCacheBytes(text) ?? null;
    if (m.contender.configuration?.role === 'exact ages') {
      m.ageLookups = Number(/^nats_queue_exporter_age_lookups_total\{server="bench"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    }
  }
  return { measured: results, churnMs };
}

function exporterContender(p: ExporterProcess, kind: Contender['kind'], configuration?: Configuration): Contender {
  if (configuration?.noGzip) {
    const { 'accept-encoding': _gzip, ...headers } = PROMETHEUS_HEADERS;
    return { label: p.label, kind, configuration, process: p, scrape: (keepText) => timedScrape(p.metricsUrl, keepText, headers) };
  }
  return { label: p.label, kind, configuration, process: p, scrape: (keepText) => timedScrape(p.metricsUrl, keepText) };
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? '' : `${(a / b).toFixed(2)}x`);
const percent = (fraction: number) => `${+(fraction * 100).toFixed(2)} %`;
const perObject = (series: number | undefined, objects: number | undefined) => (series === undefined || !objects ? '' : (series / objects).toFixed(1));
const cacheMb = (m: Measured) => (m.cacheBytes === undefined ? '' : m.cacheBytes === null ? 'n/a' : fmt(m.cacheBytes / MB, 1));

/** One churn mode of one shape. */
interface ModeResult {
  churn: number;
  /** Channels changed before each round. */
  churnedChannels: number;
  /** How long each round's churn took (publish, acks, delivery, the moment after). */
  churnMs: number[];
  measured: Measured[];
}

interface ShapeResult {
  channels: number;
  fillSeconds: number;
  modes: ModeResult[];
}

const churnLabel = (mode: ModeResult) => (mode.churn === 0 ? '0 %' : `${percent(mode.churn)} (${fmt(mode.churnedChannels)})`);

function printTable(shapes: ShapeResult[]): void {
  const header = [
    'channels',
    'churn',
    'exporter',
    'median ms',
    'p95 ms',
    'CPU s/scrape median',
    'CPU s/scrape mean',
    'server CPU s/scrape',
    'RSS MB',
    'peak RSS MB',
    'series',
    'series/channel',
    'series/queue',
    'subscription series/channel',
    'cache MB',
    'text MB',
    'wire MB',
    'channels in answer',
    'median / peer',
    'median / floor',
  ];
  const rows: string[][] = [];
  for (const s of shapes) {
    for (const mode of s.modes) {
      const peer = mode.measured.find((m) => m.contender.kind === 'peer');
      const floor = mode.measured.find((m) => m.contender.kind === 'floor');
      for (const m of mode.measured) {
        const med = median(m);
        const kind = m.contender.kind;
        const b = m.budget;
        rows.push([
          fmt(s.channels),
          churnLabel(mode),
          m.contender.label,
          fmt(med),
          fmt(p95(m)),
          fmt(cpuMedian(m), 3),
          fmt(cpuMean(m), 3),
          fmt(m.serverCpuPerScrape, 3),
          fmt(m.rssMb),
          fmt(m.peakRssMb),
          fmt(b?.allSeries),
          perObject(b?.channelSeries, b?.channels),
          perObject(b?.queueSeries, b?.queues),
          perObject(b?.subscriptionSeries, b?.channels),
          cacheMb(m),
          m.textBytes === undefined ? '' : fmt(m.textBytes / MB, 1),
          fmt(m.wireBytes / MB, 1),
          kind === 'floor' ? `${fmt(s.channels)} (${m.channels} page${m.channels === 1 ? '' : 's'})` : fmt(m.channels),
          kind === 'this' || kind === 'before' ? ratio(med, peer && median(peer)) : '',
          kind === 'this' || kind === 'before' ? ratio(med, floor && median(floor)) : '',
        ]);
      }
    }
  }
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** The old build's cli.js and a line saying which build it is; exits when BENCH_BASELINE names no build. */
function baselineBuild(): { cli: string; description: string } | undefined {
  if (!BASELINE) return undefined;
  const cli = join(resolve(BASELINE), 'dist', 'src', 'cli.js');
  if (!existsSync(cli)) {
    console.error(
      `BENCH_BASELINE=${BASELINE}: no ${cli}; make a build of the old commit: git worktree add /tmp/before <commit> && cd /tmp/before && npm ci && npm run build`,
    );
    process.exit(2);
  }
  let commit = 'not a git checkout';
  try {
    commit = execFileSync('git', ['-C', BASELINE, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
  } catch {
    // Only the description suffers.
  }
  return { cli, description: `before: the build in BENCH_BASELINE=${BASELINE} (${commit})` };
}

/** Starts this build's and the old build's exporter for every configuration, in table order. */
async function startContenders(server: StanServer, baseline: { cli: string } | undefined, exporters: ExporterProcess[]): Promise<Contender[]> {
  const contenders: Contender[] = [];
  for (const configuration of CONFIGURATIONS) {
    const ours = await startOurs(`this, ${configuration.label}`, server.monitorUrl, configuration.args(server));
    exporters.push(ours);
    contenders.push(exporterContender(ours, 'this', configuration));
    if (!baseline) continue;
    const args = configuration.before?.args ?? configuration.args(server);
    const note = configuration.before ? ` (${configuration.before.note})` : '';
    const old = await startOurs(`before, ${configuration.label}${note}`, server.monitorUrl, args, 'server', CENTRAL_NODE_FLAGS, baseline.cli);
    exporters.push(old);
    contenders.push(exporterContender(old, 'before', configuration));
  }
  return contenders;
}

/** Churn before each round: one message to each of `count` channels, the next slice each time, round robin over `channels`. */
function roundRobinChurn(filler: FillerProcess, channels: number, count: number): () => Promise<number> {
  let next = 0;
  return () => {
    const slice = Array.from({ length: count }, (_, k) => (next + k) % channels);
    next = (next + count) % channels;
    return filler.churn(slice);
  };
}

async function main(): Promise<void> {
  const began = performance.now();
  if (!findStanBinary()) {
    log('nats-streaming-server is not installed; installing it with go install ...');
    const install = fileURLToPath(new URL('../../tools/install-nats-streaming-server.sh', import.meta.url));
    if (spawnSync('bash', [install], { stdio: 'inherit' }).status !== 0)
      throw new Error('could not install nats-streaming-server: install Go, or set NATS_STREAMING_SERVER');
  }
  const baseline = baselineBuild();
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
        const contenders = await startContenders(server, baseline, exporters);
        const thisDefault = contenders.find((c) => c.kind === 'this' && c.configuration?.role === 'default')!;
        await new Promise((r) => setTimeout(r, 1000));
        idleRssMb = Math.max(idleRssMb, memory(thisDefault.process!.pid).rss / MB);
        const peerProcess = 'path' in peer ? await startPeer('prometheus-nats-exporter v0.16.0', peer.path, server.monitorUrl) : undefined;
        if (peerProcess) {
          exporters.push(peerProcess);
          contenders.push(exporterContender(peerProcess, 'peer'));
        }
        contenders.push({
          label: 'floor: channelsz pages, no processing',
          kind: 'floor',
          scrape: async () => {
            const r = await sweep.sweep();
            return { ms: r.ms, wireBytes: r.bytes };
          },
        });
        const modes: ModeResult[] = [];
        for (const churn of CHURN_SHAPES.has(channels) ? CHURN : [0]) {
          const churnedChannels = churn === 0 ? 0 : Math.min(channels, Math.max(1, Math.round(churn * channels)));
          log(`${channels} channels, churn ${percent(churn)}: ${WARMUP_SCRAPES + SCRAPES} rounds of ${contenders.length} scrapes`);
          const measuring = performance.now();
          const { measured, churnMs } = await measure(
            contenders,
            server.process.pid!,
            churnedChannels === 0 ? undefined : roundRobinChurn(filler, channels, churnedChannels),
          );
          log(`measured in ${((performance.now() - measuring) / 1000).toFixed(1)} s`);
          measured.find((m) => m.contender.kind === 'floor')!.channels = Math.ceil(channels / PAGE_SIZE);
          modes.push({ churn, churnedChannels, churnMs, measured });
        }
        results.push({ channels, fillSeconds, modes });
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
    `\nnats-queue-exporter benchmark: one nats-streaming-server v0.25.6 (MEMORY store, -mc 0 -msu 0), node ${process.version}, ${SCRAPES} scrapes per exporter per shape and churn mode after ${WARMUP_SCRAPES} warm-up, scrapes alternating (each round in a new shuffled order), headers as Prometheus sends them (OpenMetrics preferred, gzip accepted).`,
  );
  console.log(
    `Each channel: durable queue group bench:workers (2 members, manual ack, max in flight 3, holding unacked messages), offline durable audit, a plain subscription, non-durable queue group mirror; ${BACKLOG_PER_CHANNEL} messages published.`,
  );
  console.log(
    `Churn: before each round, one message published to each of that fraction of the channels (the next slice each round, round robin), its acks awaited and its delivery to the plain and mirror subscriptions; outside every timed scrape and CPU window. CPU per scrape: utime + stime of /proc/PID/stat around each scrape (in ticks of 0.01 s). Series per channel, per queue and of subscriptions per channel: stan_channel_*, queue_* with group/durable labels, stan_subscription_* (nss_chan_* and nss_chan_subs_* for the peer) over the channels and queue_msgs_pending series of the answer. Cache MB: nats_queue_exporter_scrape_cache_bytes after the scrapes.`,
  );
  if (baseline) console.log(baseline.description);
  console.log('');
  printTable(results);
  console.log('');
  for (const s of results) console.log(`fill ${fmt(s.channels)} channels: ${s.fillSeconds.toFixed(1)} s (cumulative shapes: each adds to the previous)`);
  for (const s of results) {
    for (const mode of s.modes) {
      if (mode.churn === 0) continue;
      console.log(
        `churn at ${fmt(s.channels)} channels, ${percent(mode.churn)}: ${fmt(mode.churnedChannels)} channels a round, published, acked and delivered in ${fmt(quantile(mode.churnMs, 0.5))} ms (median of ${mode.churnMs.length} rounds)`,
      );
    }
  }
  console.log(`idle RSS of this exporter (started, not scraped yet): ${idleRssMb.toFixed(0)} MB`);
  console.log(sharedSweep);
  printAgeLookups(results);
  if ('missing' in peer) console.log(`peer: not measured: ${peer.missing}`);
  for (const s of results) {
    const mode = s.modes[0]!;
    const p = mode.measured.find((m) => m.contender.kind === 'peer');
    if (p && p.channels !== undefined && p.channels < s.channels) {
      const ours = mode.measured.find((m) => m.contender.kind === 'this')!;
      console.log(
        `at ${fmt(s.channels)} channels the peer answered ${fmt(p.channels)} channels (it reads one channelsz page), this exporter ${fmt(ours.channels)}: its ratio there is not like for like`,
      );
    }
  }
  console.log('');
  for (const s of results) printCompat(s);
  console.log('');
  printTargets(results, idleRssMb);
  if (resent.count > 0)
    console.log(`\n${resent.count} scrapes sent again: the exporter closed the idle connection as they went out (bench-http.ts timedScrape)`);
  console.log(`\nbench took ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

/** Publish times the --nats-url rows read, per churn mode (the counter is read after each mode's scrapes, by one more scrape). */
function printAgeLookups(results: ShapeResult[]): void {
  for (const s of results) {
    const seen = new Map<string, number>();
    for (const mode of s.modes) {
      for (const m of mode.measured) {
        if (m.ageLookups === undefined) continue;
        const lookups = m.ageLookups - (seen.get(m.contender.label) ?? 0);
        seen.set(m.contender.label, m.ageLookups);
        // The counter a scrape answers includes that scrape's own lookups: each mode's count covers its scrapes and the reading one.
        const scrapes = WARMUP_SCRAPES + SCRAPES + 1;
        console.log(
          `${m.contender.label} at ${fmt(s.channels)} channels, churn ${percent(mode.churn)}: ${fmt(lookups)} publish times read in ${scrapes} scrapes (${(lookups / scrapes).toFixed(1)} per scrape; 2 cursors per channel, --age-lookups 5)`,
        );
      }
    }
  }
}

/** What --nss-compat adds to the default, and how its nss_* series compare with the peer's (without churn, so that both read the same figures). */
function printCompat(s: ShapeResult): void {
  const mode = s.modes.find((m) => m.churn === 0);
  const base = mode?.measured.find((m) => m.contender.kind === 'this' && m.contender.configuration?.role === 'default');
  const compat = mode?.measured.find((m) => m.contender.kind === 'this' && m.contender.configuration?.role === 'compat');
  if (!mode || !base || !compat) return;
  const plus = (a: number | undefined, b: number | undefined, digits = 0) =>
    a === undefined || b === undefined ? '?' : `${a >= b ? '+' : ''}${fmt(a - b, digits)}`;
  console.log(
    `--nss-compat at ${fmt(s.channels)} channels adds ${plus(median(compat), median(base))} ms to the median of the default (${fmt(median(base))} -> ${fmt(median(compat))}), ` +
      `${plus(cpuMean(compat), cpuMean(base), 3)} CPU s per scrape, ${plus(compat.peakRssMb, base.peakRssMb)} MB peak RSS, ` +
      `${plus(compat.budget?.allSeries, base.budget?.allSeries)} series and ${plus(compat.textBytes && compat.textBytes / MB, base.textBytes && base.textBytes / MB, 1)} MB of text`,
  );
  const peer = mode.measured.find((m) => m.contender.kind === 'peer');
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
  const check = (ok: boolean | undefined, text: string) => console.log(`${ok === undefined ? 'n/a   ' : ok ? 'met   ' : 'MISSED'} ${text}`);
  const at = (n: number) => results.find((s) => s.channels === n);
  const isDefault = (m: Measured) => m.contender.kind === 'this' && m.contender.configuration?.role === 'default';
  check(idleRssMb < TARGET.idleRssMb, `idle RSS ${fmt(idleRssMb)} MB under ${TARGET.idleRssMb} MB`);

  // At 1,000 channels every row of this build but --nss-compat (held to the peer's own families, not to its speed).
  const small = at(TARGET.peerShape);
  if (!small) check(undefined, `${fmt(TARGET.peerShape)} channels: median faster than prometheus-nats-exporter v0.16.0 (not measured: BENCH_SHAPES)`);
  for (const mode of small?.modes ?? []) {
    const peer = mode.measured.find((m) => m.contender.kind === 'peer');
    for (const m of mode.measured) {
      if (m.contender.kind !== 'this' || m.contender.configuration?.role === 'compat') continue;
      check(
        peer && median(m) < median(peer),
        `${fmt(TARGET.peerShape)} channels, churn ${percent(mode.churn)}, ${m.contender.label}: median ${fmt(median(m))} ms faster than prometheus-nats-exporter v0.16.0's ${peer ? `${fmt(median(peer))} ms` : '(not measured)'}`,
      );
    }
  }

  const large = at(TARGET.largeShape);
  const where = `${fmt(TARGET.largeShape)} channels`;
  for (const churn of TARGET.churns) {
    const mode = large?.modes.find((m) => m.churn === churn);
    const m = mode?.measured.find(isDefault);
    const floor = mode?.measured.find((x) => x.contender.kind === 'floor');
    if (!mode || !m || !floor) {
      const why = large ? 'BENCH_CHURN' : 'BENCH_SHAPES';
      check(undefined, `${where}, churn ${percent(churn)}, this, default: median within ${TARGET.floorRatio}x of the floor (not measured: ${why})`);
      check(undefined, `${where}, churn ${percent(churn)}, this, default: exporter CPU per scrape at most ${TARGET.cpuSeconds} s (not measured: ${why})`);
      continue;
    }
    check(
      median(m) <= TARGET.floorRatio * median(floor),
      `${where}, churn ${percent(churn)}, this, default: median ${fmt(median(m))} ms within ${TARGET.floorRatio}x of the floor's ${fmt(median(floor))} ms (${ratio(median(m), median(floor))})`,
    );
    check(
      cpuMean(m) <= TARGET.cpuSeconds,
      `${where}, churn ${percent(churn)}, this, default: exporter CPU per scrape ${fmt(cpuMean(m), 3)} s (mean; median ${fmt(cpuMedian(m), 3)} s) at most ${TARGET.cpuSeconds} s`,
    );
    check(median(m) < TARGET.medianMs, `${where}, churn ${percent(churn)}, this, default: median ${fmt(median(m))} ms under ${fmt(TARGET.medianMs)} ms`);
  }
  // VmHWM is the process's peak over every churn mode so far: the last mode's is the peak of all.
  const lastDefault = large?.modes.at(-1)?.measured.find(isDefault);
  check(
    lastDefault && (lastDefault.peakRssMb ?? Infinity) <= TARGET.peakRssMb,
    `${where}, this, default: peak RSS ${lastDefault ? `${fmt(lastDefault.peakRssMb)} MB` : '(not measured: BENCH_SHAPES)'} at most ${TARGET.peakRssMb} MB`,
  );

  // The series budget, at the largest shape measured, without churn where measured.
  const largest = results.at(-1);
  const budgetMode = largest?.modes.find((m) => m.churn === 0) ?? largest?.modes[0];
  const b = budgetMode?.measured.find(isDefault)?.budget;
  if (!largest || !b || !b.queues || !b.channels) check(undefined, 'default series per queue and per channel (no answer to count)');
  else {
    const perQueue = b.queueSeries / b.queues;
    const perChannel = (b.channelSeries + b.subscriptionSeries) / b.channels;
    check(
      perQueue <= TARGET.seriesPerQueue && perChannel <= TARGET.seriesPerChannel,
      `${fmt(largest.channels)} channels, this, default: ${perQueue.toFixed(1)} series per queue (at most ${TARGET.seriesPerQueue}) and ${perChannel.toFixed(1)} per channel ` +
        `(${(b.channelSeries / b.channels).toFixed(1)} of channel families + ${(b.subscriptionSeries / b.channels).toFixed(1)} of subscription families; at most ${TARGET.seriesPerChannel}); ` +
        `${fmt(b.allSeries)} series for ${fmt(b.channels)} channels and ${fmt(b.queues)} queues`,
    );
  }

  // Exporter and server share this machine's cores: their CPU time per scrape, spread over every
  // core, is a time no scrape can beat here, however well the two overlap. The server does the
  // same work for every contender, but Go's collector also takes idle cores while a scrape runs,
  // so a longer scrape is charged more: the least the server was charged stands for its work.
  const cores = availableParallelism();
  for (const mode of large?.modes ?? []) {
    const m = mode.measured.find(isDefault);
    const floor = mode.measured.find((x) => x.contender.kind === 'floor');
    if (!m || !floor) continue;
    const serverCpu = Math.min(...mode.measured.map((x) => x.serverCpuPerScrape));
    const boundMs = ((cpuMean(m) + serverCpu) / cores) * 1000;
    console.log(
      `note   ${where}, churn ${percent(mode.churn)}, ${m.contender.label}: exporter ${fmt(cpuMean(m), 3)} s + server ${fmt(serverCpu, 3)} s of CPU per scrape on ${cores} cores: no scrape can take under ${fmt(boundMs)} ms here, ${ratio(boundMs, median(floor))} the floor`,
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
