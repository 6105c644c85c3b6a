import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Collector } from '../collector.js';
import type { Logger } from '../log.js';
import type { Snapshot } from '../model/types.js';
import { CONTENT_TYPES, type ExpositionFormat, ExpositionWriter } from '../metrics/exposition.js';
import type { SelfMetrics } from '../metrics/self-metrics.js';
import { DETAILED_FAMILIES, writeServerFamilies } from '../metrics/server-metrics.js';
import { writeClientFamilies } from '../metrics/client-metrics.js';
import { writeNssFamilies } from '../metrics/nss-compat.js';
import { ClientGoneError } from './client-gone-error.js';
import { getRoute, PLAIN_TEXT } from './get-route.js';
import { acceptsGzip, startAnswerBody } from './metrics-body.js';
import { SegmentCache } from '../metrics/segment-cache.js';
import type { WatchedCollections } from './status/watched-collections.js';
import { addStatusRoutes } from './status/routes.js';

export interface AppDeps {
  collector: Collector;
  /** What the collector has seen lately while someone looks, for / and /api/v1/queues. */
  history: WatchedCollections;
  selfMetrics: SelfMetrics;
  log: Logger;
  version: string;
  /** --detailed-metrics: /metrics serves the detailed families too. */
  detailedMetrics: boolean;
  /** --nss-compat: the nss_* families after this exporter's own. */
  nssCompat: boolean;
  /** False until the listener is up and while shutting down. */
  isReady: () => boolean;
  /** What runs before any path: the web config's headers and basic auth. */
  access?: RequestHandler;
  /** The compressed blocks of gzipped answers, kept from answer to answer (one is made when not given). */
  segments?: SegmentCache;
}

/**
 * The media types /metrics offers, in the order that wins a tie in a wildcard (a bare curl or a
 * browser gets the text format). Prometheus names OpenMetrics by version, and a type in Accept
 * with a version matches only an offer of that version, so both versions it asks for are offered;
 * the answer is 1.0.0 either way, which Prometheus parses by its media type alone.
 */
const OFFERS: ReadonlyArray<[string, ExpositionFormat]> = [
  ['text/plain; version=0.0.4', 'text'],
  ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
  ['application/openmetrics-text; version=0.0.1', 'openmetrics'],
];

/**
 * The format of the answer, by the quality the Accept header gives each offer; no header, or
 * one that accepts neither, gets the text format. One case req.accepts decides otherwise than a
 * strict "OpenMetrics only above text": when both are named with the same quality
 * ("application/openmetrics-text, text/plain"), the one the client names first wins.
 */
function expositionFormat(req: Request): ExpositionFormat {
  const chosen = req.accepts(OFFERS.map(([type]) => type));
  return OFFERS.find(([type]) => type === chosen)?.[1] ?? 'text';
}

/**
 * Channels from which a gzip-accepting scraper gets the answer gzipped, made of cached segments.
 * A smaller answer (a sidecar's) goes as it is: tens of kB, where the cache and the compressed
 * segments would cost more memory than the bytes they save on the wire (npm run footprint).
 */
const GZIP_FROM_CHANNELS = 50;

function largeAnswer(snapshot: Snapshot): boolean {
  let channels = 0;
  for (const server of snapshot.servers) channels += server.channels.length;
  return channels >= GZIP_FROM_CHANNELS;
}

/**
 * What an exposition path writes, in two steps: after the collection, what may still fail before
 * the answer starts (a 500 then); then the families into the answer.
 */
type Exposition = (snapshot: Snapshot, format: ExpositionFormat) => Promise<(out: ExpositionWriter) => Promise<void>>;

/**
 * The detailed families that /metrics/detailed's family=NAME (repeatable) keeps, every one
 * without it; or the names given that are no detailed family.
 */
function detailedSelection(req: Request): { families: ReadonlySet<string> | true } | { unknown: string[] } {
  const given = req.query['family'];
  if (given === undefined) return { families: true };
  const names = (Array.isArray(given) ? given : [given]).map(String);
  const unknown = names.filter((name) => !DETAILED_FAMILIES.includes(name));
  return unknown.length > 0 ? { unknown } : { families: new Set(names) };
}

