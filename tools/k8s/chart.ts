import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  CENTRAL_RESOURCES,
  CONTAINER_SECURITY,
  DASHBOARD_LABEL,
  EXAMPLE_SERVERS,
  POD_SECURITY,
  RELEASE_LABEL,
  deployment,
  exporterContainer,
  podMonitor,
  podSpec,
  scrapeEndpoint,
  service,
  serviceMonitor,
} from './resources.js';
import { AUTOSCALING_COMMENT, AUTOSCALING_SCHEMA, AUTOSCALING_VALUES, renderAutoscalingTemplates } from './chart-autoscaling.js';
import { GENERATED, yamlDocument } from './yaml-out.js';

/**
 * The Helm chart charts/nats-queue-exporter: a central exporter (Deployment, Service, a
 * ServiceMonitor or PodMonitor), the PrometheusRule and the dashboards ConfigMap. Its objects come
 * from the builders k8s/ uses, with template markers where values go; its defaults are the ones
 * k8s/ is written with. Rules and dashboards are copied into the chart's files/ (Helm reads no file
 * outside the chart) from alerts/ and grafana/.
 */

export const CHART_DIR = 'charts/nats-queue-exporter';
const SOURCE = 'tools/k8s/chart.ts';
const RULES_SOURCE = 'alerts/nats-queue-exporter.rules.yml';
export const RULES_COPY = `${CHART_DIR}/files/nats-queue-exporter.rules.yml`;
export const DASHBOARDS_COPY_DIR = `${CHART_DIR}/files/dashboards`;

/** values.yaml, key by key, with what each is for. */
const VALUES: ReadonlyArray<readonly [string, unknown, string]> = [
  [
    'servers',
    EXAMPLE_SERVERS.map((s) => ({ name: s.name, url: s.url })),
    'The NATS Streaming servers: the monitoring base URL (-m port) of each node, and NAME, the\n`server` label. Entries with one NAME are the nodes of one FT pair or Raft cluster. A URL may\nname a user (http://monitor@nats-a:8222); its password then comes from an existing Secret:\n  - {name: prod, url: "https://monitor@nats-a:8222", passwordSecret: {name: nats-monitor, key: password}}',
  ],
  ['subjects', [], 'Export only channels matching these NATS subject patterns (* and >); [] exports all.'],
  ['excludeSubjects', [], 'Leave out channels matching these patterns (wins over subjects).'],
  [
    'detailedMetrics',
    false,
    'true also puts the detailed families on /metrics (the per-subscription stan_subscription_*\nseries, and the per channel, stream and queue families no dashboard or alert reads), as the\ndefaults were before they were split off; /metrics/detailed serves them either way\n(docs/metrics.md#series-audit).',
  ],
  ['timeoutSeconds', 5, 'Deadline for everything asked of one server in one scrape; keep it under the scrape timeout.'],
  ['logLevel', 'info', 'fatal, error, warn, info, debug, trace or silent.'],
  [
    'webConfig',
    { secretName: '', key: 'web-config.yml', tls: false },
    'TLS and basic auth for /metrics: an existing Secret holding a web config file (exporter-toolkit\nformat) under `key`, with the certificate files it names (relative paths start at its folder).\nSet tls: true when the file has tls_server_config: probes and monitors then use https.',
  ],
  [
    'serverTls',
    { secretName: '', caKey: '', certKey: '', keyKey: '' },
    'CA and client certificate for https:// monitoring URLs, from an existing Secret: the keys\nholding the CA bundle and, for a client certificate, the certificate and its private key.',
  ],
  ['extraEnv', [], 'More environment variables for the exporter (NQE_*; see docs/configuration.md).'],
  ['extraArgs', [], 'More flags for the exporter, e.g. [--page-size, "512"].'],
  [
    'image',
    { repository: 'nats-queue-exporter', tag: '', pullPolicy: 'IfNotPresent' },
    "The image built from the Dockerfile; tag defaults to the chart's appVersion.",
  ],
  ['imagePullSecrets', [], ''],
  ['nameOverride', '', ''],
  ['fullnameOverride', '', 'Keep "nats-queue-exporter" in the name: NatsQueueExporterDown matches scrape jobs by it.'],
  [
    'resources',
    CENTRAL_RESOURCES,
    'Idle about 76 MB on Node 24 (the image); a peak of 126-129 MB at 10,000 channels x 5\nsubscriptions on Node 20 (npm run bench).',
  ],
  ['podSecurityContext', POD_SECURITY, ''],
  ['securityContext', CONTAINER_SECURITY, ''],
  ['podAnnotations', {}, ''],
  ['podLabels', {}, ''],
  ['nodeSelector', {}, ''],
  ['tolerations', [], ''],
  ['affinity', {}, ''],
  ['service', { type: 'ClusterIP' }, 'The Service in front of /metrics (port 7778, named metrics).'],
  [
    'serviceMonitor',
    { enabled: true, labels: RELEASE_LABEL, interval: '30s', scrapeTimeout: '10s', endpoint: {} },
    'A prometheus-operator ServiceMonitor. kube-prometheus-stack selects monitors by its Helm release\nname (label release); endpoint adds fields to the endpoint, e.g. tlsConfig or basicAuth.',
  ],
  [
    'podMonitor',
    { enabled: false, labels: RELEASE_LABEL, interval: '30s', scrapeTimeout: '10s', endpoint: {} },
    'A PodMonitor instead of (or as well as) the ServiceMonitor.',
  ],
  ['prometheusRule', { enabled: true, labels: RELEASE_LABEL }, 'The alert rules of alerts/nats-queue-exporter.rules.yml as a PrometheusRule.'],
  [
    'dashboards',
    { enabled: true, labels: DASHBOARD_LABEL, namespace: '' },
    "The Grafana dashboards as a ConfigMap for Grafana's dashboard sidecar (label grafana_dashboard);\nnamespace: where that sidecar looks, if only in Grafana's namespace (\"\" = the release's).",
  ],
  ['autoscaling', AUTOSCALING_VALUES, AUTOSCALING_COMMENT],
];

