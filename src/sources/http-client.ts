import type { Dispatcher, Pool } from 'undici';
import type { NodeTarget } from '../targets.js';
import { tlsConnectOptions, tlsFailureHint } from '../monitor-access.js';
import { undici } from '../node-builtins.js';
import type { AnswerCap } from './answer-caps.js';
import { answerExcerpt, targetSecrets } from './answer-excerpt.js';
import { ScrapeError } from './scrape-error.js';

/** How long an idle keep-alive connection is kept for the next scrape. */
const IDLE_CONNECTION_MS = 30_000;
/** Of an answer other than 200 only the start is read, for the error; the rest is not. */
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

/** undici's codes for a deadline of its own that passed: they read as the scrape's timeout. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Keep-alive HTTP to one server's monitoring port through an undici Pool of at most
 * `connections` connections. Every failure becomes a ScrapeError with a reason; its message
 * never holds credentials, and text it quotes from an answer is a short excerpt with the
 * target's secrets removed.
 */
export class MonitorHttpClient {
  readonly #target: NodeTarget;
  readonly #basePath: string;
  readonly #origin: string;
  readonly #poolOptions: Pool.Options;
  /** Made at the first request: an exporter that has not scraped yet has not loaded undici. */
  #pool: Pool | undefined;
  readonly #headers: Record<string, string>;
  readonly #secrets: readonly string[];
  readonly #connections: number;
  /** Body buffers of earlier answers, at most one per connection. */
  readonly #spareBuffers: Buffer[] = [];

