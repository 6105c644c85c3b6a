import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

/** Answers one GET (and HEAD: Node leaves the body out) of a path. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * The listener's few fixed paths, each a GET, on node:http directly. Express did this for us and
 * cost 10-14 MB of every process's memory (npm run footprint), more than a sidecar's margin.
 */
export class Router {
  readonly #routes = new Map<string, Handler>();

  get(path: string, handler: Handler): this {
    this.#routes.set(path, handler);
    return this;
  }

  /** The request listener: the path without its query (and a trailing slash), 405 for other methods, 404 for other paths. */
  listener(log: Logger): RequestListener {
    return (req, res) => {
      const raw = (req.url ?? '/').split('?')[0]!;
      const path = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
      const handler = this.#routes.get(path);
      if (!handler) {
        send(res, 404, 'text/plain; charset=utf-8', 'not found: see / for the endpoints\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        send(res, 405, 'text/plain; charset=utf-8', `${req.method ?? ''} is not allowed on ${path}: use GET\n`);
        return;
      }
      Promise.resolve()
        .then(() => handler(req, res))
        .catch((err: unknown) => {
          log.error({ err, path }, 'answering a request failed');
          if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `nats-queue-exporter could not answer ${path}: ${(err as Error).message}\n`);
          else res.destroy(err as Error);
        });
    };
  }
}

/** A whole answer at once. */
export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body);
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('content-length', bytes.length);
  res.end(bytes);
}
