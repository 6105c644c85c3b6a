import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ServerTarget } from '../../config.js';
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

export interface BytesResponse {
  status: number;
  body: Buffer;
}

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
  readonly #target: ServerTarget;
  readonly #url: URL;
  readonly #basePath: string;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor(target: ServerTarget, opts: { timeoutMs: number; connections: number }) {
    this.#target = target;
    this.#url = new URL(target.url);
    this.#basePath = this.#url.pathname === '/' ? '' : this.#url.pathname;
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
  async getJson(path: string, signal: AbortSignal, allowStatus: readonly number[] = []): Promise<JsonResponse> {
    const res = await this.getBytes(path, signal, allowStatus);
    if (res.status !== 200) return { status: res.status, body: snippet(res.body, 120) };
    return { status: res.status, body: this.parseJson(path, res.body) };
  }

  /** GETs `path` as getJson does and gives the body's bytes as they came. */
  async getBytes(path: string, signal: AbortSignal, allowStatus: readonly number[] = []): Promise<BytesResponse> {
    const where = `${this.#target.url}${path}`;
    let res: BytesResponse;
    try {
      res = await this.#get(path, signal, where);
    } catch (err) {
      throw classify(err, where, signal);
    }
    if (res.status !== 200 && !allowStatus.includes(res.status)) {
      const text = snippet(res.body, 120);
      throw new ScrapeError('http_status', `GET ${where} answered HTTP ${res.status}${text ? `: ${text}` : ''}`);
    }
    return res;
  }

  /** The JSON in a body getBytes gave for `path`, or an invalid_response error that shows its start. */
  parseJson(path: string, body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new ScrapeError('invalid_response', `GET ${this.#target.url}${path} did not answer JSON (${body.length} bytes starting "${snippet(body, 60)}")`);
    }
  }

  #get(path: string, signal: AbortSignal, where: string): Promise<BytesResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#target.authorization) headers['authorization'] = this.#target.authorization;
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
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (part: Buffer) => {
          size += part.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            reject(new ScrapeError('invalid_response', `GET ${where} sent more than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          parts.push(part);
        });
        res.once('end', () => resolve({ status, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size) }));
        res.once('error', (err: NodeJS.ErrnoException) => reject(signal.aborted ? err : new BrokenBody(err.code)));
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
