import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

/**
 * The parts of prom-client this exporter uses, loaded one by one. Its index also loads the
 * pushgateway (node:https, so all of TLS), summaries (tdigest) and the cluster aggregator: memory
 * in every process for code the exporter never runs (npm run footprint; docs/benchmarks.md).
 */
const load = createRequire(import.meta.url);

export const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;
export const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
export const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;

/** A process metric of prom-client's default set: a module that registers its families in a registry. */
type DefaultMetric = (registry: Registry, config: object) => void;

/**
 * prom-client's default process and Node.js metrics except the CPU counters, registered one
 * module at a time. Its collectDefaultMetrics also loads processCpuTotal, which requires
 * @opentelemetry/api for exemplars the exporter does not use (npm run footprint measures what it
 * costs); processCpuSeconds below gives the same families.
 */
const DEFAULT_METRICS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
].map((name) => load(`prom-client/lib/metrics/${name}`) as DefaultMetric);

/** Registers prom-client's default metrics in `registry`, the CPU counters from processCpuSeconds. */
export function collectDefaultMetrics(registry: Registry): void {
  // prom-client's own default: the event loop delay histogram's resolution, in ms.
  const config = { eventLoopMonitoringPrecision: 10 };
  processCpuSeconds(registry);
  for (const register of DEFAULT_METRICS) register(registry, config);
}

/**
 * process_cpu_user_seconds_total, process_cpu_system_seconds_total and
 * process_cpu_seconds_total, with prom-client's names and help texts, read from
 * process.cpuUsage() (the process's CPU time since it started) when the registry is rendered.
 */
function processCpuSeconds(registry: Registry): void {
  const registers = [registry];
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // Registered first: rendering reads the time once, here, for all three.
    collect() {
      const used = process.cpuUsage();
      const set = (counter: PromClient.Counter, micros: number) => {
        counter.reset();
        counter.inc(micros / 1e6);
      };
      set(user, used.user);
      set(system, used.system);
      set(total, used.user + used.system);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}
export type { OpenMetricsContentType } from 'prom-client';
export type Registry = PromClient.Registry;
export type Counter<T extends string> = PromClient.Counter<T>;
