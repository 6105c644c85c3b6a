/**
 * npm run bench:status: the status page at 10,000 queues. One real nats-streaming-server filled
 * like the main bench (each channel: the durable queue group bench:workers, the offline durable
 * audit, the queue group mirror: three queues), then
 * - the history's memory: STATUS_RULES.historyCollections real collections recorded in this
 *   process, heap before and after (with --expose-gc), and the time to build and encode
 *   /api/v1/queues from it;
 * - in Chromium, against the exporter as its own process: load + render of /, a filter, a page
 *   turn, and the exporter's resident memory before and after.
 */
import { gzipSync } from 'node:zlib';
import { parseCli } from '../src/config.js';
import type { Snapshot } from '../src/model/types.js';
import { RecentCollections } from '../src/http/status/recent-collections.js';
import { STATUS_RULES } from '../src/http/status/rules.js';
import { statusJson } from '../src/http/status/view.js';
import { AnswerCaps } from '../src/sources/answer-caps.js';
import { StanSource } from '../src/sources/stan/source.js';
import { subjectFilter } from '../src/subjects.js';
import { launchChromium } from '../harness/browser.js';
import { startStan } from '../harness/stan-server.js';
import { startFillerProcess } from './bench-fill.js';
import { memory } from './bench-proc.js';
import { startOurs } from './bench-process.js';

const QUEUES_PER_CHANNEL = 3;
const QUEUES = Number(process.env['BENCH_STATUS_QUEUES'] ?? 10_000);
const PAGE_LOADS = 5;
const MB = 1024 * 1024;

if (!Number.isInteger(QUEUES) || QUEUES < QUEUES_PER_CHANNEL) {
  console.error(`BENCH_STATUS_QUEUES="${process.env['BENCH_STATUS_QUEUES']}": write a whole number of queues of at least ${QUEUES_PER_CHANNEL}, e.g. 10000`);
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run bench:status does)');
  process.exit(2);
}

/** The JS heap and the typed arrays' backing stores, which live outside it. */
function heapUsed(): number {
  gc!();
  gc!();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** A history of `collections` of the same real collection, 15 s apart, with the time each took. */
function fillHistory(snapshot: Snapshot, collections: number): { history: RecentCollections; recording: number[] } {
  const history = new RecentCollections();
  const recording: number[] = [];
  for (let i = 0; i < collections; i++) {
    const t = performance.now();
    history.record({ ...snapshot, startedAt: snapshot.startedAt + i * 15_000 });
    recording.push(performance.now() - t);
  }
  return { history, recording };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const channels = Math.ceil(QUEUES / QUEUES_PER_CHANNEL);
const server = await startStan({ clusterId: 'bench-cluster', store: 'MEMORY', args: ['-msu', '0'] });
const filler = await startFillerProcess(server);
try {
  const filling = performance.now();
  await filler.fill(0, channels);
  console.log(
    `filled ${channels.toLocaleString('en')} channels (${(channels * QUEUES_PER_CHANNEL).toLocaleString('en')} queues) in ${((performance.now() - filling) / 1000).toFixed(1)} s`,
  );

  const request = parseCli(['--server', `bench=${server.monitorUrl}`, '--timeout', '60'], {});
  if (request.kind !== 'run') throw new Error('expected a run request');
  const { config } = request;
  const source = new StanSource(config.servers[0]!, {
    timeoutMs: 60_000,
    pageSize: config.pageSize,
    selectSubject: subjectFilter(config.subjects, config.excludeSubjects),
    ageLookups: config.ageLookups,
    caps: new AnswerCaps(config.answerCapFactor),
  });
  const snapshot: Snapshot = { startedAt: Date.now(), servers: [await source.scrape()], clientPending: [] };
  await source.close();
  // The snapshot (and the names it shares with the history) is alive before and after: the difference is the history.
  const before = heapUsed();
  const { history, recording } = fillHistory(snapshot, STATUS_RULES.historyCollections);
  const held = heapUsed() - before;
  const queues = history.queueCount;
  const building: number[] = [];
  let json = '';
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    json = [...statusJson('bench', [], history)].join('');
    building.push(performance.now() - t);
  }
  const gzipped = gzipSync(json, { level: 1 }).length;
  console.log(
    `history of ${queues.toLocaleString('en')} queues over ${STATUS_RULES.historyCollections} collections: ${(held / MB).toFixed(1)} MB of heap and typed arrays (${Math.round(held / queues)} bytes a queue)`,
  );
  console.log(`recording one collection: ${median(recording).toFixed(1)} ms (median of ${recording.length}, least ${Math.min(...recording).toFixed(1)} ms)`);
  console.log(
    `/api/v1/queues: built and encoded in ${median(building).toFixed(0)} ms (median of 5, least ${Math.min(...building).toFixed(0)} ms), ${(json.length / MB).toFixed(1)} MB of JSON, ${(gzipped / MB).toFixed(2)} MB gzipped`,
  );

  const exporter = await startOurs('status', server.monitorUrl);
  const browser = await launchChromium();
  try {
    for (let i = 0; i < 2; i++) await (await fetch(exporter.metricsUrl)).arrayBuffer();
    const rssBefore = memory(exporter.pid).rss;
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    const base = exporter.metricsUrl.replace(/\/metrics$/, '');
    const loads: Array<{ ready: number; load: number; render: number }> = [];
    for (let i = 0; i < PAGE_LOADS; i++) {
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-ready-ms]');
      const data = await page.locator('body').evaluate((body) => ({ ...(body as unknown as { dataset: Record<string, string> }).dataset }));
      loads.push({ ready: Number(data['readyMs']), load: Number(data['loadMs']), render: Number(data['renderMs']) });
    }
    const rows = await page.locator('#queues tbody tr').count();
    const renderOf = async (action: () => Promise<void>): Promise<number> => {
      await action();
      return Number(await page.locator('body').getAttribute('data-render-ms'));
    };
    const filterMs = await renderOf(() => page.fill('#filter', 'audit'));
    const clearMs = await renderOf(() => page.fill('#filter', ''));
    const nextMs = await renderOf(() => page.click('#next'));
    const rssAfter = memory(exporter.pid).rss;
    console.log(
      `page at ${queues.toLocaleString('en')} queues (${rows} rows a page), median of ${PAGE_LOADS} loads in Chromium: ready ${median(loads.map((l) => l.ready)).toFixed(0)} ms after navigation (fetch + parse of the JSON ${median(loads.map((l) => l.load)).toFixed(0)} ms, render ${median(loads.map((l) => l.render)).toFixed(0)} ms)`,
    );
    console.log(`re-render: filter "audit" ${filterMs.toFixed(0)} ms, clear the filter ${clearMs.toFixed(0)} ms, next page ${nextMs.toFixed(0)} ms`);
    console.log(
      `exporter RSS: ${(rssBefore / MB).toFixed(0)} MB after two scrapes, ${(rssAfter / MB).toFixed(0)} MB after ${PAGE_LOADS} page loads (peak ${(memory(exporter.pid).peakRss / MB).toFixed(0)} MB)`,
    );
  } finally {
    await browser.close();
    await exporter.stop();
  }
} finally {
  await filler.close();
  await server.stop();
}
