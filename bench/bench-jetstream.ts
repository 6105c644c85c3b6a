/**
 * npm run bench:jetstream (npm run bench runs it after the NATS Streaming table): this exporter
 * against the floor (fetching the same /jsz pages with no processing) and, when
 * $PROMETHEUS_NATS_EXPORTER_JSZ names its binary, against prometheus-nats-exporter's current
 * release with -jsz=all, on one real nats-server v2.12.15 filled through the JetStream API with
 * STREAMSxCONSUMERS shapes in one account (default 1000x5 and 10x1000: 5,000 and 10,000
 * consumers), each stream holding 10 messages. Prints a table of medians, peak RSS, series per
 * stream and per queue and the scrape cache, then the target at 1000x5 as met or MISSED.
 */
import { request } from 'undici';
import { jszPath } from '../src/sources/jetstream/read-accounts.js';
import { addConsumer, addStream, connectJs, type JsClient, publish } from '../harness/jetstream-client.js';
import { startNatsServer } from '../harness/nats-server.js';
import { resent, roundOrder, timedScrape } from './bench-http.js';
import { findPeer, JSZ_PEER } from './bench-peer.js';
import { memory } from './bench-proc.js';
import { type ExporterProcess, startJszPeer, startOurs } from './bench-process.js';
import { scrapeCacheBytes, seriesBudget } from './bench-series.js';

const SHAPES = (process.env['BENCH_JS_SHAPES'] ?? '1000x5,10x1000').split(',').map((shape) => {
  const m = /^(\d+)x(\d+)$/.exec(shape.trim());
  if (!m) {
    console.error(`BENCH_JS_SHAPES="${process.env['BENCH_JS_SHAPES']}": write STREAMSxCONSUMERS separated by commas, e.g. 1000x5,10x1000`);
    process.exit(2);
  }
  return { streams: Number(m[1]), consumers: Number(m[2]) };
});
const SCRAPES = Number(process.env['BENCH_SCRAPES'] ?? 20);
const WARMUP_SCRAPES = 2;
const PAGE_SIZE = 1024;
const MESSAGES_PER_STREAM = 10;
const MB = 1024 * 1024;
/** The target: at 1,000 streams x 5 consumers, a median within 1.3x of the floor's. */
const TARGET = { streams: 1_000, consumers: 5, floorRatio: 1.3 };

