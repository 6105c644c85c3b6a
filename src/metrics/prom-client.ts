import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/**
 * The parts of prom-client this exporter uses, loaded one by one. Its index also loads the
 * pushgateway (node:https, so all of TLS), summaries (tdigest) and the cluster aggregator: 3-7 MB
 * of every process's memory for code the exporter never runs (npm run footprint).
 */
const load = createRequire(import.meta.url);

export const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;
export const collectDefaultMetrics = load('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics;
export type { OpenMetricsContentType } from 'prom-client';
export type Registry = PromClient.Registry;
export type Counter<T extends string> = PromClient.Counter<T>;
