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
    const where = `${this.#target.url}${path}`;
    let status: number;
    let body: string;
    try {
      ({ status, body } = await this.#get(path, signal, where));
    } catch (err) {
      throw classify(err, where, signal);
    }
    if (status !== 200) {
      const snippet = body.slice(0, 120).replace(/\s+/g, ' ').trim();
      if (allowStatus.includes(status)) return { status, body: snippet };
      throw new ScrapeError('http_status', `GET ${where} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`);
    }
    try {
      return { status, body: JSON.parse(body) };
    } catch {
      const snippet = body.slice(0, 60).replace(/\s+/g, ' ').trim();
      throw new ScrapeError('invalid_response', `GET ${where} did not answer JSON (${body.length} characters starting "${snippet}")`);
    }
  }

  #get(path: string, signal: AbortSignal, where: string): Promise<{ status: number; body: string }> {
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
        // Decoded as it arrives: the socket's chunks are freed at once and no second copy of the
        // whole body is made outside the JavaScript heap.
        res.setEncoding('utf8');
        const parts: string[] = [];
        let size = 0;
        res.on('data', (part: string) => {
          size += part.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy();
            reject(new ScrapeError('invalid_response', `GET ${where} sent more than ${MAX_BODY_BYTES} characters`));
            return;
          }
          parts.push(part);
        });
        res.once('end', () => resolve({ status, body: parts.join('') }));
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
