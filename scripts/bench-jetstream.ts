/**
 * npm run bench:jetstream: this exporter against the floor (fetching the same /jsz pages with
 * no processing) on one real nats-server v2.12.15, filled through the JetStream API with
 * STREAMSxCONSUMERS shapes in one account (default 1000x5 and 10x1000: 5,000 and 10,000
 * consumers), each stream holding 10 messages. Prints a table of medians and peak RSS.
 */
import { request } from 'undici';
import { jszPath } from '../src/sources/jetstream/read-accounts.js';
import { addConsumer, addStream, connectJs, type JsClient, publish } from '../test/helpers/jetstream-client.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { timedScrape } from './bench-http.js';
import { memory } from './bench-proc.js';
import { startOurs } from './bench-process.js';

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

const log = (line: string) => process.stderr.write(`bench:jetstream: ${line}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** Runs `work` over 0..count-1, `width` at a time. */
async function inParallel(count: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < count; i = next++) await work(i);
  }));
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

const rows: string[] = [];
for (const shape of SHAPES) {
  const server = await startNatsServer();
  const c = await connectJs(server.natsUrl);
  try {
    const filling = performance.now();
    await fill(c, shape.streams, shape.consumers);
    log(`${shape.streams} streams x ${shape.consumers} consumers made in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
    const ours = await startOurs('nats-queue-exporter', server.monitorUrl, [], 'jetstream');
    try {
      const floorMs: number[] = [];
      const oursMs: number[] = [];
      let series = 0;
      let jszBytes = 0;
      for (let i = 0; i < WARMUP_SCRAPES + SCRAPES; i++) {
        const floor = await floorScrape(server.monitorUrl);
        const scrape = await timedScrape(ours.metricsUrl, i === 0);
        if (i === 0) series = scrape.text!.split('\n').filter((l) => l.startsWith('queue_msgs_pending{')).length;
        if (i >= WARMUP_SCRAPES) {
          floorMs.push(floor);
          oursMs.push(scrape.ms);
        }
      }
      jszBytes = Buffer.byteLength(await (await fetch(`${server.monitorUrl}${jszPath(0, PAGE_SIZE)}`)).text());
      const expected = shape.streams * shape.consumers;
      if (series !== expected) throw new Error(`expected ${expected} queue_msgs_pending series, the exporter gave ${series}`);
      const f = median(floorMs);
      const o = median(oursMs);
      const peak = memory(ours.pid).peakRss / MB;
      rows.push(`| ${shape.streams} x ${shape.consumers} | ${(jszBytes / MB).toFixed(1)} MB | ${f.toFixed(0)} ms | ${o.toFixed(0)} ms | ${(o / f).toFixed(2)}x | ${peak.toFixed(0)} MB |`);
    } finally {
      await ours.stop();
    }
  } finally {
    await c.close();
    await server.stop();
  }
}
console.log(`median of ${SCRAPES} scrapes each, Node ${process.version}\n`);
console.log('| streams x consumers | /jsz answer | floor | nats-queue-exporter | ratio | peak RSS |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