/** The metrics listener's paths: /metrics, /metrics/detailed, /healthz, /readyz and the status page. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  const segments = deps.segments ?? new SegmentCache();
  app.disable('x-powered-by');
  // Every answer is made anew for its request: there is nothing for a client to revalidate.
  app.set('etag', false);
  app.set('trust proxy', false);
  // As auth_excluded_paths is matched: /Metrics is not /metrics.
  app.set('case sensitive routing', true);
  if (deps.access) app.use(deps.access);

  /** Answers with the families `exposition` writes, from the collection every exposition path shares. */
  const answerExposition = async (req: Request, res: Response, exposition: Exposition): Promise<void> => {
    const format = expositionFormat(req);
    try {
      const snapshot = await deps.collector.collect();
      const write = await exposition(snapshot, format);
      const gzipped = acceptsGzip(req) && largeAnswer(snapshot);
      const body = startAnswerBody(res, CONTENT_TYPES[format], gzipped ? 'gzipped' : 'identity');
      const out = new ExpositionWriter(format, body.sink, gzipped ? segments : undefined);
      await write(out);
      await out.end();
      await body.end();
    } catch (err) {
      if (err instanceof ClientGoneError || res.destroyed) {
        res.destroy();
        deps.log.debug({ err }, `the client of ${req.path} went away before the answer was written`);
        return;
      }
      deps.log.error({ err }, `rendering ${req.path} failed`);
      if (!res.headersSent) {
        res.removeHeader('content-encoding');
        res.removeHeader('vary');
        res
          .status(500)
          .type(PLAIN_TEXT)
          .send(`nats-queue-exporter could not render metrics: ${(err as Error).message}\n`);
      } else {
        res.destroy(err as Error);
      }
    }
  };

  getRoute(app, '/metrics', (req, res) =>
    answerExposition(req, res, async (snapshot, format) => {
      const own = await deps.selfMetrics.render(format);
      return async (out) => {
        await writeServerFamilies(snapshot, out, { default: true, detailed: deps.detailedMetrics });
        await writeClientFamilies(snapshot, out);
        if (deps.nssCompat) await writeNssFamilies(snapshot, out);
        // In OpenMetrics this ends with # EOF, so it goes last.
        out.text(own);
      };
    }),
  );

  // As RabbitMQ's /metrics/detailed: the per-object families nothing of this project reads, for a
  // scrape job of their own (docs/metrics.md#series-audit).
  getRoute(app, '/metrics/detailed', (req, res) => {
    const selection = detailedSelection(req);
    if ('unknown' in selection) {
      const names = selection.unknown.map((name) => JSON.stringify(name)).join(', ');
      res
        .status(400)
        .type(PLAIN_TEXT)
        .send(`family=${names}: no such family on /metrics/detailed; family= takes one of ${DETAILED_FAMILIES.join(', ')} (repeat it for more)\n`);
      return;
    }
    return answerExposition(req, res, async (snapshot, format) => async (out) => {
      await writeServerFamilies(snapshot, out, { default: false, detailed: selection.families });
      if (format === 'openmetrics') out.text('# EOF\n');
    });
  });

  getRoute(app, '/healthz', (_req, res) => {
    res.type(PLAIN_TEXT).send('ok\n');
  });

  getRoute(app, '/readyz', (_req, res) => {
    if (deps.isReady()) res.type(PLAIN_TEXT).send('ready\n');
    else res.status(503).type(PLAIN_TEXT).send('not ready\n');
  });

  addStatusRoutes(app, deps);

  app.use((_req, res) => {
    res.status(404).type(PLAIN_TEXT).send('not found: see / for the endpoints\n');
  });
  const failed: ErrorRequestHandler = (err: Error & { status?: number }, req, res, _next) => {
    // express's own refusals (a path it cannot decode, say) carry a 4xx status and a message meant for the client.
    const status = err.status !== undefined && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) deps.log.error({ err, path: req.path }, 'answering a request failed');
    if (res.headersSent) res.destroy(err);
    else if (status === 500) res.status(500).type(PLAIN_TEXT).send(`nats-queue-exporter could not answer ${req.path}: ${err.message}\n`);
    else res.status(status).type(PLAIN_TEXT).send(`${err.message}\n`);
  };
  app.use(failed);
  return app;
}
