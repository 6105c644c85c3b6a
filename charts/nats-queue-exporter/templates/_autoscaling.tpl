{{- /* Generated from tools/k8s/chart-autoscaling.ts by `npm run generate`: edit that instead. */ -}}

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
queue:queue_msgs_pending:max{{ $selector }}
{{- else -}}
queue:queue_msgs_pending:max{{ $selector }} / {{ .worker.targetDrainSeconds }} + queue:queue_arrived_messages:rate2m{{ $selector }}
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
