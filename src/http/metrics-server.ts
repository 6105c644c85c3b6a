import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Express, RequestHandler } from 'express';
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
 * https as the file says. This module (TLS, bcrypt) is loaded only with a web config.
 */
export function createMetricsServer(app: Express, webConfig: WebConfig, log: Logger): MetricsServer {
  if (webConfig.tls) return { server: createTlsServer(webConfig.tls, app, log), scheme: 'https' };
  return { server: http.createServer(app), scheme: 'http' };
}

/** The web config's headers on every answer, and its basic auth before the app sees the request. */
export function webConfigAccess(webConfig: WebConfig, log: Logger): RequestHandler {
  const auth = webConfig.users.size > 0 ? new BasicAuth(webConfig.users) : undefined;
  const headers = webConfig.headers;
  return (req, res, next) => {
    res.set(headers);
    if (!auth || webConfig.authExcludedPaths.has(req.path)) {
      next();
      return;
    }
    auth.check(req.headers.authorization).then(
      (ok) => {
        if (ok) {
          next();
          return;
        }
        log.debug(
          { remote: req.socket.remoteAddress, path: req.path, credentials: req.headers.authorization ? 'wrong' : 'none' },
          'request refused: basic auth',
        );
        res
          .status(401)
          .set('www-authenticate', 'Basic realm="nats-queue-exporter", charset="UTF-8"')
          .type('text/plain; charset=utf-8')
          .send('Unauthorized: this exporter needs a user and password (basic auth)\n');
      },
      (err: unknown) => next(err),
    );
  };
}
