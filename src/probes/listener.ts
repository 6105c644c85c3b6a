import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from '../node-builtins.js';
import type { Logger } from '../log.js';
import type { Backend } from '../targets.js';
import { BODY_COST, type ProbeMemoryBound } from './memory-bound.js';
import { InvalidReportError, parseProbeReport } from './report.js';
import type { ProbeStore } from './store.js';

/** Bodies larger than this are refused (413) before or while they are read. */
const MAX_REPORT_BYTES = 1024 * 1024;

const PROBE_PATH = '/v1/pending';

export type ProbeResult = 'accepted' | 'invalid' | 'unknown_server' | 'too_large' | 'too_many_series' | 'memory_bound';
export const PROBE_RESULTS: readonly ProbeResult[] = ['accepted', 'invalid', 'unknown_server', 'too_large', 'too_many_series', 'memory_bound'];

export interface ProbeListenerDeps {
  store: ProbeStore;
  /** NAMEs of the configured servers and their backends: a report may name only these. */
  servers: ReadonlyMap<string, Backend>;
  ttlSeconds: number;
  maxSeries: number;
  /** Shared with the store: the bodies being read and the reports held together (--probe-max-bytes). */
  memory: ProbeMemoryBound;
  log: Logger;
  countReport(result: ProbeResult): void;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly result: ProbeResult,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Leaves the rest of a refused body unread: the connection closes after the answer. Without
 * this, Node would read and drop the whole body after the answer, at the cost of memory the
 * bound is there to protect.
 */
function stopReading(req: IncomingMessage, refusal: Refusal): Refusal {
  // read(0) marks the body as being consumed (so Node does not drain it), pause() stops the socket.
  req.read(0);
  req.pause();
  return refusal;
}

function memoryRefusal(memory: ProbeMemoryBound, what: string): Refusal {
  return new Refusal(
    429,
    'memory_bound',
    `${what} would pass --probe-max-bytes ${memory.limit}, the memory that reports being read and held may take together: retry later, send smaller reports, or raise --probe-max-bytes`,
    { 'retry-after': '1', connection: 'close' },
  );
}

/**
 * Reads the body up to `limit` bytes; a body that announces or streams more is refused. Room in
 * the memory bound is taken into `reserved` before a part of the body is kept (all of it at once
 * when Content-Length announces it), so the caller releases `reserved.bytes` when done.
 */
function readBody(req: IncomingMessage, limit: number, memory: ProbeMemoryBound, reserved: { bytes: number }): Promise<Buffer> {
  const tooLarge = (size: string) => new Refusal(413, 'too_large', `the body is ${size}, more than ${limit} bytes: report fewer subscriptions per request`, { connection: 'close' });
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > limit) return Promise.reject(stopReading(req, tooLarge(`${announced} bytes`)));
  const take = (bytes: number): boolean => {
    if (!memory.tryReserve(bytes)) return false;
    reserved.bytes += bytes;
    return true;
  };
  if (Number.isFinite(announced) && !take(BODY_COST * announced)) return Promise.reject(stopReading(req, memoryRefusal(memory, `this ${announced}-byte report`)));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = (err: Refusal) => {
      req.removeAllListeners('data');
      reject(stopReading(req, err));
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        refuse(tooLarge(`over ${size} bytes`));
        return;
      }
      if (BODY_COST * size > reserved.bytes && !take(BODY_COST * size - reserved.bytes)) {
        refuse(memoryRefusal(memory, `this report, past ${size} bytes,`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', () => reject(new Refusal(400, 'invalid', 'the body was cut off before its end: send the whole report')));
  });
}

function checkContentType(req: IncomingMessage): void {
  const [mediaType = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    throw new Refusal(415, 'invalid', `Content-Type "${req.headers['content-type'] ?? ''}" is not accepted: send Content-Type: application/json (UTF-8)`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

async function handleReport(req: IncomingMessage, deps: ProbeListenerDeps): Promise<{ accepted: number }> {
  checkContentType(req);
  const reserved = { bytes: 0 };
  let report;
  try {
    const bytes = await readBody(req, MAX_REPORT_BYTES, deps.memory, reserved);
    let body: unknown;
    try {
      body = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      const why = err instanceof SyntaxError ? `is not JSON (${err.message})` : 'is not valid UTF-8';
      throw new Refusal(400, 'invalid', `the body ${why}: send one JSON object {"client_id": "...", "subscriptions": [...]}`);
    }
    try {
      report = parseProbeReport(body, deps.servers);
    } catch (err) {
      if (err instanceof InvalidReportError) throw new Refusal(400, err.reason, err.message);
      throw err;
    }
  } finally {
    // The body and its JSON are garbage now; what the store keeps counts as held.
    deps.memory.release(reserved.bytes);
  }
  const result = deps.store.accept(report, performance.now());
  if (!result.accepted && result.bound === 'memory') throw memoryRefusal(deps.memory, `holding this report (${result.wouldTake} bytes with the others)`);
  if (!result.accepted) {
    throw new Refusal(
      429,
      'too_many_series',
      `accepting this report would hold ${result.wouldHold} subscription reports, more than --probe-max-series ${deps.maxSeries}: raise --probe-max-series or report from fewer clients; reports expire ${deps.ttlSeconds} s after they arrive`,
      { 'retry-after': String(Math.ceil(deps.ttlSeconds)) },
    );
  }
  return { accepted: report.subscriptions.length };
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The sidecar's probe listener: POST /v1/pending from the workers of the same pod. Every refusal
 * answers 4xx with {"error": "..."} and leaves the reports already accepted untouched.
 */
export function createProbeServer(deps: ProbeListenerDeps): Server {
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== PROBE_PATH) {
      sendJson(res, 404, { error: `no such path ${path}: workers POST their reports to ${PROBE_PATH}` });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: `${req.method} is not accepted: POST the report to ${PROBE_PATH}` }, { allow: 'POST' });
      return;
    }
    handleReport(req, deps).then(
      ({ accepted }) => {
        deps.countReport('accepted');
        sendJson(res, 200, { accepted, ttl_seconds: deps.ttlSeconds });
      },
      (err: unknown) => {
        if (!(err instanceof Refusal)) {
          deps.log.error({ err }, 'probe report failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'the exporter failed to handle the report' }, { connection: 'close' });
          return;
        }
        deps.countReport(err.result);
        deps.log.debug({ status: err.status, result: err.result, reason: err.message }, 'probe report refused');
        sendJson(res, err.status, { error: err.message }, err.headers);
      },
    );
  });
  return server;
}