const log = (line: string) => process.stderr.write(`bench:jetstream: ${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** Runs `work` over 0..count-1, `width` at a time. */
async function inParallel(count: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

async function fill(c: JsClient, streams: number, consumers: number): Promise<void> {
  await inParallel(streams, 20, async (s) => {
    const name = `s${String(s).padStart(4, '0')}`;
    await addStream(c.jsm, { name, subjects: [name] });
    await publish(c.js, name, MESSAGES_PER_STREAM);
    for (let k = 0; k < consumers; k++) await addConsumer(c.jsm, name, { durable_name: `c${k}` });
  });
}

/** The floor: the /jsz requests the exporter makes (one page of up to 1,024 accounts here), read and dropped. */
async function floorScrape(monitorUrl: string): Promise<number> {
  const started = performance.now();
  const res = await request(`${monitorUrl}${jszPath(0, PAGE_SIZE)}`, { headersTimeout: 120_000, bodyTimeout: 120_000 });
  await res.body.arrayBuffer();
  return performance.now() - started;
}

/** What the peer asks for with `-jsz=all`: one answer, no paging (it reads /varz too, each scrape). */
const PEER_JSZ_PATH = '/jsz?consumers=true&config=true&raft=true';

/** A contender, timed per scrape; the text of its last scrape is kept for the checks. */
interface Contender {
  scrape(keepText: boolean): Promise<{ ms: number; text?: string }>;
  samples: number[];
  text?: string;
}

function exporterContender(p: ExporterProcess): Contender {
  return { scrape: (keepText) => timedScrape(p.metricsUrl, keepText), samples: [] };
}

/** Scrapes every contender in turn, each round in a new order (roundOrder), so none always follows the same one. */
async function measure(contenders: Contender[]): Promise<void> {
  for (let round = 0; round < WARMUP_SCRAPES + SCRAPES; round++) {
    for (const i of roundOrder(contenders.length, round)) {
      const c = contenders[i]!;
      const keep = round === WARMUP_SCRAPES + SCRAPES - 1;
      const r = await c.scrape(keep);
      if (keep) c.text = r.text;
      if (round >= WARMUP_SCRAPES) c.samples.push(r.ms);
    }
  }
}

const seriesLines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
const allSeries = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
const label = (line: string, name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1];
const count = (n: number) => n.toLocaleString('en-US');

/** What the peer's answer holds: its consumer series against the consumers the server has. */
function peerSanity(text: string, streams: number, consumers: number): string {
  const pending = seriesLines(text, 'jetstream_consumer_num_pending');
  const pairs = new Set(pending.map((l) => `${label(l, 'stream_name')}/${label(l, 'consumer_name')}`));
  const off = pending.filter((l) => Number(l.slice(l.lastIndexOf(' ') + 1)) !== MESSAGES_PER_STREAM).length;
  const expected = streams * consumers;
  const streamSeries = seriesLines(text, 'jetstream_stream_total_messages').length;
  return (
    `${count(pending.length)} jetstream_consumer_num_pending series for ${count(pairs.size)} distinct stream/consumer pairs ` +
    `(the server has ${count(expected)} consumers${pending.length === expected && pairs.size === expected ? ': one each' : ''}), ` +
    `${off === 0 ? `all ${MESSAGES_PER_STREAM}` : `${off} not ${MESSAGES_PER_STREAM}`} as every consumer's backlog is; ` +
    `${count(streamSeries)} jetstream_stream_total_messages series for ${count(streams)} streams`
  );
}

