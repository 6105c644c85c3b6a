import {
  CENTRAL_RESOURCES,
  EXAMPLE_SERVERS,
  RELEASE_LABEL,
  SIDECAR_NODE_FLAGS,
  SIDECAR_NODE_OPTIONS,
  SIDECAR_POD_LABEL,
  SIDECAR_RESOURCES,
  CONTAINER_SECURITY,
  deployment,
  exporterContainer,
  podMonitor,
  podSpec,
  scrapeEndpoint,
  service,
  serviceMonitor,
} from './resources.js';
import { GENERATED, yamlDocument } from './yaml-out.js';

/** The plain manifests of k8s/ (kustomize), from the builders the Helm chart uses too. */

const NAME = 'nats-queue-exporter';
const CENTRAL_LABELS = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/component': 'exporter' };
const MONITOR_LABELS = { 'app.kubernetes.io/name': NAME, ...RELEASE_LABEL };
const SOURCE = 'tools/k8s/manifests.ts';
const ENDPOINT = scrapeEndpoint({ interval: '30s', scrapeTimeout: '10s' });
const SERVERS = EXAMPLE_SERVERS.map((s) => `${s.name}=${s.url}`).join(',');

function centralDeployment(): string {
  const container = exporterContainer({
    image: NAME,
    env: [
      { name: 'NQE_SERVERS', value: SERVERS },
      { name: 'NQE_PROBE_LISTEN', value: 'off' },
    ],
    resources: CENTRAL_RESOURCES,
  });
  const d = deployment({
    name: NAME,
    labels: CENTRAL_LABELS,
    selector: CENTRAL_LABELS,
    podLabels: CENTRAL_LABELS,
    replicas: 1,
    pod: podSpec({ containers: [container] }),
  });
  const c = ['spec', 'template', 'spec', 'containers', 0];
  return yamlDocument(
    d,
    `${GENERATED(SOURCE)}
One exporter reads every channel of every server on each scrape. It keeps no state: a second
replica would only double the load on NATS and the series in Prometheus.`,
    [
      [
        [...c, 'env'],
        "NAME=URL of each server's monitoring port (-m); NAME becomes the `server` label. Several URLs\nwith one NAME are the nodes of one FT pair or Raft cluster (here: prod, an FT pair).\nNQE_PROBE_LISTEN off: nothing in this pod reports client-side pending.",
      ],
      [
        [...c, 'resources'],
        "Idle about 76 MB on Node 24, the image's runtime; on Node 20 65 MB idle, 83 MB at 100 channels,\na peak of 126-129 MB at 10,000 channels x 5 subscriptions (npm run bench).",
      ],
    ],
  );
}

/**
 * An example worker pod with the exporter beside it. `native`: an init container that runs for the
 * pod's life (Kubernetes 1.29+), started before the worker and stopped after it, so the worker's
 * last probe report and the last scrape are not lost. Otherwise a second ordinary container.
 */
