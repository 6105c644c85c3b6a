import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseCli } from '../../src/config.js';
import { DASHBOARDS_CONFIGMAP_FILE, PROMETHEUS_RULE_FILE, renderKubernetesFiles } from '../../tools/k8s/generate.js';
import { SIDECAR_NODE_FLAGS, SIDECAR_NODE_OPTIONS, SIDECAR_RESOURCES } from '../../tools/k8s/resources.js';
import { type Manifest, envOf, exporterOf, podOf, validate } from '../../harness/k8s-models.js';
import { ROOT, RULES_FILE, readRepoFile } from '../../harness/repo-files.js';

/** kustomize on PATH, else kubectl's built-in one. */
function kustomize(dir: string): Manifest[] {
  const onPath = (name: string): string | undefined =>
    (process.env['PATH'] ?? '')
      .split(delimiter)
      .map((d) => join(d, name))
      .find((p) => existsSync(p));
  const standalone = onPath('kustomize');
  const kubectl = onPath('kubectl');
  assert.ok(standalone || kubectl, 'kustomize is not installed: go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0, or install kubectl');
  const res = standalone ? spawnSync(standalone, ['build', dir], { encoding: 'utf8' }) : spawnSync(kubectl!, ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(res.status, 0, `kustomize build ${dir}: ${res.stderr}`);
  return parseAllDocuments(res.stdout).map((d) => d.toJS() as Manifest);
}

function manifestFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml')
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length))
    .sort();
}

/** The Dockerfile's ENTRYPOINT, which a sidecar's `command` repeats with Node flags added. */
function entrypoint(): string[] {
  const line = readRepoFile('Dockerfile')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  assert.ok(line, 'the Dockerfile has an ENTRYPOINT');
  return JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
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
    const files = readdirSync(join(ROOT, 'grafana'))
      .filter((f) => f.endsWith('.json'))
      .sort();
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
    ['k8s/sidecar-classic', ['ConfigMap', 'Deployment', 'PodMonitor', 'PrometheusRule']],
  ] as const) {
    test(`kustomize build ${dir}: valid resources, hardened pods, monitors that find the exporter`, () => {
      const manifests = kustomize(join(ROOT, dir));
      assert.deepEqual(manifests.map((m) => m.kind).sort(), [...expectedKinds]);
      for (const m of manifests) validate(m, `kustomize build ${dir}`);

      const pod = podOf(manifests);
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, 'pods run as non-root');
      const exporter = exporterOf(pod);
      assert.match(exporter.image, /^nats-queue-exporter:\d+\.\d+\.\d+$/, 'the kustomization sets the image tag');
      assert.deepEqual(exporter.ports, [{ name: 'metrics', containerPort: 7778 }]);
      assert.ok(exporter.livenessProbe && exporter.readinessProbe, 'liveness and readiness probes');
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        assert.ok(c.resources?.requests?.['cpu'] && c.resources.requests['memory'] && c.resources.limits?.['memory'], `${c.name}: requests and a memory limit`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${c.name}: read-only root filesystem`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${c.name}: drops all capabilities`);
      }

      const monitor = manifests.find((m) => m.kind === 'ServiceMonitor' || m.kind === 'PodMonitor') as Manifest & {
        spec: { selector: { matchLabels: Record<string, string> }; endpoints?: Array<{ port: string }>; podMetricsEndpoints?: Array<{ port: string }> };
      };
      const rule = manifests.find((m) => m.kind === 'PrometheusRule')!;
      for (const m of [monitor, rule])
        assert.equal(m.metadata.labels?.['release'], 'kube-prometheus-stack', `${m.kind}: the label kube-prometheus-stack selects by`);
      // The alert for a dead exporter matches jobs named after the monitor (PodMonitor) or Service.
      assert.match(monitor.metadata.name, /nats-queue-exporter/);
      const selected = monitor.kind === 'PodMonitor' ? pod.metadata.labels : ((manifests.find((m) => m.kind === 'Service') as Manifest).metadata.labels ?? {});
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(selected[k], v, `${monitor.kind} selector ${k}=${v}`);
      for (const e of monitor.spec.endpoints ?? monitor.spec.podMetricsEndpoints ?? []) assert.equal(e.port, 'metrics');
    });

    test(`kustomize build ${dir}: the exporter accepts the arguments and environment the manifest gives it`, () => {
      const exporter = exporterOf(podOf(kustomize(join(ROOT, dir))));
      const request = parseCli(exporter.args ?? [], envOf(exporter));
      assert.equal(request.kind, 'run');
      if (request.kind !== 'run') return;
      // The example FT pair: one logical server of two nodes.
      assert.deepEqual(
        request.config.servers.map((s) => s.name),
        ['prod'],
      );
    });
  }

  test("the native sidecar is an init container that runs for the pod's life; the classic one an ordinary second container", () => {
    const native = podOf(kustomize(join(ROOT, 'k8s/sidecar')));
    assert.deepEqual(
      native.spec.initContainers?.map((c) => [c.name, c.restartPolicy]),
      [['nats-queue-exporter', 'Always']],
    );
    assert.deepEqual(
      native.spec.containers.map((c) => c.name),
      ['worker'],
    );
    // Kubernetes starts the worker once the sidecar's startup probe passes: the exporter is listening by then.
    assert.equal(exporterOf(native).startupProbe?.httpGet?.path, '/readyz');
    const classic = podOf(kustomize(join(ROOT, 'k8s/sidecar-classic')));
    assert.equal(classic.spec.initContainers, undefined);
    assert.deepEqual(
      classic.spec.containers.map((c) => [c.name, c.restartPolicy]),
      [
        ['worker', undefined],
        ['nats-queue-exporter', undefined],
      ],
    );
    for (const pod of [native, classic]) {
      const sidecar = exporterOf(pod);
      const worker = pod.spec.containers.find((c) => c.name === 'worker')!;
      assert.equal(envOf(worker)['NQE_PROBE_URL'], 'http://127.0.0.1:7779', 'the worker reports to the probe listener on loopback');
      assert.deepEqual(sidecar.args?.slice(0, 2), ['--subjects', 'auto']);
      // The command is the image's ENTRYPOINT with the Node flags npm run footprint measures.
      const [node, ...script] = entrypoint();
      assert.deepEqual(sidecar.command, [node, ...SIDECAR_NODE_FLAGS, ...script]);
      assert.equal(envOf(sidecar)['NODE_OPTIONS'], SIDECAR_NODE_OPTIONS);
      assert.deepEqual(sidecar.resources, SIDECAR_RESOURCES);
    }
  });
});
