import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Document, parseDocument } from 'yaml';
import { renderChart } from './chart.js';
import { renderManifests } from './manifests.js';
import { DASHBOARD_LABEL, RELEASE_LABEL } from './resources.js';

/**
 * Every generated Kubernetes file: k8s/ and the Helm chart from the builders of resources.ts; the
 * PrometheusRule carries the groups of the rules file (comments included), the ConfigMap carries
 * grafana/*.json verbatim, both read from those files when this runs.
 */

export const RULES_FILE = 'alerts/nats-queue-exporter.rules.yml';
export const PROMETHEUS_RULE_FILE = 'k8s/monitoring/prometheus-rule.yaml';
export const DASHBOARDS_CONFIGMAP_FILE = 'k8s/monitoring/grafana-dashboards.yaml';

function header(source: string): string {
  return `# Generated from ${source} by \`npm run generate\`: edit that instead.\n`;
}

export function prometheusRule(root: string): string {
  const rules = parseDocument(readFileSync(join(root, RULES_FILE), 'utf8'));
  if (rules.errors.length > 0) throw new Error(`${RULES_FILE}: ${rules.errors[0]!.message}`);
  const doc = new Document({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'nats-queue-exporter', labels: { 'app.kubernetes.io/name': 'nats-queue-exporter', ...RELEASE_LABEL } },
    spec: {},
  });
  doc.setIn(['spec', 'groups'], rules.get('groups', true));
  return header(RULES_FILE) + doc.toString({ lineWidth: 0 });
}

export function dashboardsConfigMap(root: string): string {
  const files = readdirSync(join(root, 'grafana'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  const data = Object.fromEntries(files.map((f) => [f, readFileSync(join(root, 'grafana', f), 'utf8')]));
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'nats-queue-exporter-dashboards',
      labels: { 'app.kubernetes.io/name': 'nats-queue-exporter', ...DASHBOARD_LABEL },
    },
    data,
  });
  return header('grafana/*.json') + doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}

export function renderKubernetesFiles(root: string): Map<string, string> {
  return new Map([
    ...renderManifests(),
    [PROMETHEUS_RULE_FILE, prometheusRule(root)],
    [DASHBOARDS_CONFIGMAP_FILE, dashboardsConfigMap(root)],
    ...renderChart(root),
  ]);
}
