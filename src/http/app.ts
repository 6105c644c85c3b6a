import express, { type Express, type Request, type Response } from 'express';
import type { Collector } from '../collector.js';
import type { Logger } from '../log.js';
import { CONTENT_TYPES, ExpositionWriter } from '../metrics/exposition.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { writeStanFamilies } from '../metrics/stan-metrics.js';
import { writeClientFamilies } from '../metrics/client-metrics.js';
import { writeNssFamilies } from '../metrics/nss-compat.js';
import { ClientGoneError } from './client-gone-error.js';
import { startMetricsBody } from './metrics-body.js';
import { acceptsGzip, negotiateFormat } from './negotiation.js';
import type { WatchedHistory } from './status/watched-history.js';
import { addStatusRoutes } from './status/routes.js';

export interface AppDeps {
  collector: Collector;
  /** What the collector has seen lately while someone looks, for / and /api/v1/queues. */
  history: WatchedHistory;
  selfMetrics: SelfMetrics;
  log: Logger;
  version: string;
  subscriptionMetrics: boolean;
  /** --nss-compat: the nss_* families after this exporter's own. */
  nssCompat: boolean;
  /** False until the listener is up and while shutting down. */
  isReady: () => boolean;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/metrics', async (req: Request, res: Response) => {
    const format = negotiateFormat(req.get('accept'));
    try {
      const snapshot = await deps.collector.collect();
      const own = await deps.selfMetrics.render(format);
      const body = startMetricsBody(res, CONTENT_TYPES[format], acceptsGzip(req.get('accept-encoding')));
      const out = new ExpositionWriter(format, body.sink);
      await writeStanFamilies(snapshot, out, { subscriptionMetrics: deps.subscriptionMetrics });
      await writeClientFamilies(snapshot, out);
      if (deps.nssCompat) await writeNssFamilies(snapshot, out);
      // In OpenMetrics this ends with # EOF, so it goes last.
      out.text(own);
      await out.end();
      await body.end();
    } catch (err) {
      if (err instanceof ClientGoneError || res.destroyed) {
        res.destroy();
        deps.log.debug({ err }, 'the client of /metrics went away before the answer was written');
        return;
      }
      deps.log.error({ err }, 'rendering /metrics failed');
      if (!res.headersSent) {
        res.removeHeader('Content-Encoding');
        res.status(500).type('text/plain').send(`nats-queue-exporter could not render metrics: ${(err as Error).message}\n`);
      } else {
        res.destroy(err as Error);
      }
    }
  });

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });

  app.get('/readyz', (_req, res) => {
    if (deps.isReady()) res.type('text/plain').send('ready\n');
    else res.status(503).type('text/plain').send('not ready\n');
  });

  addStatusRoutes(app, deps);

  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('not found: see / for the endpoints\n');
  });

  return app;
}