function workerDeployment(native: boolean): string {
  const worker = {
    name: 'worker',
    image: 'example/orders-worker:1.0.0',
    env: [{ name: 'NQE_PROBE_URL', value: 'http://127.0.0.1:7779' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    securityContext: CONTAINER_SECURITY,
  };
  const sidecar = exporterContainer({
    image: NAME,
    command: ['node', ...SIDECAR_NODE_FLAGS, 'dist/src/cli.js'],
    args: ['--subjects', 'auto', ...EXAMPLE_SERVERS.flatMap((s) => ['--server', `${s.name}=${s.url}`])],
    env: [{ name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS }],
    resources: SIDECAR_RESOURCES,
    ...(native ? { restartPolicy: 'Always' as const } : {}),
  });
  const labels = { 'app.kubernetes.io/name': 'orders-worker' };
  const pod = native ? podSpec({ initContainers: [sidecar], containers: [worker] }) : podSpec({ containers: [worker, sidecar] });
  const d = deployment({ name: 'orders-worker', labels, selector: labels, podLabels: { ...labels, ...SIDECAR_POD_LABEL }, replicas: 3, pod });
  const spec = ['spec', 'template', 'spec'];
  const exporterPath = native ? [...spec, 'initContainers', 0] : [...spec, 'containers', 1];
  const header = native
    ? `${GENERATED(SOURCE)}
The exporter as a native sidecar (Kubernetes 1.29+): an init container with restartPolicy Always
starts before the worker and stops after it, so the worker's last pending report and the last
scrape are not lost. For older clusters see k8s/sidecar-classic/.`
    : `${GENERATED(SOURCE)}
The exporter as a second container of the worker pod, for clusters older than Kubernetes 1.29
(k8s/sidecar/ has the native sidecar form). On shutdown both containers get SIGTERM at once, so
the worker's last pending report may reach an exporter that is already stopping.`;
  return yamlDocument(d, header, [
    [[...spec, 'containers', 0, 'env'], 'Workers reach the probe listener on loopback, shared by the containers of the pod only.'],
    [['spec', 'template', 'metadata', 'labels', 'nats-queue-exporter/sidecar'], 'The PodMonitor selects pods that carry the exporter sidecar by this label.'],
    [
      [...exporterPath, 'command'],
      `V8's lite mode and a 1 MB young generation (NODE_OPTIONS) take 10-15 MB off the sidecar
(npm run footprint); a sidecar reads few channels, so the slower code costs milliseconds.`,
    ],
    [
      [...exporterPath, 'args'],
      "Only the channels this pod's workers report; /metrics leaves out the per-subscription series,\nwhich every sidecar of a group would export for every member. prod: one FT pair, its two nodes.",
    ],
    [[...exporterPath, 'resources'], 'npm run footprint, on Node 24 as in the image: about 62 MB idle, 72 MB after 1,000 scrapes.'],
  ]);
}

function centralService(): string {
  return yamlDocument(service({ name: NAME, labels: CENTRAL_LABELS, selector: CENTRAL_LABELS }), GENERATED(SOURCE));
}

function centralServiceMonitor(): string {
  return yamlDocument(
    serviceMonitor({ name: NAME, labels: MONITOR_LABELS, selector: CENTRAL_LABELS, endpoint: ENDPOINT }),
    `${GENERATED(SOURCE)}
The scrape job is named after the Service (nats-queue-exporter): NatsQueueExporterDown matches it.`,
    [
      [['metadata', 'labels', 'release'], "kube-prometheus-stack's Prometheus selects monitors carrying its Helm release name."],
      [['spec', 'endpoints', 0, 'scrapeTimeout'], "Above the exporter's --timeout (5 s by default), so a slow NATS server shows as stan_up 0."],
    ],
  );
}

function sidecarPodMonitor(): string {
  return yamlDocument(
    podMonitor({ name: NAME, labels: MONITOR_LABELS, selector: SIDECAR_POD_LABEL, endpoint: ENDPOINT }),
    `${GENERATED(SOURCE)}
The scrape job is named NAMESPACE/nats-queue-exporter: NatsQueueExporterDown matches it.`,
    [[['metadata', 'labels', 'release'], "kube-prometheus-stack's Prometheus selects monitors carrying its Helm release name."]],
  );
}

export function renderManifests(): Map<string, string> {
  return new Map([
    ['k8s/central/deployment.yaml', centralDeployment()],
    ['k8s/central/service.yaml', centralService()],
    ['k8s/central/servicemonitor.yaml', centralServiceMonitor()],
    ['k8s/sidecar/worker-deployment.yaml', workerDeployment(true)],
    ['k8s/sidecar/podmonitor.yaml', sidecarPodMonitor()],
    ['k8s/sidecar-classic/worker-deployment.yaml', workerDeployment(false)],
    ['k8s/sidecar-classic/podmonitor.yaml', sidecarPodMonitor()],
  ]);
}
