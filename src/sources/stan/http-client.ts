import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { NodeTarget } from '../../targets.js';
import { tlsConnectOptions, tlsFailureHint } from '../../monitor-access.js';
import { ScrapeError } from '../scrape-error.js';

/** Bodies larger than this are refused instead of being read into memory (well below V8's longest string). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;
/** How long an idle keep-alive connection is kept for the next scrape. */
const IDLE_CONNECTION_MS = 30_000;

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** An answer's status and body, the body in a reused buffer until `release`. */
interface Answer {
  status: number;
  body: Buffer;
  release(): void;
}

/** First size of a body buffer; it doubles as a body needs. */
const FIRST_BODY_BYTES = 64 * 1024;
/** Body buffers larger than this are not kept for the next answer. */
const MAX_KEPT_BODY_BYTES = 16 * 1024 * 1024;

/** A body that broke off after the headers arrived; the reason is decided with the deadline in view. */
class BrokenBody extends Error {
  constructor(readonly code: string | undefined) {
    super(`the answer broke off${code ? ` (${code})` : ''}`);
  }
}

/**
 * Keep-alive HTTP to one server's monitoring port, at most `connections` requests at once. Node's
 * own HTTP client: it parses in native code and costs the idle process far less memory than a
 * pool library. Every failure becomes a ScrapeError with a reason; the message never holds
 * credentials.
 */
export class MonitorHttpClient {
  readonly #target: NodeTarget;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #connections: number;
  /** Body buffers of earlier answers, at most one per connection. */
  readonly #spareBuffers: Buffer[] = [];

  constructor(target: NodeTarget, opts: { timeoutMs: number; connections: number }) {
    this.#target = target;
    this.#url = new URL(target.url);
    this.#basePath = this.#url.pathname === '/' ? '' : this.#url.pathname;
    this.#connections = opts.connections;
    const agentOptions = { keepAlive: true, maxSockets: opts.connections, timeout: IDLE_CONNECTION_MS };
    if (this.#url.protocol === 'https:') {
      this.#agent = new HttpsAgent({ ...agentOptions, ...tlsConnectOptions(target.tls) });
      this.#request = httpsRequest;
    } else {
      this.#agent = new HttpAgent(agentOptions);
      this.#request = httpRequest;
    }
  }

  /**
   * GETs `path` (with query) and parses JSON. `allowStatus` lists statuses other than 200 that
   * the caller handles itself (the body is then not parsed). `signal` is the deadline.
   */
  getJson(path: string, signal: AbortSignal, allowStatus: readonly number[] = []): Promise<JsonResponse> {
    return this.read(path, signal, (status, body) => ({ status, body: status === 200 ? this.parseJson(path, body) : snippet(body, 120) }), allowStatus);
  }

  /**
   * GETs `path` as getJson does and hands the body's bytes to `use`. They are valid only while
   * `use` runs: the buffer is reused for a later answer, so that reading 22 MB of pages per
   * scrape does not allocate (and fault in) 22 MB of fresh memory each time.
   */
  async read<T>(path: string, signal: AbortSignal, use: (status: number, body: Buffer) => T, allowStatus: readonly number[] = []): Promise<T> {
    const where = `${this.#target.url}${path}`;
    let answer: Answer;
    try {
      answer = await this.#get(path, signal, where);
    } catch (err) {
      throw classify(err, where, signal);
    }
    try {
      if (answer.status !== 200 && !allowStatus.includes(answer.status)) {
        const text = snippet(answer.body, 120);
        throw new ScrapeError('http_status', `GET ${where} answered HTTP ${answer.status}${text ? `: ${text}` : ''}`);
      }
      return use(answer.status, answer.body);
    } finally {
      answer.release();
    }
  }

  /** The JSON in a body read() gave for `path`, or an invalid_response error that shows its start. */
  parseJson(path: string, body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ScrapeError('invalid_response', `GET ${this.#target.url}${path} did not answer JSON (${body.length} bytes starting "${snippet(body, 60)}")`);
    }
  }

  #takeBuffer(): Buffer {
    return this.#spareBuffers.pop() ?? Buffer.allocUnsafeSlow(FIRST_BODY_BYTES);
  }

  #keepBuffer(buffer: Buffer): void {
    if (buffer.length <= MAX_KEPT_BODY_BYTES && this.#spareBuffers.length < this.#connections) this.#spareBuffers.push(buffer);
  }

  #get(path: string, signal: AbortSignal, where: string): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#target.authorization) headers['authorization'] = this.#target.authorization.reveal();
    return new Promise((resolve, reject) => {
      const req = this.#request({
        protocol: this.#url.protocol,
        hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
        port: this.#url.port,
        path: this.#basePath + path,
        method: 'GET',
        headers,
        agent: this.#agent,
        signal,
      }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const length = Number(res.headers['content-length']);
        if (status === 200 && Number.isFinite(length) && length > MAX_BODY_BYTES) {
          res.destroy();
          reject(new ScrapeError('invalid_response', `GET ${where} announced ${length} bytes, more than ${MAX_BODY_BYTES}`));
          return;
        }
        // Kept as bytes: a channelsz page is read from them without ever becoming one string.
        let buffer: Buffer | undefined = this.#takeBuffer();
        let size = 0;
        const fail = (err: Error) => {
          if (buffer) this.#keepBuffer(buffer);
          buffer = undefined;
          reject(err);
        };
        res.on('data', (part: Buffer) => {
          if (!buffer) return;
          if (size + part.length > MAX_BODY_BYTES) {
            res.destroy();
            fail(new ScrapeError('invalid_response', `GET ${where} sent more than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          if (size + part.length > buffer.length) {
            const bigger = Buffer.allocUnsafeSlow(Math.max(2 * buffer.length, size + part.length));
            buffer.copy(bigger, 0, 0, size);
            buffer = bigger;
          }
          part.copy(buffer, size);
          size += part.length;
        });
        res.once('end', () => {
          const body = buffer;
          if (!body) return;
          buffer = undefined;
          resolve({ status, body: body.subarray(0, size), release: () => this.#keepBuffer(body) });
        });
        res.once('error', (err: NodeJS.ErrnoException) => fail(signal.aborted ? err : new BrokenBody(err.code)));
      });
      req.once('error', reject);
      req.end();
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}

/** The start of a body as one line of text, for an error message. */
function snippet(body: Buffer, characters: number): string {
  return body.toString('utf8', 0, Math.min(body.length, characters * 4)).slice(0, characters).replace(/\s+/g, ' ').trim();
}

function classify(err: unknown, where: string, signal: AbortSignal): ScrapeError {
  if (err instanceof ScrapeError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  if (signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError') {
    return new ScrapeError('timeout', `GET ${where} did not answer within the timeout`);
  }
  if (err instanceof BrokenBody) {
    return new ScrapeError('invalid_response', `GET ${where}: ${err.message} before its end`);
  }
  return new ScrapeError('connect', `GET ${where} failed: ${e.code ?? e.message ?? String(err)}${tlsFailureHint(e.code, where)}`);
}
