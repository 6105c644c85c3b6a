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
 * A central exporter: idle about 76 MB on Node 24, the image's runtime (65 MB on Node 20); npm run
 * bench (Node 20) measures 83 MB at 100 channels and a peak of 126-129 MB at 10,000 channels x 5
 * subscriptions, the largest documented size; the limit leaves room for Node 24's larger heap.
 */
export const CENTRAL_RESOURCES: Resources = { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } };
/**
 * A sidecar (`--subjects auto`, npm run footprint): on Node 24, the image's runtime, about 62 MB idle
 * and 72 MB after 1,000 scrapes (Node 20: 53 and 62); the limit leaves room for a pod whose workers
 * consume many channels.
 */
export const SIDECAR_RESOURCES: Resources = { requests: { cpu: '20m', memory: '80Mi' }, limits: { memory: '128Mi' } };

/**
 * How a sidecar runs Node. V8's lite mode (no optimizing compiler) and a 1 MB young generation take
 * 10-15 MB off every pod (npm run footprint, Node 20 and 24); a sidecar reads a few channels, so the
 * slower code costs a few milliseconds per scrape. `--lite-mode` is not allowed in NODE_OPTIONS, so it goes on
 * the command line; NODE_OPTIONS replaces the image's (`--max-semi-space-size=4`, for large scrapes).
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = ['--lite-mode'];
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
    ports: [
      { name: 'metrics', containerPort: METRICS_PORT },
      ...(c.probePort ? [{ name: 'probe', containerPort: PROBE_PORT }] : []),
    ],
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

export function deployment(o: { name: string; labels: Templated<Labels>; selector: Templated<Labels>; podLabels: Templated<Labels>; replicas: number; pod: Record<string, unknown>; podAnnotations?: string }): Record<string, unknown> {
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