const began = performance.now();
const peer = findPeer(JSZ_PEER);
const peerLabel = 'path' in peer ? `prometheus-nats-exporter ${peer.version} -jsz=all` : `prometheus-nats-exporter ${JSZ_PEER.version} -jsz=all`;
if ('missing' in peer) log(`the peer is left out: ${peer.missing}`);
const rows: string[] = [];
const notes: string[] = [];
const targets: string[] = [];
for (const shape of SHAPES) {
  const server = await startNatsServer();
  const c = await connectJs(server.natsUrl);
  const exporters: ExporterProcess[] = [];
  try {
    const filling = performance.now();
    await fill(c, shape.streams, shape.consumers);
    log(`${shape.streams} streams x ${shape.consumers} consumers made in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
    const ours = await startOurs('nats-queue-exporter', server.monitorUrl, [], 'jetstream');
    exporters.push(ours);
    const peerProcess = 'path' in peer ? await startJszPeer(peerLabel, peer.path, server.monitorUrl) : undefined;
    if (peerProcess) exporters.push(peerProcess);
    const floor: Contender = { scrape: async () => ({ ms: await floorScrape(server.monitorUrl) }), samples: [] };
    const oursC = exporterContender(ours);
    const peerC = peerProcess && exporterContender(peerProcess);
    const measuring = performance.now();
    await measure([floor, oursC, ...(peerC ? [peerC] : [])]);
    log(`${WARMUP_SCRAPES + SCRAPES} rounds of scrapes in ${((performance.now() - measuring) / 1000).toFixed(1)} s`);
    const jszBytes = Buffer.byteLength(await (await fetch(`${server.monitorUrl}${jszPath(0, PAGE_SIZE)}`)).text());
    const expected = shape.streams * shape.consumers;
    const series = seriesLines(oursC.text!, 'queue_msgs_pending').length;
    if (series !== expected) throw new Error(`expected ${expected} queue_msgs_pending series, the exporter gave ${series}`);
    const f = median(floor.samples);
    const o = median(oursC.samples);
    const peak = memory(ours.pid).peakRss / MB;
    const shapeName = `${shape.streams} x ${shape.consumers}`;
    const budget = seriesBudget(oursC.text!);
    // After the scrapes, one more (not measured) reads the exporter's own gauge; n/a when it has none.
    const cacheBytes = scrapeCacheBytes(await (await fetch(ours.metricsUrl)).text());
    const cache = cacheBytes === undefined ? 'n/a' : `${(cacheBytes / MB).toFixed(1)} MB`;
    const perStream = budget.channels ? (budget.channelSeries / budget.channels).toFixed(1) : '';
    const perQueue = budget.queues ? (budget.queueSeries / budget.queues).toFixed(1) : '';
    if (shape.streams === TARGET.streams && shape.consumers === TARGET.consumers) {
      targets.push(
        `${o <= TARGET.floorRatio * f ? 'met   ' : 'MISSED'} JetStream ${shapeName}: median ${o.toFixed(0)} ms within ${TARGET.floorRatio}x of the floor's ${f.toFixed(0)} ms (${(o / f).toFixed(2)}x)`,
      );
    }
    let peerCells = '| not measured | | |';
    notes.push(
      `${shapeName}: nats-queue-exporter gave ${count(allSeries(oursC.text!))} series (${(Buffer.byteLength(oursC.text!) / MB).toFixed(1)} MB of text)`,
    );
    if (peerC && peerProcess) {
      const p = median(peerC.samples);
      const peerBytes = Buffer.byteLength(await (await fetch(`${server.monitorUrl}${PEER_JSZ_PATH}`)).text());
      peerCells = `| ${p.toFixed(0)} ms | ${(p / f).toFixed(2)}x | ${(memory(peerProcess.pid).peakRss / MB).toFixed(0)} MB |`;
      notes.push(
        `${shapeName}: the peer gave ${count(allSeries(peerC.text!))} series (${(Buffer.byteLength(peerC.text!) / MB).toFixed(1)} MB of text): ${peerSanity(peerC.text!, shape.streams, shape.consumers)}; ` +
          `it asks ${PEER_JSZ_PATH} (${(peerBytes / MB).toFixed(1)} MB) and /varz each scrape; nats-queue-exporter's median is ${(o / p).toFixed(2)}x the peer's`,
      );
    }
    rows.push(
      `| ${shapeName} | ${(jszBytes / MB).toFixed(1)} MB | ${f.toFixed(0)} ms | ${o.toFixed(0)} ms | ${(o / f).toFixed(2)}x | ${peak.toFixed(0)} MB | ${perStream} | ${perQueue} | ${cache} ${peerCells}`,
    );
  } finally {
    await Promise.all(exporters.map((p) => p.stop()));
    await c.close();
    await server.stop();
  }
}
console.log(
  `\nJetStream: one nats-server v2.12.15, one account; median of ${SCRAPES} scrapes each after ${WARMUP_SCRAPES} warm-up, alternating; Node ${process.version}\n`,
);
console.log(
  `| streams x consumers | /jsz answer | floor | nats-queue-exporter | ratio | peak RSS | series/stream | series/queue | cache | ${peerLabel} | ratio | peak RSS |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log('');
for (const note of notes) console.log(note);
if ('missing' in peer) console.log(`peer: not measured: ${peer.missing}`);
console.log('');
if (targets.length === 0)
  targets.push(`n/a    JetStream ${TARGET.streams} x ${TARGET.consumers}: median within ${TARGET.floorRatio}x of the floor (not measured: BENCH_JS_SHAPES)`);
for (const line of targets) console.log(line);
if (resent.count > 0) console.log(`${resent.count} scrapes sent again: the exporter closed the idle connection as they went out (bench-http.ts timedScrape)`);
console.log(`bench:jetstream took ${((performance.now() - began) / 1000).toFixed(0)} s`);
// The NATS client and undici keep sockets that would hold the process open a while longer.
process.exit(0);
