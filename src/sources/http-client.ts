import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { NodeTarget } from '../targets.js';
import { tlsConnectOptions, tlsFailureHint } from '../monitor-access.js';
import { http, nodeHttps } from '../node-builtins.js';
import type { AnswerCap } from './answer-caps.js';
import { ScrapeError } from './scrape-error.js';

/** How long an idle keep-alive connection is kept for the next scrape. */
const IDLE_CONNECTION_MS = 30_000;
/** Of an answer other than 200 only the start is shown in the error; the rest is not read. */
const ERROR_BODY_BYTES = 4096;
/** How much of an answer's start AnswerCap.fromHead sees. */
const HEAD_BYTES = 8192;

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

/** First size of a body buffer; a larger answer gets one of its size (and room to grow) once it is complete. */
const FIRST_BODY_BYTES = 64 * 1024;
/** Body buffers larger than this are not kept for the next answer. */
const MAX_KEPT_BODY_BYTES = 16 * 1024 * 1024;
/**
 * A kept buffer may be this many times larger than the answer it held: one grown by a padded
 * answer is dropped at the next ordinary one, so memory does not stay at its high-water mark.
 */
const MAX_KEPT_SLACK = 4;
/** A buffer made for a complete answer larger than the spare one leaves this much room to grow. */
const GROWTH = 1.25;

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
  readonly #request: typeof http.request;
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
      const https = nodeHttps();
      this.#agent = new https.Agent({ ...agentOptions, ...tlsConnectOptions(target.tls) });
      this.#request = https.request;
    } else {
      this.#agent = new http.Agent(agentOptions);
      this.#request = http.request;
    }
  }

  /**
   * GETs `path` (with query) and parses JSON. `allowStatus` lists statuses other than 200 that
   * the caller handles itself (the body is then not parsed). `signal` is the deadline.
   */
  getJson(path: string, signal: AbortSignal, cap: AnswerCap, allowStatus: readonly number[] = []): Promise<JsonResponse> {
    return this.read(path, signal, cap, (status, body) => ({ status, body: status === 200 ? this.parseJson(path, body) : snippet(body, 120) }), allowStatus);
  }

  /**
   * GETs `path` as getJson does and hands the body's bytes to `use`. They are valid only while
   * `use` runs: the buffer is reused for a later answer, so that reading 22 MB of pages per
   * scrape does not allocate (and fault in) 22 MB of fresh memory each time. A body longer than
   * `cap` is not read past the cap: the server's part of the scrape fails with an error that
   * names the endpoint, the cap and the flag that raises it.
   */
  async read<T>(path: string, signal: AbortSignal, cap: AnswerCap, use: (status: number, body: Buffer) => T, allowStatus: readonly number[] = []): Promise<T> {
    const where = `${this.#target.url}${path}`;
    let answer: Answer;
    try {
      answer = await this.#get(path, signal, where, cap);
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

  /** A buffer for a body of `length` bytes when the answer announced it, else a spare one. */
  #takeBuffer(length: number | undefined): Buffer {
    // Small announced bodies (serverz, storez) take from Node's pool and leave the spares to pages.
    if (length !== undefined && length <= FIRST_BODY_BYTES) return Buffer.allocUnsafe(length);
    const spare = this.#spareBuffers.pop();
    if (spare && (length === undefined || spare.length >= length)) return spare;
    if (spare) this.#spareBuffers.push(spare);
    return Buffer.allocUnsafeSlow(length ?? FIRST_BODY_BYTES);
  }

  /** Keeps a page buffer for the next answer unless it is far larger than the answer it held. */
  #keepBuffer(buffer: Buffer, used: number): void {
    if (buffer.length < FIRST_BODY_BYTES || buffer.length > MAX_KEPT_BODY_BYTES || this.#spareBuffers.length >= this.#connections) return;
    if (buffer.length > FIRST_BODY_BYTES && buffer.length > MAX_KEPT_SLACK * used) return;
    this.#spareBuffers.push(buffer);
  }

  #get(path: string, signal: AbortSignal, where: string, firstCap: AnswerCap): Promise<Answer> {
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
        const announced = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
        const length = announced !== undefined && Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined;
        const announcedTooMuch = (cap: AnswerCap) => new ScrapeError('invalid_response', `GET ${where} announced ${length} bytes, more than its cap; ${cap.sizedFor}`);
        let cap = firstCap;
        if (status === 200 && length !== undefined && length > cap.bytes && !cap.fromHead) {
          res.destroy();
          reject(announcedTooMuch(cap));
          return;
        }
        // Of another status only the start is read: it is shown in the error, never parsed.
        let most = status === 200 ? cap.bytes : ERROR_BODY_BYTES;
        // Kept as bytes: a channelsz page is read from them without ever becoming one string.
        let buffer: Buffer | undefined = this.#takeBuffer(length === undefined ? undefined : Math.min(length, most));
        // Parts past the buffer's end are joined only once the answer is complete, so a body cut
        // off at its cap allocates nothing beyond the parts themselves.
        let overflow: Buffer[] = [];
        let buffered = 0;
        let size = 0;
        const settle = (failure?: Error) => {
          const first = buffer;
          if (!first) return;
          buffer = undefined;
          const parts = overflow;
          overflow = [];
          if (failure) {
            // Never grown for this answer: it is the size earlier answers needed.
            this.#keepBuffer(first, first.length);
            reject(failure);
            return;
          }
          let body = first;
          if (parts.length > 0) {
            body = Buffer.allocUnsafeSlow(Math.min(most, Math.ceil(size * GROWTH)));
            first.copy(body, 0, 0, buffered);
            let at = buffered;
            // The spare that was too small is dropped, leaving its place to the larger one.
            for (const part of parts) at += part.copy(body, at);
          }
          resolve({ status, body: body.subarray(0, size), release: () => this.#keepBuffer(body, size) });
        };
        res.on('data', (part: Buffer) => {
          if (!buffer) return;
          if (size + part.length > most && status === 200 && cap.fromHead) {
            // An answer that says at its start how large it may be gets that cap, once.
            cap = cap.fromHead(Buffer.concat([buffer.subarray(0, buffered), ...overflow, part]).toString('latin1', 0, HEAD_BYTES));
            most = cap.bytes;
            if (length !== undefined && length > most) {
              res.destroy();
              settle(announcedTooMuch(cap));
              return;
            }
          }
          if (size + part.length > most) {
            if (status === 200) {
              res.destroy();
              settle(new ScrapeError('invalid_response', `GET ${where} sent more than its cap and was cut off; ${cap.sizedFor}`));
              return;
            }
            part = part.subarray(0, most - size);
            res.destroy();
          }
          if (overflow.length === 0 && buffered + part.length <= buffer.length) {
            part.copy(buffer, buffered);
            buffered += part.length;
          } else {
            overflow.push(part);
          }
          size += part.length;
          if (size === most && status !== 200) settle();
        });
        res.once('end', () => settle());
        res.once('error', (err: NodeJS.ErrnoException) => settle(signal.aborted ? err : new BrokenBody(err.code)));
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
