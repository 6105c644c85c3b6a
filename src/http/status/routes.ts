import type { Express, Response } from 'express';
import type { Collector, ScrapeCadence } from '../../collector.js';
import { ClientGoneError } from '../client-gone-error.js';
import { getRoute } from '../get-route.js';
import { acceptsGzip, startAnswerBody } from '../metrics-body.js';
import type { WatchedCollections } from './watched-collections.js';
import { STATUS_PAGE_CSS, STATUS_PAGE_SCRIPT, statusPageHtml } from './page.js';
import { STATUS_RULES } from './rules.js';
import { statusJson } from './view.js';

/** Same-origin script and style only: no inline code, nothing from elsewhere, no framing. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface StatusDeps {
  collector: Collector;
  history: WatchedCollections;
  version: string;
}

/**
 * How old a collection the page may show. While /metrics is scraped, anything up to 1.5 of its
 * intervals (so the page never adds a sweep of NATS); otherwise STATUS_RULES.freshSeconds.
 */
export function maxCollectionAgeMs(cadence: ScrapeCadence | undefined): number {
  const fresh = STATUS_RULES.freshSeconds * 1000;
  if (cadence?.intervalMs === undefined) return fresh;
  const reuse = Math.min(1.5 * cadence.intervalMs, STATUS_RULES.maxReuseSeconds * 1000);
  return cadence.sinceLastMs < reuse ? Math.max(fresh, reuse) : fresh;
}

/** The headers every answer of the page carries. */
function secure(res: Response): Response {
  return res.set({
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
}

/**
 * `/`, its script and style, and `/api/v1/queues`. The page's script and style are strings built
 * with the page (page.ts), not files, so they are answered as the page is.
 */
export function addStatusRoutes(app: Express, deps: StatusDeps): void {
  const html = statusPageHtml(deps.version);
  getRoute(app, '/', (_req, res) => {
    secure(res).type('text/html; charset=utf-8').send(html);
  });
  getRoute(app, '/status.js', (_req, res) => {
    secure(res).type('text/javascript; charset=utf-8').send(STATUS_PAGE_SCRIPT);
  });
  getRoute(app, '/status.css', (_req, res) => {
    secure(res).type('text/css; charset=utf-8').send(STATUS_PAGE_CSS);
  });
  // Browsers ask for it; an answer keeps their consoles clean.
  getRoute(app, '/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  getRoute(app, '/api/v1/queues', async (req, res) => {
    const history = deps.history.view();
    // A history that starts now has no collection yet: it needs one (shared if one runs).
    await deps.collector.refresh(history.collectedAt === undefined ? 0 : maxCollectionAgeMs(deps.collector.scrapeCadence()));
    const body = startAnswerBody(secure(res), 'application/json; charset=utf-8', acceptsGzip(req) ? 'gzip' : 'identity');
    try {
      for (const chunk of statusJson(deps.version, deps.collector.lastResults(), history)) {
        await new Promise<void>((resolve, reject) => body.sink(Buffer.from(chunk), (err) => (err ? reject(err) : resolve())));
      }
      await body.end();
    } catch (err) {
      if (!(err instanceof ClientGoneError)) throw err;
      res.destroy();
    }
  });
}
