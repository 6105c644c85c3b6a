import type { RequestListener } from 'node:http';
import type { Collector } from '../collector.js';
import type { Logger } from '../log.js';
import { CONTENT_TYPES, ExpositionWriter } from '../metrics/exposition.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { writeServerFamilies } from '../metrics/server-metrics.js';
import { writeClientFamilies } from '../metrics/client-metrics.js';
import { writeNssFamilies } from '../metrics/nss-compat.js';
import { ClientGoneError } from './client-gone-error.js';
import { startMetricsBody } from './metrics-body.js';
import { acceptsGzip, negotiateFormat } from './negotiation.js';
import type { WatchedHistory } from './status/watched-history.js';
import { Router, send } from './router.js';
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

/** The metrics listener's paths: /metrics, /healthz, /readyz and the status page. */
export function createApp(deps: AppDeps): RequestListener {
  const router = new Router();

  router.get('/metrics', async (req, res) => {
    const format = negotiateFormat(req.headers.accept);
    try {
      const snapshot = await deps.collector.collect();
      const own = await deps.selfMetrics.render(format);
      const body = startMetricsBody(res, CONTENT_TYPES[format], acceptsGzip(req.headers['accept-encoding']));
      const out = new ExpositionWriter(format, body.sink);
      await writeServerFamilies(snapshot, out, { subscriptionMetrics: deps.subscriptionMetrics });
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
        res.removeHeader('content-encoding');
        res.removeHeader('vary');
        send(res, 500, 'text/plain; charset=utf-8', `nats-queue-exporter could not render metrics: ${(err as Error).message}\n`);
      } else {
        res.destroy(err as Error);
      }
    }
  });

  router.get('/healthz', (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'));

  router.get('/readyz', (_req, res) => {
    if (deps.isReady()) send(res, 200, 'text/plain; charset=utf-8', 'ready\n');
    else send(res, 503, 'text/plain; charset=utf-8', 'not ready\n');
  });

  addStatusRoutes(router, deps);
  return router.listener(deps.log);
}
