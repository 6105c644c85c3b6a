import type { ServerResponse } from 'node:http';
import { boundUrl } from './bound-url.js';
import { Collector, type ServerSource } from './collector.js';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { SegmentCache } from './metrics/segment-cache.js';
import { WatchedCollections } from './http/status/watched-collections.js';
import { ListenError } from './listen-error.js';
import { createLogger, type Logger } from './log.js';
import { http } from './node-builtins.js';
import { SelfMetrics } from './metrics/self-metrics.js';
import { type RunningProbeListener, startProbeListener } from './reports/start.js';
import { ProbeMemoryBound } from './reports/memory-bound.js';
import { ProbeStore } from './reports/store.js';
import { AnswerCaps } from './sources/answer-caps.js';
import { JetStreamSource } from './sources/jetstream/source.js';
import { StanSource } from './sources/stan/source.js';
import { subjectFilter } from './subjects.js';
import { VERSION } from './version.js';

export interface RunningExporter {
  /** http(s)://host:port of the metrics listener. */
  url: string;
  /** http://host:port of the probe listener; undefined with --probe-listen off. */
  probeUrl: string | undefined;
  /** Stops listening, lets the requests in flight finish and answer (up to graceMs), closes connections. */
  close(graceMs?: number): Promise<void>;
}

/** Resolves when `res` is written whole, or its client went away. */
function answered(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}

/** Wires config -> sources -> collector -> http and starts listening. */
export async function startExporter(config: Config, log: Logger = createLogger(config.logLevel)): Promise<RunningExporter> {
  for (const warning of config.warnings) log.warn(warning);
  const selectSubject = subjectFilter(config.subjects, config.excludeSubjects);
  const sourceOptions = {
    timeoutMs: config.timeoutSeconds * 1000,
    pageSize: config.pageSize,
    selectSubject,
    ageLookups: config.ageLookups,
    nssCompat: config.nssCompat,
    caps: new AnswerCaps(config.answerCapFactor),
  };
  const sources: ServerSource[] = config.servers.map((target) =>
    target.backend === 'jetstream' ? new JetStreamSource(target, sourceOptions) : new StanSource(target, sourceOptions),
  );
  const selfMetrics = new SelfMetrics(
    VERSION,
    config.servers.flatMap((s) => s.nodes),
  );
  const probeMemory = new ProbeMemoryBound(config.probeMaxBytes);
  const probeStore = config.probeListen
    ? new ProbeStore({ ttlMs: config.probeTtlSeconds * 1000, maxSeries: config.probeMaxSeries, memory: probeMemory })
    : undefined;
  const history = new WatchedCollections();
  const collector = new Collector(sources, log, selfMetrics, {
    clientReports: probeStore,
    subjectsAuto: config.subjectsAuto,
    onCollection: (snapshot) => history.record(snapshot),
  });
  let ready = false;
  // TLS and bcrypt are loaded only with a web config: without one (every sidecar) they would cost
  // memory in every pod for nothing.
  const web = config.webConfig && { config: config.webConfig, module: await import('./http/metrics-server.js') };
  const segments = new SegmentCache();
  selfMetrics.watchCacheBytes(() => sources.reduce((bytes, source) => bytes + (source.cacheBytes?.() ?? 0), segments.bytes));
  const app = createApp({
    collector,
    history,
    segments,
    selfMetrics,
    log,
    version: VERSION,
    detailedMetrics: config.detailedMetrics,
    nssCompat: config.nssCompat,
    isReady: () => ready,
    ...(web && { access: web.module.webConfigAccess(web.config, log) }),
  });
  const { server, scheme } = web ? web.module.createMetricsServer(app, web.config, log) : { server: http.createServer(app), scheme: 'http' as const };
  // The requests being answered, so that closing waits for them (a scrape may wait on a slow server).
  const answering = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    answering.add(res);
    void answered(res).then(() => answering.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(config.listenInput, config.listen, err)));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  let probes: RunningProbeListener | undefined;
  if (config.probeListen && probeStore) {
    try {
      probes = await startProbeListener(config.probeListen, config.probeListenInput, {
        store: probeStore,
        servers: new Map(config.servers.map((s) => [s.name, s.backend])),
        ttlSeconds: config.probeTtlSeconds,
        maxSeries: config.probeMaxSeries,
        memory: probeMemory,
        log,
        countReport: (result) => selfMetrics.countProbeReport(result),
      });
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await collector.close();
      throw err;
    }
  }
  ready = true;
  const url = boundUrl(scheme, server);
  const access = config.webConfig && { webConfig: config.webConfig.file, tls: config.webConfig.tls !== undefined, basicAuthUsers: config.webConfig.users.size };
  log.info(
    {
      url,
      ...access,
      probeUrl: probes?.url,
      servers: config.servers.map((s) => ({ name: s.name, backend: s.backend, nodes: s.nodes.map((n) => ({ node: n.node, url: n.url })) })),
      version: VERSION,
    },
    'nats-queue-exporter listening',
  );

  return {
    url,
    probeUrl: probes?.url,
    async close(graceMs = 4000) {
      ready = false;
      await probes?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([Promise.all([...answering].map(answered)), grace]);
      // Every answer is written (or the grace is over): what is left are idle keep-alive connections.
      server.closeAllConnections();
      await closed;
      await collector.close();
    },
  };
}
