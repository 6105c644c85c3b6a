import { Pool } from 'undici';
import type { ServerTarget } from '../../config.js';
import { tlsConnectOptions, tlsFailureHint } from '../../monitor-access.js';
import { ScrapeError } from '../scrape-error.js';

/** Bodies larger than this are refused instead of being read into memory. */
const MAX_BODY_BYTES = 512 * 1024 * 1024;

export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * Keep-alive HTTP to one server's monitoring port. Every failure becomes a ScrapeError with a
 * reason; the message never holds credentials.
 */
export class MonitorHttpClient {
  readonly #target: ServerTarget;
  readonly #pool: Pool;
  readonly #basePath: string;

  constructor(target: ServerTarget, opts: { timeoutMs: number; connections: number }) {
    this.#target = target;
    const url = new URL(target.url);
    this.#basePath = url.pathname === '/' ? '' : url.pathname;
    this.#pool = new Pool(url.origin, {
      connections: opts.connections,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: { timeout: opts.timeoutMs, ...tlsConnectOptions(target.tls) },
      keepAliveTimeout: 30_000,
    });
  }

  /**
   * GETs `path` (with query) and parses JSON. `allowStatus` lists statuses other than 200 that
   * the caller handles itself (the body is then not parsed).
   */
  async getJson(path: string, signal: AbortSignal, allowStatus: readonly number[] = []): Promise<JsonResponse> {
    const where = `${this.#target.url}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#target.authorization) headers.authorization = this.#target.authorization;
    let text: string;
    let status: number;
    try {
      const res = await this.#pool.request({ path: this.#basePath + path, method: 'GET', headers, signal });
      status = res.statusCode;
      if (status !== 200) {
        const snippet = (await res.body.text()).slice(0, 120).replace(/\s+/g, ' ').trim();
        if (allowStatus.includes(status)) return { status, body: snippet };
        throw new ScrapeError('http_status', `GET ${where} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`);
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > MAX_BODY_BYTES) {
        res.body.destroy();
        throw new ScrapeError('invalid_response', `GET ${where} announced ${length} bytes, more than ${MAX_BODY_BYTES}`);
      }
      text = await res.body.text();
    } catch (err) {
      throw classify(err, where, signal);
    }
    try {
      return { status, body: JSON.parse(text) };
    } catch {
      const snippet = text.slice(0, 60).replace(/\s+/g, ' ').trim();
      throw new ScrapeError('invalid_response', `GET ${where} did not answer JSON (${text.length} bytes starting "${snippet}")`);
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

function classify(err: unknown, where: string, signal: AbortSignal): ScrapeError {
  if (err instanceof ScrapeError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  if (signal.aborted || e.name === 'AbortError' || e.name === 'TimeoutError' ||
      e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new ScrapeError('timeout', `GET ${where} did not answer within the timeout`);
  }
  if (e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return new ScrapeError('invalid_response', `GET ${where} sent a body shorter or longer than its Content-Length`);
  }
  return new ScrapeError('connect', `GET ${where} failed: ${e.code ?? e.message ?? String(err)}${tlsFailureHint(e.code, where)}`);
}
