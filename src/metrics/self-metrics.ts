import { Counter, Gauge, type Metric, type OpenMetricsContentType, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScrapeErrorReason } from '../model/types.js';
import { PROBE_RESULTS, type ProbeResult } from '../probes/listener.js';
import type { ExpositionFormat } from './exposition.js';

const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const REASONS: readonly ScrapeErrorReason[] = ['timeout', 'connect', 'http_status', 'invalid_response', 'exporter_error'];

/**
 * The exporter's own metrics and the process metrics, kept by prom-client. The same metric
 * objects sit in a text registry and an OpenMetrics registry.
 */
export class SelfMetrics {
  readonly #text = new Registry();
  readonly #openMetrics = new Registry<OpenMetricsContentType>();
  readonly #errors: Counter<'server' | 'node' | 'reason'>;
  readonly #checkedPages: Counter<'server' | 'node'>;
  readonly #ageLookups: Counter<'server'>;
  readonly #probeReports: Counter<'result'>;

  /** `nodes`: every configured node, so that each counter starts at 0. */
  constructor(version: string, nodes: ReadonlyArray<{ server: string; node: string }>) {
    this.#openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    collectDefaultMetrics({ register: this.#text });
    // These are gauges named like counters; promtool and Prometheus' naming rules reject them.
    for (const name of MISNAMED_DEFAULT_METRICS) this.#text.removeSingleMetric(name);
    this.#errors = new Counter({
      name: 'nats_queue_exporter_scrape_errors_total',
      help: `Failed scrapes of a node, by reason: ${REASONS.join(', ')} (a fault of the exporter itself, not of the server).`,
      labelNames: ['server', 'node', 'reason'],
      registers: [this.#text],
    });
    for (const { server, node } of nodes) for (const reason of REASONS) this.#errors.inc({ server, node, reason }, 0);
    this.#checkedPages = new Counter({
      name: 'nats_queue_exporter_checked_parser_pages_total',
      help: 'channelsz pages the fast reader left to the slower checked parser (JSON it was not sure of); a node whose pages all take this path costs more CPU per scrape.',
      labelNames: ['server', 'node'],
      registers: [this.#text],
    });
    for (const { server, node } of nodes) this.#checkedPages.inc({ server, node }, 0);
    this.#ageLookups = new Counter({
      name: 'nats_queue_exporter_age_lookups_total',
      help: 'Publish times of single messages read over --nats-url for queue_oldest_undelivered_age_seconds (the load this puts on NATS).',
      labelNames: ['server'],
      registers: [this.#text],
    });
    this.#probeReports = new Counter({
      name: 'nats_queue_exporter_probe_reports_total',
      help: `Client-side pending reports POSTed to the probe listener, by result: ${PROBE_RESULTS.join(', ')}.`,
      labelNames: ['result'],
      registers: [this.#text],
    });
    for (const result of PROBE_RESULTS) this.#probeReports.inc({ result }, 0);
    const buildInfo = new Gauge({
      name: 'nats_queue_exporter_build_info',
      help: 'Version of nats-queue-exporter; always 1.',
      labelNames: ['version'],
      registers: [this.#text],
    });
    buildInfo.set({ version }, 1);
    for (const metric of this.#text.getMetricsAsArray()) this.#openMetrics.registerMetric(metric as unknown as Metric);
  }

  countError(server: string, node: string, reason: ScrapeErrorReason): void {
    this.#errors.inc({ server, node, reason });
  }

  countCheckedPages(server: string, node: string, pages: number): void {
    this.#checkedPages.inc({ server, node }, pages);
  }

  countAgeLookups(server: string, lookups: number): void {
    this.#ageLookups.inc({ server }, lookups);
  }

  countProbeReport(result: ProbeResult): void {
    this.#probeReports.inc({ result });
  }

  /** Rendered families; in OpenMetrics this ends with # EOF, so it goes last. */
  render(format: ExpositionFormat): Promise<string> {
    return format === 'openmetrics' ? this.#openMetrics.metrics() : this.#text.metrics();
  }
}