export function valuesYaml(): string {
  return yamlDocument(
    Object.fromEntries(VALUES.map(([k, v]) => [k, v])),
    `${GENERATED(SOURCE)}
Default values of the nats-queue-exporter chart; docs/deployment.md, "Helm", says what to set.`,
    VALUES.filter(([, , c]) => c !== '').map(([k, , c]) => [[k], c] as const),
  );
}

const stringList = { type: 'array', items: { type: 'string' } };
const object = { type: 'object' };
const labels = { type: 'object', additionalProperties: { type: 'string' } };
const monitor = {
  type: 'object',
  additionalProperties: false,
  properties: { enabled: { type: 'boolean' }, labels, interval: { type: 'string' }, scrapeTimeout: { type: 'string' }, endpoint: object },
};

/** values.schema.json: Helm refuses values of the wrong shape with the key's path. */
export function valuesSchema(): string {
  const schema = {
    $schema: 'https://json-schema.org/draft-07/schema#',
    title: 'nats-queue-exporter chart values',
    type: 'object',
    additionalProperties: false,
    required: ['servers'],
    properties: {
      servers: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'url'],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9._:-]+$' },
            url: { type: 'string', pattern: '^https?://' },
            passwordSecret: {
              type: 'object',
              additionalProperties: false,
              required: ['name'],
              properties: { name: { type: 'string' }, key: { type: 'string' } },
            },
          },
        },
      },
      subjects: stringList,
      excludeSubjects: stringList,
      detailedMetrics: { type: 'boolean' },
      // The value detailedMetrics replaced: still valid, so that existing values files still install; NOTES.txt says it does nothing.
      subscriptionMetrics: { type: 'boolean', description: 'No effect: replaced by detailedMetrics.' },
      timeoutSeconds: { type: 'number', exclusiveMinimum: 0 },
      logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
      webConfig: {
        type: 'object',
        additionalProperties: false,
        properties: { secretName: { type: 'string' }, key: { type: 'string' }, tls: { type: 'boolean' } },
      },
      serverTls: {
        type: 'object',
        additionalProperties: false,
        properties: { secretName: { type: 'string' }, caKey: { type: 'string' }, certKey: { type: 'string' }, keyKey: { type: 'string' } },
      },
      extraEnv: { type: 'array', items: object },
      extraArgs: stringList,
      image: {
        type: 'object',
        additionalProperties: false,
        properties: { repository: { type: 'string' }, tag: { type: 'string' }, pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] } },
      },
      imagePullSecrets: { type: 'array', items: object },
      nameOverride: { type: 'string' },
      fullnameOverride: { type: 'string' },
      resources: object,
      podSecurityContext: object,
      securityContext: object,
      podAnnotations: labels,
      podLabels: labels,
      nodeSelector: labels,
      tolerations: { type: 'array', items: object },
      affinity: object,
      service: { type: 'object', additionalProperties: false, properties: { type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] } } },
      serviceMonitor: monitor,
      podMonitor: monitor,
      prometheusRule: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, labels } },
      dashboards: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, labels, namespace: { type: 'string' } } },
      autoscaling: AUTOSCALING_SCHEMA,
    },
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Turns the builders' markers into template text at the indentation YAML gives them. */
export function templateText(obj: unknown): string {
  const text = stringify(obj, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false });
  return (
    text
      // KEY: <block>  ->  KEY:\n  {{- EXPR | nindent N }}
      .replace(
        /^( *)(- )?([\w.-]+): ['"]?@@(include|values) ([\w.-]+)@@['"]?$/gm,
        (_m, indent: string, dash: string | undefined, key: string, kind: string, arg: string) => {
          const at = indent.length + (dash ? 2 : 0);
          const expr = kind === 'include' ? `include "${arg}" .` : `toYaml .Values.${arg}`;
          return `${indent}${dash ?? ''}${key}:\n${' '.repeat(at + 2)}{{- ${expr} | nindent ${at + 2} }}`;
        },
      )
      // '@@merge PATH@@': ...  ->  the fields of .Values.PATH, beside their siblings
      .replace(/^( *)(- )?['"]?@@merge ([\w.-]+)@@['"]?: .*$/gm, (_m, indent: string, dash: string | undefined, path: string) => {
        if (dash) throw new Error(`@@merge ${path}@@ must not be the first key of a list item`);
        return `${indent}{{- with .Values.${path} }}\n${indent}{{- toYaml . | nindent ${indent.length} }}\n${indent}{{- end }}`;
      })
      // scalars
      .replace(/['"]?@@name ([\w.-]+)@@['"]?/g, (_m, name: string) => `{{ include "${name}" . }}`)
      .replace(/['"]?@@value ([\w.-]+)@@['"]?/g, (_m, path: string) => `{{ .Values.${path} | quote }}`)
  );
}

/**
 * Markers in the builders' output that templateText() turns into template text: blocks
 * (`include(NAME)`: `{{ include NAME . | nindent }}`, `values(PATH)`: `{{ toYaml .Values.PATH |
 * nindent }}`), scalars (`name(NAME)`: `{{ include NAME . }}`, `value(PATH)`: the value, quoted) and
 * the labels of monitors and rules (`monitorLabels(KEY)`: ours plus `.Values.KEY.labels`).
 */
const include = (n: string): string => `@@include ${n}@@`;
const values = (path: string): string => `@@values ${path}@@`;
const name = (n: string): string => `@@name ${n}@@`;
const value = (path: string): string => `@@value ${path}@@`;
const monitorLabels = (key: string): string => `@@include-monitor ${key}@@`;

/** Monitor labels need the release context and extra labels: `include "nqe.monitorLabels" (dict ...)`. */
function withMonitorLabels(text: string): string {
  return text.replace(
    /^( *)labels: ['"]?@@include-monitor ([\w.-]+)@@['"]?$/gm,
    (_m, indent: string, key: string) =>
      `${indent}labels:\n${indent}  {{- include "nqe.monitorLabels" (dict "root" . "extra" .Values.${key}.labels) | nindent ${indent.length + 2} }}`,
  );
}

function chartDeployment(): string {
  const container = {
    ...exporterContainer({
      image: name('nqe.image'),
      args: values('extraArgs'),
      env: include('nqe.env'),
      resources: values('resources'),
      securityContext: values('securityContext'),
      probeScheme: name('nqe.probeScheme'),
      volumeMounts: include('nqe.volumeMounts'),
    }),
    imagePullPolicy: value('image.pullPolicy'),
  };
  const d = deployment({
    name: name('nqe.fullname'),
    labels: include('nqe.labels'),
    selector: include('nqe.selectorLabels'),
    podLabels: include('nqe.podLabels'),
    podAnnotations: values('podAnnotations'),
    replicas: 1,
    pod: podSpec({
      containers: [container],
      securityContext: values('podSecurityContext'),
      extra: {
        imagePullSecrets: values('imagePullSecrets'),
        volumes: include('nqe.volumes'),
        nodeSelector: values('nodeSelector'),
        tolerations: values('tolerations'),
        affinity: values('affinity'),
      },
    }),
  });
  return `# ${GENERATED(SOURCE)}\n# One exporter reads every channel of every server; a second replica would only double the load.\n${templateText(d)}`;
}

function chartService(): string {
  return `# ${GENERATED(SOURCE)}\n${templateText(service({ name: name('nqe.fullname'), labels: include('nqe.labels'), selector: include('nqe.selectorLabels'), type: value('service.type') }))}`;
}

function chartMonitor(kind: 'serviceMonitor' | 'podMonitor'): string {
  const build = kind === 'serviceMonitor' ? serviceMonitor : podMonitor;
  const endpoint = {
    ...scrapeEndpoint({ interval: value(`${kind}.interval`), scrapeTimeout: value(`${kind}.scrapeTimeout`) }),
    scheme: name('nqe.scheme'),
    // Last: the fields of serviceMonitor.endpoint / podMonitor.endpoint (tlsConfig, basicAuth, ...).
    [`@@merge ${kind}.endpoint@@`]: '',
  };
  const m = build({ name: name('nqe.fullname'), labels: monitorLabels(kind), selector: include('nqe.selectorLabels'), endpoint });
  const job = kind === 'serviceMonitor' ? "the Service's name" : 'NAMESPACE/NAME';
  return `{{- if .Values.${kind}.enabled }}\n# ${GENERATED(SOURCE)}\n# The scrape job is named ${job}, which keeps "nats-queue-exporter": NatsQueueExporterDown matches it.\n${withMonitorLabels(templateText(m))}{{- end }}\n`;
}

function chartPrometheusRule(): string {
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: name('nqe.fullname'), labels: monitorLabels('prometheusRule') },
    spec: '@@rules@@',
  };
  const text = withMonitorLabels(templateText(rule)).replace(
    /^spec: ['"]?@@rules@@['"]?$/m,
    'spec:\n  {{- .Files.Get "files/nats-queue-exporter.rules.yml" | nindent 2 }}',
  );
  return `{{- if .Values.prometheusRule.enabled }}\n# ${GENERATED(SOURCE)}\n# The rules are files/nats-queue-exporter.rules.yml, a copy of ${RULES_SOURCE}.\n${text}{{- end }}\n`;
}

function chartDashboards(): string {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: '@@dashboards-name@@', namespace: '@@dashboards-namespace@@', labels: monitorLabels('dashboards') },
    data: '@@dashboards@@',
  };
  const text = withMonitorLabels(templateText(cm))
    .replace(/['"]?@@dashboards-name@@['"]?/, '{{ include "nqe.fullname" . }}-dashboards')
    .replace(/['"]?@@dashboards-namespace@@['"]?/, '{{ .Values.dashboards.namespace | default .Release.Namespace | quote }}')
    .replace(/^data: ['"]?@@dashboards@@['"]?$/m, 'data:\n  {{- (.Files.Glob "files/dashboards/*.json").AsConfig | nindent 2 }}');
  return `{{- if .Values.dashboards.enabled }}\n# ${GENERATED(SOURCE)}\n# The dashboards are files/dashboards/, copies of grafana/*.json.\n${text}{{- end }}\n`;
}

function chartYaml(version: string): string {
  return yamlDocument(
    {
      apiVersion: 'v2',
      name: 'nats-queue-exporter',
      description: 'Prometheus exporter for NATS Streaming queue groups: backlog per subject, queue group and server, with alert rules and Grafana dashboards',
      type: 'application',
      version,
      appVersion: version,
      keywords: ['nats', 'nats-streaming', 'stan', 'prometheus', 'exporter'],
    },
    `${GENERATED(`${SOURCE} and package.json`)}\nVersioned with the project: version and appVersion are package.json's.`,
  );
}

const NOTES = `{{- /* ${GENERATED(SOURCE)} */ -}}
{{- $monitor := ternary "serviceMonitor" "podMonitor" .Values.serviceMonitor.enabled -}}
nats-queue-exporter {{ .Chart.AppVersion }} reads:
{{- range .Values.servers }}
  {{ .name }}: {{ .url }}
{{- end }}

1. Check that it reads your servers (stan_up 1 for every node):

     kubectl -n {{ .Release.Namespace }} port-forward svc/{{ include "nqe.fullname" . }} 7778:7778
     curl -s{{ if eq (include "nqe.scheme" .) "https" }}k{{ end }}{{ if .Values.webConfig.secretName }} -u USER:PASSWORD{{ end }} {{ include "nqe.scheme" . }}://127.0.0.1:7778/metrics | grep -E '^(stan_up|queue_msgs_pending)'

   stan_up 0: the page at {{ include "nqe.scheme" . }}://127.0.0.1:7778/ says why (connect, timeout, http_status...).
{{- if or .Values.serviceMonitor.enabled .Values.podMonitor.enabled }}

2. Prometheus: the {{ if .Values.serviceMonitor.enabled }}ServiceMonitor{{ else }}PodMonitor{{ end }} carries {{ toJson (index .Values $monitor).labels }};
   kube-prometheus-stack selects monitors by its release name. If yours is not
   "kube-prometheus-stack", set {{ $monitor }}.labels.release (and prometheusRule.labels.release).
{{- else }}

2. No ServiceMonitor or PodMonitor: scrape the Service {{ include "nqe.fullname" . }}:7778 yourself.
{{- end }}
{{- if .Values.dashboards.enabled }}

3. Grafana: the ConfigMap {{ include "nqe.fullname" . }}-dashboards (label grafana_dashboard) in
   {{ .Values.dashboards.namespace | default .Release.Namespace }} holds the dashboards for Grafana's dashboard sidecar.
{{- end }}

{{- if hasKey .Values "subscriptionMetrics" }}

The value subscriptionMetrics has no effect and can be removed: /metrics leaves the per-subscription
series out by default now; detailedMetrics: true puts them back (docs/migration.md in the project).
{{- end }}

Queues worth a look: max by (server, subject, group, durable) (queue_msgs_pending)
Sidecars beside your workers (--subjects auto) are not part of this chart: see k8s/sidecar/ in the project.
`;

/** Every file of the chart that is generated, by path. */
export function renderChart(root: string): Map<string, string> {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const files = new Map<string, string>([
    [`${CHART_DIR}/Chart.yaml`, chartYaml(version)],
    [`${CHART_DIR}/values.yaml`, valuesYaml()],
    [`${CHART_DIR}/values.schema.json`, valuesSchema()],
    [`${CHART_DIR}/templates/deployment.yaml`, chartDeployment()],
    [`${CHART_DIR}/templates/service.yaml`, chartService()],
    [`${CHART_DIR}/templates/servicemonitor.yaml`, chartMonitor('serviceMonitor')],
    [`${CHART_DIR}/templates/podmonitor.yaml`, chartMonitor('podMonitor')],
    [`${CHART_DIR}/templates/prometheusrule.yaml`, chartPrometheusRule()],
    [`${CHART_DIR}/templates/dashboards.yaml`, chartDashboards()],
    [`${CHART_DIR}/templates/NOTES.txt`, NOTES],
    ...renderAutoscalingTemplates(CHART_DIR),
    [RULES_COPY, readFileSync(join(root, RULES_SOURCE), 'utf8')],
  ]);
  for (const f of readdirSync(join(root, 'grafana'))
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    files.set(`${DASHBOARDS_COPY_DIR}/${f}`, readFileSync(join(root, 'grafana', f), 'utf8'));
  }
  return files;
}
