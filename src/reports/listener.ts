import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
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

/** What a report's body has taken of the memory bound; given back once, when it is parsed or refused. */
class Reservation {
  #bytes = 0;

  constructor(private readonly memory: ProbeMemoryBound) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Takes `bytes` more; false (and nothing taken) when the bound would be passed. */
  take(bytes: number): boolean {
    if (!this.memory.tryReserve(bytes)) return false;
    this.#bytes += bytes;
    return true;
  }

  release(): void {
    this.memory.release(this.#bytes);
    this.#bytes = 0;
  }
}

function tooLarge(size: string): Refusal {
  return new Refusal(413, 'too_large', `the body is ${size}, more than ${MAX_REPORT_BYTES} bytes: report fewer subscriptions per request`, {
    connection: 'close',
  });
}

function checkContentType(req: Request): void {
  const [mediaType = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    throw new Refusal(415, 'invalid', `Content-Type "${req.headers['content-type'] ?? ''}" is not accepted: send Content-Type: application/json (UTF-8)`);
  }
}

/**
 * Before express.json reads the body: refuses a wrong Content-Type (415), a body announced over
 * the limit (413, before any of it is read) and one the memory bound has no room for (429), and
 * keeps room in the bound as the body streams in. A body that streams past the limit is answered
 * here too: body-parser answers one only after reading the rest of it, which for an endless body
 * is never.
 */
function reserveBody(deps: ProbeListenerDeps, refuse: (res: Response, refusal: Refusal) => void): RequestHandler {
  return (req, res, next) => {
    checkContentType(req);
    const reservation = new Reservation(deps.memory);
    res.locals['reservation'] = reservation;
    res.once('close', () => reservation.release());
    const announced = Number(req.headers['content-length']);
    if (Number.isFinite(announced) && announced > MAX_REPORT_BYTES) throw stopReading(req, tooLarge(`${announced} bytes`));
    if (Number.isFinite(announced) && !reservation.take(BODY_COST * announced))
      throw stopReading(req, memoryRefusal(deps.memory, `this ${announced}-byte report`));
    next();
    // After body-parser's own listener, so that this one has the last word on a body it refuses.
    let size = 0;
    const count = (chunk: Buffer) => {
      size += chunk.length;
      let refusal: Refusal | undefined;
      if (size > MAX_REPORT_BYTES) refusal = tooLarge(`over ${size} bytes`);
      else if (BODY_COST * size > reservation.bytes && !reservation.take(BODY_COST * size - reservation.bytes))
        refusal = memoryRefusal(deps.memory, `this report, past ${size} bytes,`);
      if (!refusal) return;
      req.removeAllListeners('data');
      refuse(res, stopReading(req, refusal));
    };
    if (!res.headersSent && !req.readableEnded) req.on('data', count);
  };
}

/** Valid UTF-8, checked on the raw body: body-parser's decoder would replace bad bytes without a word. */
function utf8Only(_req: Request, _res: Response, body: Buffer): void {
  if (!isUtf8(body)) throw new Refusal(400, 'invalid', 'the body is not valid UTF-8: send one JSON object {"client_id": "...", "subscriptions": [...]}');
}

/** What body-parser's refusal (by its `type`) means for a worker, as a Refusal naming the fix. */
function bodyParserRefusal(err: Error & { type?: string; status?: number }, req: Request): Refusal | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new Refusal(400, 'invalid', `the body is not JSON (${err.message}): send one JSON object {"client_id": "...", "subscriptions": [...]}`);
    case 'entity.too.large':
      return tooLarge(`over ${MAX_REPORT_BYTES} bytes`);
    case 'encoding.unsupported':
      return new Refusal(415, 'invalid', `Content-Encoding "${req.headers['content-encoding'] ?? ''}" is not accepted: send the report uncompressed`);
    case 'request.aborted':
      return new Refusal(400, 'invalid', 'the body was cut off before its end: send the whole report');
    default:
      return undefined;
  }
}

function acceptReport(deps: ProbeListenerDeps): RequestHandler {
  return (req, res) => {
    // Refused while it streamed, then ended before the refusal stopped the reading.
    if (res.headersSent) return;
    const reservation = res.locals['reservation'] as Reservation;
    let report;
    try {
      report = parseProbeReport(req.body, deps.servers);
    } catch (err) {
      if (err instanceof InvalidReportError) throw new Refusal(400, err.reason, err.message);
      throw err;
    } finally {
      // The body and its JSON are garbage now; what the store keeps counts as held.
      reservation.release();
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
    deps.countReport('accepted');
    res.json({ accepted: report.subscriptions.length, ttl_seconds: deps.ttlSeconds });
  };
}

/**
 * The sidecar's probe listener: POST /v1/pending from the workers of the same pod. Every refusal
 * answers 4xx with {"error": "..."} and leaves the reports already accepted untouched.
 */
function createProbeApp(deps: ProbeListenerDeps): Express {
  const refuse = (res: Response, refusal: Refusal) => {
    (res.locals['reservation'] as Reservation | undefined)?.release();
    deps.countReport(refusal.result);
    deps.log.debug({ status: refusal.status, result: refusal.result, reason: refusal.message }, 'probe report refused');
    res.status(refusal.status).set(refusal.headers).json({ error: refusal.message });
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  app.set('case sensitive routing', true);
  app
    .route(PROBE_PATH)
    // strict: false leaves a JSON value that is not an object to parseProbeReport, which names the fix.
    .post(reserveBody(deps, refuse), express.json({ limit: MAX_REPORT_BYTES, strict: false, inflate: false, verify: utf8Only }), acceptReport(deps))
    .all((req, res) => {
      res
        .status(405)
        .set('allow', 'POST')
        .json({ error: `${req.method} is not accepted: POST the report to ${PROBE_PATH}` });
    });
  app.use((req, res) => {
    res.status(404).json({ error: `no such path ${req.path}: workers POST their reports to ${PROBE_PATH}` });
  });
  const failed: ErrorRequestHandler = (err: Error & { type?: string }, req, res, _next) => {
    // Answered already: a body refused while it streamed, which body-parser reports once the connection ends.
    if (res.headersSent) return;
    const refusal = err instanceof Refusal ? err : bodyParserRefusal(err, req);
    if (refusal) {
      refuse(res, refusal);
      return;
    }
    (res.locals['reservation'] as Reservation | undefined)?.release();
    deps.log.error({ err }, 'probe report failed');
    res.status(500).set('connection', 'close').json({ error: 'the exporter failed to handle the report' });
  };
  app.use(failed);
  return app;
}

export function createProbeServer(deps: ProbeListenerDeps): Server {
  return http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 30_000 }, createProbeApp(deps));
}
