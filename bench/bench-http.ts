import { gunzipSync } from 'node:zlib';
import { type Dispatcher, Pool, request } from 'undici';

/** What Prometheus sends when it scrapes (2.x defaults): OpenMetrics preferred, gzip accepted. */
export const PROMETHEUS_HEADERS = {
  accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'accept-encoding': 'gzip',
};

export interface ScrapeResult {
  ms: number;
  /** Bytes on the wire (compressed when the exporter gzipped). */
  wireBytes: number;
  /** The exposition text, when it was asked for. */
  text?: string;
}

/** Scrapes sent again because the exporter closed the idle connection as they went out (timedScrape). */
export const resent = { count: 0 };

/** GETs `url` as Prometheus would and times it to the last byte of the body. */
export async function timedScrape(url: string, keepText: boolean, headers: Record<string, string> = PROMETHEUS_HEADERS): Promise<ScrapeResult> {
  let started = performance.now();
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { headers, headersTimeout: 120_000, bodyTimeout: 120_000 });
  } catch (error) {
    // The kept connection was closed by the exporter as the request went out: Node's server
    // closes a connection idle for 5 s, about the gap between two scrapes of one exporter in the
    // longest rounds. Sent again on a new connection and timed from then, as Go's HTTP client
    // (Prometheus) sends a GET again; a failure once the answer has begun is never retried.
    if ((error as { code?: unknown }).code !== 'UND_ERR_SOCKET') throw error;
    resent.count++;
    started = performance.now();
    res = await request(url, { headers, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }
  const chunks: Buffer[] = [];
  let wireBytes = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    wireBytes += chunk.length;
    if (keepText) chunks.push(chunk);
  }
  const ms = performance.now() - started;
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`);
  if (!keepText) return { ms, wireBytes };
  const body = Buffer.concat(chunks);
  const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
  return { ms, wireBytes, text };
}

/**
 * The floor of a scrape: every channelsz?subs=1 page of the server read with no processing, the
 * way the exporter asks for them: serverz first (it tells how many channels there are), then the
 * pages `concurrency` at a time from the first.
 */
export class PageSweep {
  readonly #pool: Pool;
  readonly #pageSize: number;
  readonly #concurrency: number;

  constructor(monitorUrl: string, pageSize: number, concurrency: number) {
    this.#pool = new Pool(monitorUrl, { connections: concurrency, headersTimeout: 120_000, bodyTimeout: 120_000 });
    this.#pageSize = pageSize;
    this.#concurrency = concurrency;
  }

  async #get(path: string): Promise<Buffer> {
    const res = await this.#pool.request({ path, method: 'GET' });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
    return body;
  }

  /** Times one sweep; of the answers only serverz's channel count is read. */
  async sweep(): Promise<{ ms: number; bytes: number; pages: number }> {
    const started = performance.now();
    const serverz = JSON.parse((await this.#get('/streaming/serverz')).toString('utf8')) as { channels?: unknown };
    if (typeof serverz.channels !== 'number') throw new Error('serverz did not say how many channels there are');
    const offsets: number[] = [];
    for (let offset = 0; offset < Math.max(serverz.channels, 1); offset += this.#pageSize) offsets.push(offset);
    let bytes = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < offsets.length) {
        const page = await this.#get(`/streaming/channelsz?subs=1&offset=${offsets[next++]!}&limit=${this.#pageSize}`);
        bytes += page.length;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, offsets.length) }, worker));
    return { ms: performance.now() - started, bytes, pages: offsets.length };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * The order in which round `round` scrapes `count` contenders: a new shuffle each round, the same
 * on every run. Starting each round with the next contender would not do: every contender would
 * still follow the same one nearly every time, and the server's collector, which finishes one
 * sweep's garbage during the next, would slow and charge the one behind the cheapest sweep (the
 * floor). Shuffled, each follows each about as often.
 */
export function roundOrder(count: number, round: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  // xorshift32, seeded from the round through a multiply-xorshift mix (so that near rounds differ).
  let x = Math.imul((round + 1) ^ 0x9e3779b9, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x = (x ^ (x >>> 16)) | 1;
  for (let i = count - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = Math.floor(((x >>> 0) / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
