import { ARRIVAL_RATE, BACKLOG } from '../../mixin/alerts/scaling.js';
import { GENERATED } from './yaml-out.js';

/**
 * The chart's autoscaling: one KEDA ScaledObject (prometheus trigger) or one autoscaling/v2 HPA
 * (an external metric served by prometheus-adapter) per worker Deployment of
 * `autoscaling.workers`, both reading the scaling group's recording rules (docs/autoscaling.md).
 * These are loops over a list, so they are written as template text here rather than built
 * from resources.ts like the exporter's own objects.
 */

const SOURCE = 'tools/k8s/chart-autoscaling.ts';

/** The external metric name prometheus-adapter serves the backlog under (its rule is in the docs). */
export const ADAPTER_METRIC = 'nats_queue_backlog_messages';

/** Values under `autoscaling`, with what each is for. */
export const AUTOSCALING_VALUES = {
  prometheusUrl: 'http://kube-prometheus-stack-prometheus.monitoring:9090',
  keda: { enabled: false, pollingInterval: 30, cooldownPeriod: 300, failureThreshold: 3 },
  hpa: { enabled: false, metricName: ADAPTER_METRIC },
  workers: [],
};

export const AUTOSCALING_COMMENT = `Scale worker Deployments on their queue's backlog (docs/autoscaling.md), with KEDA (keda.enabled,
a ScaledObject with the prometheus trigger, reading prometheusUrl) or with a plain HPA on the
external metric hpa.metricName that prometheus-adapter serves. One entry per worker Deployment:
  - deployment: orders-worker       # its name
    namespace: ""                   # its namespace ("" = the release's)
    figuresFrom: central            # central: this chart's exporter; sidecar: exporters in the workers' pods
    queue: {server: prod, subject: orders, group: workers, durable: "", account: ""}
    messagesPerReplica: 100         # one replica per 100 messages waiting or unacked, or instead:
    # targetDrainSeconds: 300       # empty the backlog within 5 minutes while keeping up with arrivals,
    # messagesPerSecondPerReplica: 2  # knowing one replica finishes 2 messages a second (KEDA only)
    minReplicaCount: 1              # 0 (scale to zero) only with figuresFrom: central and KEDA
    maxReplicaCount: 10
KEDA's fallback keeps the current replicas (at least one) after failureThreshold failed reads:
a missing series is an error (ignoreNullValues "false"), never a backlog of 0.`;

const count = { type: 'integer', minimum: 0 };

/**
 * values.schema.json's `autoscaling`: the shape of each entry. What only fails in combination
 * (scale to zero from a sidecar) is refused by the templates, whose message can say why.
 */
export const AUTOSCALING_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prometheusUrl: { type: 'string', pattern: '^https?://' },
    keda: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        pollingInterval: { type: 'integer', minimum: 1 },
        cooldownPeriod: count,
        failureThreshold: { type: 'integer', minimum: 1 },
      },
    },
    hpa: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, metricName: { type: 'string', minLength: 1 } } },
    workers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['deployment', 'queue', 'maxReplicaCount'],
        properties: {
          deployment: { type: 'string', minLength: 1 },
          namespace: { type: 'string' },
          figuresFrom: { enum: ['central', 'sidecar'] },
          queue: {
            type: 'object',
            additionalProperties: false,
            required: ['server', 'subject'],
            properties: {
              server: { type: 'string', minLength: 1 },
              subject: { type: 'string', minLength: 1 },
              group: { type: 'string' },
              durable: { type: 'string' },
              account: { type: 'string' },
            },
          },
          messagesPerReplica: { type: 'number', exclusiveMinimum: 0 },
          targetDrainSeconds: { type: 'number', exclusiveMinimum: 0 },
          messagesPerSecondPerReplica: { type: 'number', exclusiveMinimum: 0 },
          minReplicaCount: count,
          maxReplicaCount: { type: 'integer', minimum: 1 },
        },
        oneOf: [
          { required: ['messagesPerReplica'], not: { anyOf: [{ required: ['targetDrainSeconds'] }, { required: ['messagesPerSecondPerReplica'] }] } },
          { required: ['targetDrainSeconds', 'messagesPerSecondPerReplica'], not: { required: ['messagesPerReplica'] } },
        ],
      },
    },
  },
};

