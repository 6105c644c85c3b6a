{{/*
Named templates of the chart. The objects themselves (templates/*.yaml) are generated from
tools/k8s/ (npm run generate), which also writes k8s/; this file is written by hand.
*/}}

{{- define "nqe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name. It keeps "nats-queue-exporter" in it unless fullnameOverride says otherwise:
the NatsQueueExporterDown alert matches scrape jobs named after the Service (job=~".*nats-queue-exporter.*").
*/}}
{{- define "nqe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "nqe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nqe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: exporter
{{- end }}

{{- define "nqe.labels" -}}
{{ include "nqe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "nqe.podLabels" -}}
{{ include "nqe.selectorLabels" . }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of the monitors and the PrometheusRule: ours plus the ones Prometheus selects by. */}}
{{- define "nqe.monitorLabels" -}}
{{ include "nqe.labels" .root }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "nqe.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* http, or https when the web config turns TLS on. */}}
{{- define "nqe.scheme" -}}
{{- if and .Values.webConfig.secretName .Values.webConfig.tls }}https{{ else }}http{{ end }}
{{- end }}

{{- define "nqe.probeScheme" -}}
{{ include "nqe.scheme" . | upper }}
{{- end }}

{{/* NQE_SERVERS: NAME=URL,...; several entries with one NAME are the nodes of one FT pair or Raft cluster. */}}
{{- define "nqe.servers" -}}
{{- $servers := list }}
{{- range .Values.servers }}
{{- if not (and .name .url) }}
{{- fail "servers: every entry needs a name and a url, e.g. {name: prod, url: http://nats-streaming-0.nats-streaming:8222}" }}
{{- end }}
{{- $servers = append $servers (printf "%s=%s" .name .url) }}
{{- end }}
{{- if not $servers }}
{{- fail "servers: give at least one NATS Streaming monitoring URL, e.g. --set servers[0].name=prod,servers[0].url=http://nats-streaming:8222" }}
{{- end }}
{{- join "," $servers }}
{{- end }}

{{- define "nqe.env" -}}
- name: NQE_SERVERS
  value: {{ include "nqe.servers" . | quote }}
# Nothing in this pod reports client-side pending.
- name: NQE_PROBE_LISTEN
  value: "off"
{{- with .Values.subjects }}
- name: NQE_SUBJECTS
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.excludeSubjects }}
- name: NQE_EXCLUDE_SUBJECTS
  value: {{ join "," . | quote }}
{{- end }}
{{- if .Values.detailedMetrics }}
- name: NQE_DETAILED_METRICS
  value: "true"
{{- end }}
- name: NQE_TIMEOUT
  value: {{ .Values.timeoutSeconds | quote }}
- name: NQE_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- /* A logical server's password, from an existing Secret: one variable per NAME, shared by its nodes. */}}
{{- $seen := dict }}
{{- range .Values.servers }}
{{- if and .passwordSecret (not (hasKey $seen .name)) }}
{{- $_ := set $seen .name true }}
- name: {{ printf "NQE_SERVER_PASSWORD_%s" (regexReplaceAll "[^A-Z0-9]" (upper .name) "_") }}
  valueFrom:
    secretKeyRef:
      name: {{ .passwordSecret.name | quote }}
      key: {{ .passwordSecret.key | default "password" | quote }}
{{- end }}
{{- end }}
{{- if .Values.webConfig.secretName }}
- name: NQE_WEB_CONFIG
  value: {{ printf "/etc/nats-queue-exporter/web/%s" .Values.webConfig.key | quote }}
{{- end }}
{{- with .Values.serverTls.secretName }}
{{- if $.Values.serverTls.caKey }}
- name: NQE_SERVER_CA_FILE
  value: {{ printf "/etc/nats-queue-exporter/server-tls/%s" $.Values.serverTls.caKey | quote }}
{{- end }}
{{- if $.Values.serverTls.certKey }}
- name: NQE_SERVER_CERT_FILE
  value: {{ printf "/etc/nats-queue-exporter/server-tls/%s" $.Values.serverTls.certKey | quote }}
- name: NQE_SERVER_KEY_FILE
  value: {{ printf "/etc/nats-queue-exporter/server-tls/%s" $.Values.serverTls.keyKey | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "nqe.volumeMounts" -}}
{{- if or .Values.webConfig.secretName .Values.serverTls.secretName }}
{{- if .Values.webConfig.secretName }}
# The web config and the files it names (relative paths start at its folder), from one Secret.
- name: web-config
  mountPath: /etc/nats-queue-exporter/web
  readOnly: true
{{- end }}
{{- if .Values.serverTls.secretName }}
- name: server-tls
  mountPath: /etc/nats-queue-exporter/server-tls
  readOnly: true
{{- end }}
{{- else -}}
[]
{{- end }}
{{- end }}

{{- define "nqe.volumes" -}}
{{- if or .Values.webConfig.secretName .Values.serverTls.secretName }}
{{- with .Values.webConfig.secretName }}
- name: web-config
  secret:
    secretName: {{ . | quote }}
{{- end }}
{{- with .Values.serverTls.secretName }}
- name: server-tls
  secret:
    secretName: {{ . | quote }}
{{- end }}
{{- else -}}
[]
{{- end }}
{{- end }}
