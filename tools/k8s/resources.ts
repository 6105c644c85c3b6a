/**
 * The Kubernetes objects of both deployment shapes, built once for k8s/ (plain values) and for the
 * Helm chart (template expressions in place of values): what a pod, a Service or a monitor looks
 * like is written here and nowhere else.
 */

/** The container's ports; fixed, so probes and monitors refer to them by name. */
export const METRICS_PORT = 7778;
export const PROBE_PORT = 7779;

/** The label kube-prometheus-stack's Prometheus selects rules and monitors by (its Helm release). */
export const RELEASE_LABEL = { release: 'kube-prometheus-stack' };
/** Grafana's dashboard sidecar (kube-prometheus-stack default) loads ConfigMaps with this label. */
export const DASHBOARD_LABEL = { grafana_dashboard: '1' };
/** The PodMonitor of the sidecar shape selects worker pods by this label. */
export const SIDECAR_POD_LABEL = { 'nats-queue-exporter/sidecar': 'true' };

/** Example servers: one FT pair, i.e. one logical server of two nodes (`--server prod=A --server prod=B`). */
export const EXAMPLE_SERVERS: ReadonlyArray<{ name: string; url: string }> = [
  { name: 'prod', url: 'http://nats-streaming-0.nats-streaming:8222' },
  { name: 'prod', url: 'http://nats-streaming-1.nats-streaming:8222' },
];

export type Resources = { requests: Record<string, string>; limits: Record<string, string> };

/**
 * A central exporter: requests cover its idle RSS on Node 24 and a scrape of a mid-sized server; the
 * limit covers the peak of the largest documented size (npm run bench; figures in docs/memory.md).
 */
export const CENTRAL_RESOURCES: Resources = { requests: { cpu: '50m', memory: '192Mi' }, limits: { memory: '384Mi' } };
/**
 * A sidecar (`--subjects auto`): the request covers its RSS after scrapes on Node 24, the limit its
 * peak with room for a pod whose workers consume many channels (npm run footprint; docs/memory.md).
 */
export const SIDECAR_RESOURCES: Resources = { requests: { cpu: '20m', memory: '112Mi' }, limits: { memory: '160Mi' } };

/**
 * How a sidecar runs Node: V8 without its optimizing compilers, tuned for size, compiling lazily; a
 * sidecar reads a few channels, so the slower code costs little per scrape (npm run footprint).
 * Not `--lite-mode`: it turns WebAssembly off, and undici parses HTTP with WebAssembly. These flags
 * are not allowed in NODE_OPTIONS, so they go on the command line; NODE_OPTIONS replaces the
 * image's (`--max-semi-space-size=4`, for large scrapes).
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--no-opt', '--no-maglev', '--optimize-for-size', '--max-lazy'];
export const SIDECAR_NODE_OPTIONS = '--max-semi-space-size=1';

export type Labels = Record<string, string>;
export type Env = Array<{ name: string; value?: string; valueFrom?: unknown }>;

/** A value, or in the chart a marker that chart.ts turns into the template that renders it; k8s/ never sees them. */
export type Templated<T> = T | string;

export interface ExporterContainer {
  image: string;
  command?: readonly string[];
  args?: Templated<readonly string[]>;
  env: Templated<Env>;
  resources: Templated<Resources>;
  /** Kubelet probes use https when the web config turns TLS on. */
  probeScheme?: string;
  volumeMounts?: string;
  /** The native sidecar form: an init container that runs for the pod's life (Kubernetes 1.29+). */
  restartPolicy?: 'Always';
  /** The probe listener is exposed only where workers of the same pod report to it. */
  probePort?: boolean;
}

export const CONTAINER_SECURITY = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

export const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};

export function exporterContainer(c: ExporterContainer & { securityContext?: Templated<typeof CONTAINER_SECURITY> }): Record<string, unknown> {
  const httpGet = (path: string) => ({ path, port: 'metrics', ...(c.probeScheme ? { scheme: c.probeScheme } : {}) });
  return {
    name: 'nats-queue-exporter',
    image: c.image,
    ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    ...(c.command ? { command: [...c.command] } : {}),
    ...(c.args ? { args: c.args } : {}),
    env: c.env,
    ports: [{ name: 'metrics', containerPort: METRICS_PORT }, ...(c.probePort ? [{ name: 'probe', containerPort: PROBE_PORT }] : [])],
    // A native sidecar's startup probe holds the worker back until the probe listener is up, so
    // the worker's first report is not refused.
    ...(c.restartPolicy ? { startupProbe: { httpGet: httpGet('/readyz'), periodSeconds: 1, failureThreshold: 30 } } : {}),
    livenessProbe: { httpGet: httpGet('/healthz'), periodSeconds: 10, failureThreshold: 3 },
    // Ready once listening: a NATS server that is down shows as stan_up 0, not as a dead target.
    readinessProbe: { httpGet: httpGet('/readyz'), periodSeconds: 5 },
    resources: c.resources,
    securityContext: c.securityContext ?? CONTAINER_SECURITY,
    ...(c.volumeMounts ? { volumeMounts: c.volumeMounts } : {}),
  };
}

export function podSpec(o: {
  containers: unknown[];
  initContainers?: unknown[];
  securityContext?: Templated<typeof POD_SECURITY>;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    automountServiceAccountToken: false,
    securityContext: o.securityContext ?? POD_SECURITY,
    ...(o.initContainers ? { initContainers: o.initContainers } : {}),
    containers: o.containers,
    ...o.extra,
  };
}

export function deployment(o: {
  name: string;
  labels: Templated<Labels>;
  selector: Templated<Labels>;
  podLabels: Templated<Labels>;
  replicas: number;
  pod: Record<string, unknown>;
  podAnnotations?: string;
}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, labels: o.labels },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: o.selector },
      template: { metadata: { ...(o.podAnnotations ? { annotations: o.podAnnotations } : {}), labels: o.podLabels }, spec: o.pod },
    },
  };
}

export function service(o: { name: string; labels: Templated<Labels>; selector: Templated<Labels>; type?: string }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name, labels: o.labels },
    spec: {
      ...(o.type ? { type: o.type } : {}),
      selector: o.selector,
      ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: 'metrics' }],
    },
  };
}

/** One scrape endpoint; the timeout stays above the exporter's --timeout (5 s), so a slow NATS server shows as stan_up 0. */
export function scrapeEndpoint(o: { interval: string; scrapeTimeout: string }): Record<string, unknown> {
  return { port: 'metrics', path: '/metrics', interval: o.interval, scrapeTimeout: o.scrapeTimeout };
}

type MonitorParts = { name: string; labels: Templated<Labels>; selector: Templated<Labels>; endpoint: Record<string, unknown> };

/** A ServiceMonitor selects Services, a PodMonitor pods; the rest is the same. */
function monitor(kind: 'ServiceMonitor' | 'PodMonitor', o: MonitorParts): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind,
    metadata: { name: o.name, labels: o.labels },
    spec: { selector: { matchLabels: o.selector }, [kind === 'ServiceMonitor' ? 'endpoints' : 'podMetricsEndpoints']: [o.endpoint] },
  };
}

export const serviceMonitor = (o: MonitorParts): Record<string, unknown> => monitor('ServiceMonitor', o);
export const podMonitor = (o: MonitorParts): Record<string, unknown> => monitor('PodMonitor', o);
