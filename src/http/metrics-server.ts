import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from '../log.js';
import { http } from '../node-builtins.js';
import { BasicAuth } from './basic-auth.js';
import { createTlsServer } from './tls.js';
import type { WebConfig } from './web-config.js';

export interface MetricsServer {
  server: Server | HttpsServer;
  scheme: 'http' | 'https';
}

/**
 * The listener for /metrics, /, /healthz and /readyz: plain http without a web config, else
 * https and/or basic auth as the file says. Basic auth runs before the app sees the request.
 */
export function createMetricsServer(app: RequestListener, webConfig: WebConfig | undefined, log: Logger): MetricsServer {
  const handler = webConfig ? guard(app, webConfig, log) : app;
  if (webConfig?.tls) return { server: createTlsServer(webConfig.tls, handler, log), scheme: 'https' };
  return { server: http.createServer(handler), scheme: 'http' };
}

function guard(app: RequestListener, webConfig: WebConfig, log: Logger): RequestListener {
  const auth = webConfig.users.size > 0 ? new BasicAuth(webConfig.users) : undefined;
  const headers = Object.entries(webConfig.headers);
  return (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    const path = (req.url ?? '/').split('?')[0]!;
    if (!auth || webConfig.authExcludedPaths.has(path)) {
      app(req, res);
      return;
    }
    auth.check(req.headers.authorization).then(
      (ok) => {
        if (ok) {
          app(req, res);
          return;
        }
        log.debug({ remote: req.socket.remoteAddress, path, credentials: req.headers.authorization ? 'wrong' : 'none' }, 'request refused: basic auth');
        res.writeHead(401, { 'www-authenticate': 'Basic realm="nats-queue-exporter", charset="UTF-8"', 'content-type': 'text/plain; charset=utf-8' });
        res.end('Unauthorized: this exporter needs a user and password (basic auth)\n');
      },
      (err: unknown) => {
        log.error({ err }, 'basic auth check failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('basic auth check failed\n');
      },
    );
  };
}
