import { Counter, Gauge, type OpenMetricsContentType, Registry, collectDefaultMetrics } from './prom-client.js';
import type { ScrapeErrorReason } from '../model/types.js';
import { PROBE_RESULTS, type ProbeResult } from '../reports/listener.js';
import type { ExpositionFormat } from './exposition.js';

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const REASONS: readonly ScrapeErrorReason[] = ['timeout', 'connect', 'http_status', 'invalid_response', 'exporter_error'];

/** The exporter's own metrics in one registry. */
interface OwnMetrics {
  registry: Registry;
  errors: Counter<'server' | 'node' | 'reason'>;
  checkedPages: Counter<'server' | 'node'>;
  ageLookups: Counter<'server'>;
  probeReports: Counter<'result'>;
}

function ownMetrics(registry: Registry, version: string, nodes: ReadonlyArray<{ server: string; node: string }>, cacheBytes: () => number): OwnMetrics {
  const registers = [registry];
  collectDefaultMetrics(registry);
  // These are gauges named like counters; promtool and Prometheus' naming rules reject them.
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const errors = new Counter({
    name: 'nats_queue_exporter_scrape_errors_total',
    help: `Failed scrapes of a node, by reason: ${REASONS.join(', ')} (exporter_error: a fault of the exporter itself, not of the server).`,
    labelNames: ['server', 'node', 'reason'],
    registers,
  });
  for (const { server, node } of nodes) for (const reason of REASONS) errors.inc({ server, node, reason }, 0);
  const checkedPages = new Counter({
    name: 'nats_queue_exporter_checked_parser_pages_total',
    help: 'channelsz and /jsz pages the fast reader left to the slower checked parser (JSON it was not sure of); a node whose pages all take this path costs more CPU per scrape.',
    labelNames: ['server', 'node'],
    registers,
  });
  for (const { server, node } of nodes) checkedPages.inc({ server, node }, 0);
  const ageLookups = new Counter({
    name: 'nats_queue_exporter_age_lookups_total',
    help: 'Publish times of single messages read over --nats-url for queue_oldest_undelivered_age_seconds (the load this puts on NATS).',
    labelNames: ['server'],
    registers,
  });
  const probeReports = new Counter({
    name: 'nats_queue_exporter_probe_reports_total',
    help: `Client-side pending reports POSTed to the probe listener, by result: ${PROBE_RESULTS.join(', ')}.`,
    labelNames: ['result'],
    registers,
  });
  for (const result of PROBE_RESULTS) probeReports.inc({ result }, 0);
  new Gauge({
    name: 'nats_queue_exporter_scrape_cache_bytes',
    help: 'Bytes the incremental scrape holds from one scrape to the next: the monitoring records of the last sweep and the compressed lines of the last answers (docs/benchmarks.md).',
    registers,
    collect() {
      this.set(cacheBytes());
    },
  });
  new Gauge({ name: 'nats_queue_exporter_build_info', help: 'Version of nats-queue-exporter; always 1.', labelNames: ['version'], registers }).set(
    { version },
    1,
  );
  return { registry, errors, checkedPages, ageLookups, probeReports };
}

/**
 * The exporter's own metrics and the process metrics, kept by prom-client: one set in a text
 * registry, one in an OpenMetrics registry. Not shared: prom-client's OpenMetrics rendering
 * renames a counter object in place (drops `_total`), which the text format would then show.
 */
export class SelfMetrics {
  readonly #text: OwnMetrics;
  readonly #openMetrics: OwnMetrics;
  #cacheBytes: () => number = () => 0;

  /** `nodes`: every configured node, so that each counter starts at 0. */
  constructor(version: string, nodes: ReadonlyArray<{ server: string; node: string }>) {
    const openMetrics = new Registry<OpenMetricsContentType>();
    openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const cacheBytes = () => this.#cacheBytes();
    this.#text = ownMetrics(new Registry(), version, nodes, cacheBytes);
    this.#openMetrics = ownMetrics(openMetrics as unknown as Registry, version, nodes, cacheBytes);
  }

  /** Where nats_queue_exporter_scrape_cache_bytes comes from. */
  watchCacheBytes(read: () => number): void {
    this.#cacheBytes = read;
  }

  countError(server: string, node: string, reason: ScrapeErrorReason): void {
    for (const m of [this.#text, this.#openMetrics]) m.errors.inc({ server, node, reason });
  }

  countCheckedPages(server: string, node: string, pages: number): void {
    for (const m of [this.#text, this.#openMetrics]) m.checkedPages.inc({ server, node }, pages);
  }

  countAgeLookups(server: string, lookups: number): void {
    for (const m of [this.#text, this.#openMetrics]) m.ageLookups.inc({ server }, lookups);
  }

  countProbeReport(result: ProbeResult): void {
    for (const m of [this.#text, this.#openMetrics]) m.probeReports.inc({ result });
  }

  /** Rendered families; in OpenMetrics this ends with # EOF, so it goes last. */
  render(format: ExpositionFormat): Promise<string> {
    return (format === 'openmetrics' ? this.#openMetrics : this.#text).registry.metrics();
  }
}