  constructor(target: NodeTarget, opts: { timeoutMs: number; connections: number }) {
    this.#target = target;
    const url = new URL(target.url);
    this.#basePath = url.pathname === '/' ? '' : url.pathname;
    this.#connections = opts.connections;
    this.#origin = url.origin;
    // undici's own timeouts back up the scrape's deadline (the signal of each request), which ends first.
    this.#poolOptions = {
      connections: opts.connections,
      keepAliveTimeout: IDLE_CONNECTION_MS,
      keepAliveMaxTimeout: IDLE_CONNECTION_MS,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      ...(url.protocol === 'https:' && { connect: tlsConnectOptions(target.tls) }),
    };
    this.#headers = { accept: 'application/json' };
    if (target.authorization) this.#headers['authorization'] = target.authorization.reveal();
    this.#secrets = targetSecrets(target.authorization?.reveal());
  }

  /**
   * GETs `path` (with query) and parses JSON. `allowStatus` lists statuses other than 200 that
   * the caller handles itself (the body is then an excerpt, not parsed). `signal` is the deadline.
   */
  getJson(path: string, signal: AbortSignal, cap: AnswerCap, allowStatus: readonly number[] = []): Promise<JsonResponse> {
    return this.read(path, signal, cap, (status, body) => ({ status, body: status === 200 ? this.parseJson(path, body) : this.#excerpt(body) }), allowStatus);
  }

  /**
   * GETs `path` as getJson does and hands the body's bytes to `use`. They are valid only while
   * `use` runs: the buffer is reused for a later answer, so that reading a large server's pages
   * each scrape does not allocate (and fault in) as much fresh memory each time. A body longer than
   * `cap` is not read past the cap: the server's part of the scrape fails with an error that
   * names the endpoint, the cap and the flag that raises it.
   */
  async read<T>(path: string, signal: AbortSignal, cap: AnswerCap, use: (status: number, body: Buffer) => T, allowStatus: readonly number[] = []): Promise<T> {
    const where = `${this.#target.url}${path}`;
    let answer: Answer;
    try {
      answer = await this.#get(path, signal, where, cap);
    } catch (err) {
      throw this.#classify(err, where, signal);
    }
    try {
      if (answer.status !== 200 && !allowStatus.includes(answer.status)) {
        const text = this.#excerpt(answer.body);
        throw new ScrapeError('http_status', `GET ${where} answered HTTP ${answer.status}${text ? `: ${text}` : ''}`, answer.status);
      }
      return use(answer.status, answer.body);
    } catch (err) {
      // A parser's error may quote the answer.
      throw err instanceof ScrapeError ? new ScrapeError(err.reason, answerExcerpt(err.message, this.#secrets, Infinity), err.status) : err;
    } finally {
      answer.release();
    }
  }

  /** The JSON in a body read() gave for `path`, or an invalid_response error that shows its start. */
  parseJson(path: string, body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ScrapeError(
        'invalid_response',
        `GET ${this.#target.url}${path} did not answer JSON (${body.length} bytes starting "${this.#excerpt(body, 60)}")`,
      );
    }
  }

  /** The start of a body as one line of text for an error message, without the target's secrets. */
  #excerpt(body: Buffer, characters?: number): string {
    return answerExcerpt(body.toString('utf8', 0, Math.min(body.length, ERROR_BODY_BYTES)), this.#secrets, characters);
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

  async #get(path: string, signal: AbortSignal, where: string, firstCap: AnswerCap): Promise<Answer> {
    this.#pool ??= new (undici().Pool)(this.#origin, this.#poolOptions);
    const res = await this.#pool.request({ method: 'GET', path: this.#basePath + path, headers: this.#headers, signal });
    try {
      return await this.#collect(res, where, firstCap);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (err instanceof ScrapeError || signal.aborted || (code !== undefined && TIMEOUT_CODES.has(code))) throw err;
      throw new BrokenBody(code);
    } finally {
      // A body left unread (cut off at its cap, or an error answer's rest) closes its connection.
      if (!res.body.readableEnded) res.body.destroy();
    }
  }

  /** Reads `res`'s body into one buffer as it streams, never past its cap. */
  async #collect(res: Dispatcher.ResponseData, where: string, firstCap: AnswerCap): Promise<Answer> {
    const status = res.statusCode;
    const announced = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
    const length = announced !== undefined && Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined;
    const announcedTooMuch = (cap: AnswerCap) =>
      new ScrapeError('invalid_response', `GET ${where} announced ${length} bytes, more than its cap; ${cap.sizedFor}`);
    let cap = firstCap;
    if (status === 200 && length !== undefined && length > cap.bytes && !cap.fromHead) throw announcedTooMuch(cap);
    // Of another status only the start is read: it is quoted in the error, never parsed.
    let most = status === 200 ? cap.bytes : ERROR_BODY_BYTES;
    // Kept as bytes: a channelsz page is read from them without ever becoming one string.
    const first = this.#takeBuffer(length === undefined ? undefined : Math.min(length, most));
    // Parts past the buffer's end are joined only once the answer is complete, so a body cut off
    // at its cap allocates nothing beyond the parts themselves.
    const overflow: Buffer[] = [];
    let buffered = 0;
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        let part = chunk;
        if (size + part.length > most && status === 200 && cap.fromHead) {
          // An answer that says at its start how large it may be gets that cap, once.
          cap = cap.fromHead(Buffer.concat([first.subarray(0, buffered), ...overflow, part]).toString('latin1', 0, HEAD_BYTES));
          most = cap.bytes;
          if (length !== undefined && length > most) throw announcedTooMuch(cap);
        }
        if (size + part.length > most) {
          if (status === 200) throw new ScrapeError('invalid_response', `GET ${where} sent more than its cap and was cut off; ${cap.sizedFor}`);
          part = part.subarray(0, most - size);
        }
        if (overflow.length === 0 && buffered + part.length <= first.length) {
          part.copy(first, buffered);
          buffered += part.length;
        } else {
          overflow.push(part);
        }
        size += part.length;
        if (size === most && status !== 200) break;
      }
    } catch (err) {
      // Never grown for this answer: it is the size earlier answers needed.
      this.#keepBuffer(first, first.length);
      throw err;
    }
    let body = first;
    if (overflow.length > 0) {
      body = Buffer.allocUnsafeSlow(Math.min(most, Math.ceil(size * GROWTH)));
      first.copy(body, 0, 0, buffered);
      let at = buffered;
      // The spare that was too small is dropped, leaving its place to the larger one.
      for (const part of overflow) at += part.copy(body, at);
    }
    return { status, body: body.subarray(0, size), release: () => this.#keepBuffer(body, size) };
  }

  #classify(err: unknown, where: string, signal: AbortSignal): ScrapeError {
    if (err instanceof ScrapeError) return err;
    const e = err as { code?: string; name?: string; message?: string; data?: unknown };
    if (signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError' || (e.code !== undefined && TIMEOUT_CODES.has(e.code))) {
      return new ScrapeError('timeout', `GET ${where} did not answer within the timeout`);
    }
    if (err instanceof BrokenBody) {
      return new ScrapeError('invalid_response', `GET ${where}: ${err.message} before its end`);
    }
    // A NATS port greets every connection with INFO {...}; undici's parser quotes from where it failed, past the I.
    if (e.name === 'HTTPParserError' && typeof e.data === 'string' && /^I?NFO \{/.test(e.data)) {
      return new ScrapeError('connect', `GET ${where} failed: this port speaks the NATS protocol, not HTTP: give the monitoring port (-m, often 8222)`);
    }
    return new ScrapeError('connect', `GET ${where} failed: ${e.code ?? e.message ?? String(err)}${tlsFailureHint(e.code, where)}`);
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
  }
}