/**
 * Named templates: the label values that pick one queue (the metric's `namespace` is where its
 * exporter runs: this release's for the central exporter, the workers' own for a sidecar), the
 * KEDA query, and the checks that refuse what cannot work, with the reason.
 */
const HELPERS = `{{- /* ${GENERATED(SOURCE)} */ -}}

{{- define "nqe.autoscaling.namespace" -}}
{{- .worker.namespace | default .root.Release.Namespace }}
{{- end }}

{{- define "nqe.autoscaling.queueLabels" -}}
{{- $metricNamespace := ternary (include "nqe.autoscaling.namespace" .) .root.Release.Namespace (eq (.worker.figuresFrom | default "central") "sidecar") -}}
namespace: {{ $metricNamespace | quote }}
server: {{ .worker.queue.server | quote }}
account: {{ .worker.queue.account | default "" | quote }}
subject: {{ .worker.queue.subject | quote }}
group: {{ .worker.queue.group | default "" | quote }}
durable: {{ .worker.queue.durable | default "" | quote }}
{{- end }}

{{- define "nqe.autoscaling.selector" -}}
{{- $labels := include "nqe.autoscaling.queueLabels" . | fromYaml -}}
{{- $matchers := list -}}
{{- range $k := list "namespace" "server" "account" "subject" "group" "durable" }}
{{- $matchers = append $matchers (printf "%s=%s" $k (index $labels $k | toJson)) }}
{{- end -}}
{ {{- join ", " $matchers -}} }
{{- end }}

{{- /* messagesPerReplica: the backlog; targetDrainSeconds: messages a second the workers must finish to empty it in time and keep up. */ -}}
{{- define "nqe.autoscaling.query" -}}
{{- $selector := include "nqe.autoscaling.selector" . -}}
{{- if .worker.messagesPerReplica -}}
${BACKLOG}{{ $selector }}
{{- else -}}
${BACKLOG}{{ $selector }} / {{ .worker.targetDrainSeconds }} + ${ARRIVAL_RATE}{{ $selector }}
{{- end }}
{{- end }}

{{- /* minReplicaCount, 1 when not given (0 is a value here, not "unset"). */ -}}
{{- define "nqe.autoscaling.min" -}}
{{- if hasKey .worker "minReplicaCount" }}{{ .worker.minReplicaCount | int }}{{ else }}1{{ end }}
{{- end }}

{{- define "nqe.autoscaling.threshold" -}}
{{- .worker.messagesPerReplica | default .worker.messagesPerSecondPerReplica | toString }}
{{- end }}

{{- define "nqe.autoscaling.check" -}}
{{- $where := printf "autoscaling.workers (deployment %s)" .worker.deployment -}}
{{- if and .root.Values.autoscaling.keda.enabled .root.Values.autoscaling.hpa.enabled }}
{{- fail "autoscaling: keda.enabled and hpa.enabled are both true: KEDA makes its own HPA, and two HPAs on one Deployment fight over its replicas. Enable one of them." }}
{{- end }}
{{- if and (eq (.worker.figuresFrom | default "central") "sidecar") (eq (include "nqe.autoscaling.min" .) "0") }}
{{- fail (printf "%s: minReplicaCount 0 with figuresFrom sidecar: the sidecar runs in the workers' pods, so at zero replicas no exporter reports the queue and nothing could scale the workers up again. Set minReplicaCount to 1 or more, or read the queue from the central exporter (figuresFrom: central)." $where) }}
{{- end }}
{{- if and .root.Values.autoscaling.hpa.enabled (eq (include "nqe.autoscaling.min" .) "0") }}
{{- fail (printf "%s: minReplicaCount 0 with hpa.enabled: an HPA scales no lower than 1 replica. Set minReplicaCount to 1 or more, or use KEDA (keda.enabled) to scale to zero." $where) }}
{{- end }}
{{- if and .root.Values.autoscaling.hpa.enabled (not .worker.messagesPerReplica) }}
{{- fail (printf "%s: targetDrainSeconds with hpa.enabled: the HPA reads one metric, the backlog, and cannot add the arrival rate to it. Give messagesPerReplica, or use KEDA (keda.enabled)." $where) }}
{{- end }}
{{- end }}
`;

