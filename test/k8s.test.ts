import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { Service } from 'kubernetes-models/v1/Service';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parse, parseAllDocuments } from 'yaml';
import { parseCli } from '../src/config.js';
import { DASHBOARDS_CONFIGMAP_FILE, PROMETHEUS_RULE_FILE, renderKubernetesFiles } from '../scripts/k8s/generate.js';
import { ROOT, RULES_FILE, readRepoFile } from './helpers/repo-files.js';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };

/** Schema validators by apiVersion/kind; validate() throws naming the field that is wrong. */
const MODELS: Record<string, (m: Manifest) => { validate(): void }> = {
  'apps/v1/Deployment': (m) => new Deployment(m as never),
  'v1/Service': (m) => new Service(m as never),
  'v1/ConfigMap': (m) => new ConfigMap(m as never),
  'monitoring.coreos.com/v1/ServiceMonitor': (m) => new ServiceMonitor(m as never),
  'monitoring.coreos.com/v1/PodMonitor': (m) => new PodMonitor(m as never),
  'monitoring.coreos.com/v1/PrometheusRule': (m) => new PrometheusRule(m as never),
};

function validate(m: Manifest, where: string): void {
  const model = MODELS[`${m.apiVersion}/${m.kind}`];
  assert.ok(model, `${where}: no schema for ${m.apiVersion} ${m.kind}`);
  try {
    model(m).validate();
  } catch (err) {
    assert.fail(`${where} ${m.kind}/${m.metadata.name}: ${(err as Error).message}`);
  }
}

/** kustomize on PATH, else kubectl's built-in one. */
function kustomize(dir: string): Manifest[] {
  const onPath = (name: string): string | undefined =>
    (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, name)).find((p) => existsSync(p));
  const standalone = onPath('kustomize');
  const kubectl = onPath('kubectl');
  assert.ok(standalone || kubectl, 'kustomize is not installed: go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0, or install kubectl');
  const res = standalone
    ? spawnSync(standalone, ['build', dir], { encoding: 'utf8' })
    : spawnSync(kubectl!, ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(res.status, 0, `kustomize build ${dir}: ${res.stderr}`);
  return parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
}

function manifestFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml')
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length))
    .sort();
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
}

describe('Kubernetes manifests', () => {
  test('generated files are up to date (npm run generate)', () => {
    for (const [path, text] of renderKubernetesFiles(ROOT)) {
      assert.equal(readRepoFile(path), text, `${path} is out of date: run npm run generate`);
    }
  });

  test('the PrometheusRule carries exactly the groups of the rules file', () => {
    const rule = parse(readRepoFile(PROMETHEUS_RULE_FILE)) as { spec: unknown };
    assert.deepEqual((rule.spec as { groups: unknown }).groups, (parse(readRepoFile(RULES_FILE)) as { groups: unknown }).groups);
  });

  test('the dashboards ConfigMap holds the files in grafana/, byte for byte, with the Grafana sidecar label', () => {
    const cm = parse(readRepoFile(DASHBOARDS_CONFIGMAP_FILE)) as Manifest & { data: Record<string, string> };
    const files = readdirSync(join(ROOT, 'grafana')).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(Object.keys(cm.data).sort(), files);
    for (const f of files) assert.equal(cm.data[f], readRepoFile(join('grafana', f)), `ConfigMap entry ${f} differs from grafana/${f}`);
    assert.equal(cm.metadata.labels?.['grafana_dashboard'], '1');
  });

  test('every manifest file matches the Kubernetes and prometheus-operator schemas', () => {
    const files = manifestFiles('k8s');
    assert.ok(files.length >= 7, files.join(', '));
    for (const file of files) {
      for (const doc of parseAllDocuments(readRepoFile(file))) validate(doc.toJS() as Manifest, file);
    }
  });

  for (const [dir, expectedKinds] of [
    ['k8s', ['ConfigMap', 'Deployment', 'PrometheusRule', 'Service', 'ServiceMonitor']],
    ['k8s/sidecar', ['ConfigMap', 'Deployment', 'PodMonitor', 'PrometheusRule']],
  ] as const) {
    test(`kustomize build ${dir}: valid resources, hardened pods, monitors that find the exporter`, () => {
      const manifests = kustomize(join(ROOT, dir));
      assert.deepEqual(manifests.map((m) => m.kind).sort(), [...expectedKinds]);
      for (const m of manifests) validate(m, `kustomize build ${dir}`);

      const deployment = manifests.find((m) => m.kind === 'Deployment') as Manifest & { spec: { template: PodTemplate } };
      const pod = deployment.spec.template;
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, 'pods run as non-root');
      const exporter = pod.spec.containers.find((c) => c.name === 'nats-queue-exporter');
      assert.ok(exporter, 'a container named nats-queue-exporter');
      assert.match(exporter.image, /^nats-queue-exporter:\d+\.\d+\.\d+$/, 'the kustomization sets the image tag');
      assert.deepEqual(exporter.ports, [{ name: 'metrics', containerPort: 7778 }]);
      assert.ok(exporter.livenessProbe && exporter.readinessProbe, 'liveness and readiness probes');
      const env = Object.fromEntries((exporter.env ?? []).map((e) => [e.name, e.value]));
      const request = parseCli(exporter.args ?? [], env);
      assert.equal(request.kind, 'run', 'the exporter accepts the arguments and environment the manifest gives it');
      for (const c of pod.spec.containers) {
        assert.ok(c.resources?.requests?.['cpu'] && c.resources.requests['memory'] && c.resources.limits?.['memory'], `${c.name}: requests and a memory limit`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${c.name}: read-only root filesystem`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${c.name}: drops all capabilities`);
      }

      const monitor = manifests.find((m) => m.kind === 'ServiceMonitor' || m.kind === 'PodMonitor') as Manifest & {
        spec: { selector: { matchLabels: Record<string, string> }; endpoints?: Array<{ port: string }>; podMetricsEndpoints?: Array<{ port: string }> };
      };
      const rule = manifests.find((m) => m.kind === 'PrometheusRule')!;
      for (const m of [monitor, rule]) assert.equal(m.metadata.labels?.['release'], 'kube-prometheus-stack', `${m.kind}: the label kube-prometheus-stack selects by`);
      // The alert for a dead exporter matches jobs named after the monitor (PodMonitor) or Service.
      assert.match(monitor.metadata.name, /nats-queue-exporter/);
      const selected = monitor.kind === 'PodMonitor'
        ? pod.metadata.labels
        : (manifests.find((m) => m.kind === 'Service') as Manifest).metadata.labels ?? {};
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(selected[k], v, `${monitor.kind} selector ${k}=${v}`);
      for (const e of monitor.spec.endpoints ?? monitor.spec.podMetricsEndpoints ?? []) assert.equal(e.port, 'metrics');
    });
  }
});