/** The start of one object per worker: the loop, the checks, its name and namespace (the Deployment's). */
const perWorker = (apiVersion: string, kind: string): string => `{{- $root := . }}
{{- range .Values.autoscaling.workers }}
{{- $ctx := dict "root" $root "worker" . }}
{{- include "nqe.autoscaling.check" $ctx }}
---
apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: {{ .deployment | quote }}
  namespace: {{ include "nqe.autoscaling.namespace" $ctx | quote }}
  labels:
    {{- include "nqe.labels" $root | nindent 4 }}`;

const SCALED_OBJECT = `{{- if .Values.autoscaling.keda.enabled }}
# ${GENERATED(SOURCE)}
# One ScaledObject per autoscaling.workers entry: KEDA's prometheus trigger on the queue's
# recording rule, a missing series an error (ignoreNullValues "false") that KEDA's fallback
# answers by keeping the current replicas, at least one.
${perWorker('keda.sh/v1alpha1', 'ScaledObject')}
spec:
  scaleTargetRef:
    name: {{ .deployment | quote }}
  minReplicaCount: {{ include "nqe.autoscaling.min" $ctx }}
  maxReplicaCount: {{ .maxReplicaCount | int }}
  pollingInterval: {{ $root.Values.autoscaling.keda.pollingInterval | int }}
  cooldownPeriod: {{ $root.Values.autoscaling.keda.cooldownPeriod | int }}
  fallback:
    failureThreshold: {{ $root.Values.autoscaling.keda.failureThreshold | int }}
    replicas: {{ max 1 (include "nqe.autoscaling.min" $ctx | atoi) }}
    behavior: currentReplicasIfHigher
  triggers:
    - type: prometheus
      metricType: AverageValue
      metadata:
        serverAddress: {{ $root.Values.autoscaling.prometheusUrl | quote }}
        query: {{ include "nqe.autoscaling.query" $ctx | quote }}
        threshold: {{ include "nqe.autoscaling.threshold" $ctx | quote }}
        ignoreNullValues: "false"
{{- end }}
{{- end }}
`;

const HPA = `{{- if .Values.autoscaling.hpa.enabled }}
# ${GENERATED(SOURCE)}
# One HorizontalPodAutoscaler per autoscaling.workers entry, on the external metric
# autoscaling.hpa.metricName that prometheus-adapter serves from the queue's recording rule
# (docs/autoscaling.md has the adapter's rule). A metric it cannot read leaves the replicas as they are.
${perWorker('autoscaling/v2', 'HorizontalPodAutoscaler')}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .deployment | quote }}
  minReplicas: {{ include "nqe.autoscaling.min" $ctx }}
  maxReplicas: {{ .maxReplicaCount | int }}
  metrics:
    - type: External
      external:
        metric:
          name: {{ $root.Values.autoscaling.hpa.metricName | quote }}
          selector:
            matchLabels:
              {{- include "nqe.autoscaling.queueLabels" $ctx | nindent 14 }}
        target:
          type: AverageValue
          averageValue: {{ include "nqe.autoscaling.threshold" $ctx | quote }}
{{- end }}
{{- end }}
`;

export function renderAutoscalingTemplates(dir: string): Map<string, string> {
  return new Map([
    [`${dir}/templates/_autoscaling.tpl`, HELPERS],
    [`${dir}/templates/scaledobject.yaml`, SCALED_OBJECT],
    [`${dir}/templates/hpa.yaml`, HPA],
  ]);
}
