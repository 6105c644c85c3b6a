import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseCli } from '../../src/config.js';
import { ARRIVAL_RATE, BACKLOG } from '../../mixin/alerts/scaling.js';
import { CHART_DIR, DASHBOARDS_COPY_DIR } from '../../tools/k8s/chart.js';
import { ADAPTER_METRIC } from '../../tools/k8s/chart-autoscaling.js';
import { type Manifest, envOf, exporterOf, podOf, validate } from '../../harness/k8s-models.js';
import { ROOT, RULES_FILE, readRepoFile } from '../../harness/repo-files.js';
import { requireTool } from '../../harness/tools.js';

const HELM_INSTALL = 'go install helm.sh/helm/v3/cmd/helm@v3.22.0';

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(requireTool('helm', HELM_INSTALL), args, { cwd: ROOT, encoding: 'utf8' });
}

/** `--set` flags for these values (`string:` first: --set-string; `file:` first: a values file, -f). */
function setFlags(set: readonly string[]): string[] {
  return set.flatMap((s) =>
    s.startsWith('string:') ? ['--set-string', s.slice('string:'.length)] : s.startsWith('file:') ? ['-f', s.slice('file:'.length)] : ['--set', s],
  );
}

/** `helm template` with these values (see setFlags); every object is checked against its schema. */
function render(set: string[] = [], release = 'nqe'): Manifest[] {
  const flags = setFlags(set);
  const res = helm(['template', release, CHART_DIR, '--namespace', 'monitoring', ...flags]);
  assert.equal(res.status, 0, `helm template ${set.join(' ')}: ${res.stderr}`);
  const manifests = parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as Manifest)
    .filter((m) => m !== null);
  for (const m of manifests) validate(m, `helm template ${set.join(' ')}`);
  return manifests;
}

const kinds = (ms: Manifest[]): string[] => ms.map((m) => m.kind).sort();
const byKind = (ms: Manifest[], kind: string): Manifest => {
  const m = ms.find((x) => x.kind === kind);
  assert.ok(m, `a ${kind}`);
  return m;
};

describe('Helm chart charts/nats-queue-exporter', () => {
  test('helm lint --strict finds nothing wrong', () => {
    const res = helm(['lint', '--strict', CHART_DIR]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('default values: what kube-prometheus-stack needs, valid objects that find each other', () => {
    const ms = render();
    assert.deepEqual(kinds(ms), ['ConfigMap', 'Deployment', 'PrometheusRule', 'Service', 'ServiceMonitor']);
    const pod = podOf(ms);
    const service = byKind(ms, 'Service') as Manifest & { spec: { selector: Record<string, string> } };
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(pod.metadata.labels[k], v, `Service selector ${k}=${v}`);
    const monitor = byKind(ms, 'ServiceMonitor') as Manifest & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; scheme: string }> };
    };
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels?.[k], v, `ServiceMonitor selector ${k}=${v}`);
    assert.deepEqual(
      monitor.spec.endpoints.map((e) => [e.port, e.scheme]),
      [['metrics', 'http']],
    );
    const rule = byKind(ms, 'PrometheusRule');
    for (const m of [monitor, rule])
      assert.equal(m.metadata.labels?.['release'], 'kube-prometheus-stack', `${m.kind}: the label kube-prometheus-stack selects by`);
    // NatsQueueExporterDown matches jobs containing nats-queue-exporter; a ServiceMonitor's job is the Service's name.
    assert.match(service.metadata.name, /nats-queue-exporter/);
    assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
    const exporter = exporterOf(pod);
    assert.equal(exporter.image, `nats-queue-exporter:${(JSON.parse(readRepoFile('package.json')) as { version: string }).version}`);
    assert.equal(envOf(exporter)['NQE_PROBE_LISTEN'], 'off');
  });

  test('the PrometheusRule holds exactly the groups of the rules file, and the ConfigMap exactly grafana/', () => {
    const ms = render();
    assert.deepEqual(
      (byKind(ms, 'PrometheusRule') as Manifest & { spec: { groups: unknown } }).spec.groups,
      (parse(readRepoFile(RULES_FILE)) as { groups: unknown }).groups,
    );
    const cm = byKind(ms, 'ConfigMap') as Manifest & { data: Record<string, string> };
    const files = readdirSync(join(ROOT, 'grafana'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(Object.keys(cm.data).sort(), files);
    for (const f of files) assert.equal(cm.data[f], readRepoFile(join('grafana', f)), `ConfigMap entry ${f} differs from grafana/${f}`);
    assert.equal(cm.metadata.labels?.['grafana_dashboard'], '1');
    // A dashboard removed from grafana/ must not linger in the chart either.
    assert.deepEqual(readdirSync(join(ROOT, DASHBOARDS_COPY_DIR)).sort(), files);
  });

  test('the Deployment is the one of k8s/central: same container apart from what values set', () => {
    const chart = exporterOf(podOf(render()));
    const plain = exporterOf(podOf(parseAllDocuments(readRepoFile('k8s/central/deployment.yaml')).map((d) => d.toJS() as Manifest)));
    for (const key of ['ports', 'resources', 'securityContext'] as const) assert.deepEqual(chart[key], plain[key], key);
    assert.deepEqual(chart.livenessProbe, { ...plain.livenessProbe, httpGet: { ...plain.livenessProbe!.httpGet, scheme: 'HTTP' } });
    assert.equal(envOf(chart)['NQE_SERVERS'], envOf(plain)['NQE_SERVERS']);
  });

  function acceptedConfig(set: string[]) {
    const exporter = exporterOf(podOf(render(set)));
    const request = parseCli(exporter.args ?? [], envOf(exporter));
    assert.equal(request.kind, 'run');
    return request.kind === 'run' ? request.config : assert.fail('not a run');
  }

  test('the exporter accepts the environment and arguments the chart gives it', () => {
    const config = acceptedConfig([
      'servers[0].name=main',
      'servers[0].url=http://nats:8222',
      'subjects={orders.>,billing.*}',
      'detailedMetrics=true',
      'string:extraArgs={--page-size,512}',
    ]);
    assert.deepEqual(
      config.servers.map((s) => s.name),
      ['main'],
    );
    assert.equal(config.detailedMetrics, true);
    assert.deepEqual(config.warnings, []);
    assert.equal(config.pageSize, 512);
    assert.equal(config.probeListen, undefined, 'no probe listener in a central exporter');
  });

  test('the default servers are one logical server, an FT pair', () => {
    assert.deepEqual(
      acceptedConfig([]).servers.map((s) => s.name),
      ['prod'],
    );
  });

  test('secrets from existing Secrets: a server password, a web config with TLS, CA and client certificate for the servers', () => {
    const ms = render([
      'servers[0].name=prod',
      'servers[0].url=https://monitor@nats-a:8222',
      'servers[0].passwordSecret.name=nats-monitor',
      'servers[1].name=prod',
      'servers[1].url=https://monitor@nats-b:8222',
      'servers[1].passwordSecret.name=nats-monitor',
      'webConfig.secretName=nqe-web',
      'webConfig.tls=true',
      'serverTls.secretName=nats-ca',
      'serverTls.caKey=ca.crt',
      'serverTls.certKey=tls.crt',
      'serverTls.keyKey=tls.key',
    ]);
    const pod = podOf(ms);
    const exporter = exporterOf(pod);
    const env = envOf(exporter);
    assert.equal(env['NQE_SERVER_PASSWORD_PROD'], 'secret:nats-monitor/password', 'one password variable for the logical server, from the Secret');
    assert.equal((exporter.env ?? []).filter((e) => e.name === 'NQE_SERVER_PASSWORD_PROD').length, 1);
    const mounts = Object.fromEntries((exporter.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    const volumes = Object.fromEntries((pod.spec.volumes ?? []).map((v) => [v.name, v.secret?.secretName]));
    assert.deepEqual(volumes, { 'web-config': 'nqe-web', 'server-tls': 'nats-ca' });
    assert.equal(env['NQE_WEB_CONFIG'], `${mounts['web-config']}/web-config.yml`);
    assert.equal(env['NQE_SERVER_CA_FILE'], `${mounts['server-tls']}/ca.crt`);
    assert.equal(env['NQE_SERVER_CERT_FILE'], `${mounts['server-tls']}/tls.crt`);
    assert.equal(env['NQE_SERVER_KEY_FILE'], `${mounts['server-tls']}/tls.key`);
    assert.equal(exporter.livenessProbe?.httpGet?.scheme, 'HTTPS', 'kubelet probes follow the web config to https');
    const monitor = byKind(ms, 'ServiceMonitor') as Manifest & { spec: { endpoints: Array<{ scheme: string }> } };
    assert.equal(monitor.spec.endpoints[0]!.scheme, 'https');
  });

  test('a PodMonitor instead of the ServiceMonitor, endpoint fields passed through, rules and dashboards off, dashboards elsewhere', () => {
    const ms = render([
      'serviceMonitor.enabled=false',
      'podMonitor.enabled=true',
      'podMonitor.labels.release=prom',
      'podMonitor.endpoint.honorLabels=true',
      'prometheusRule.enabled=false',
      'dashboards.namespace=grafana',
    ]);
    assert.deepEqual(kinds(ms), ['ConfigMap', 'Deployment', 'PodMonitor', 'Service']);
    const monitor = byKind(ms, 'PodMonitor') as Manifest & {
      spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<Record<string, unknown>> };
    };
    assert.equal(monitor.metadata.labels?.['release'], 'prom');
    assert.equal(monitor.spec.podMetricsEndpoints[0]!['honorLabels'], true);
    const pod = podOf(ms);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(pod.metadata.labels[k], v);
    assert.equal(byKind(ms, 'ConfigMap').metadata.namespace, 'grafana');
    assert.deepEqual(kinds(render(['dashboards.enabled=false', 'serviceMonitor.enabled=false'])), ['Deployment', 'PrometheusRule', 'Service']);
  });

  test('the release name is kept in the objects\' names, and "nats-queue-exporter" with it', () => {
    assert.equal(byKind(render([], 'nats-queue-exporter'), 'Service').metadata.name, 'nats-queue-exporter');
    assert.equal(byKind(render([], 'team-a'), 'Service').metadata.name, 'team-a-nats-queue-exporter');
  });

  /** NOTES.txt as `helm install` prints it: helm template renders it only through tpl, in a copy of the chart. */
  function notes(set: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'nqe-chart-'));
    try {
      cpSync(join(ROOT, CHART_DIR), dir, { recursive: true });
      renameSync(join(dir, 'templates', 'NOTES.txt'), join(dir, 'notes-text'));
      writeFileSync(join(dir, 'templates', 'notes-check.yaml'), 'notes: {{ tpl (.Files.Get "notes-text") . | toJson }}\n');
      const res = helm(['template', 'nqe', dir, '--namespace', 'monitoring', '--show-only', 'templates/notes-check.yaml', ...set.flatMap((s) => ['--set', s])]);
      assert.equal(res.status, 0, res.stderr);
      return (parse(res.stdout) as { notes: string }).notes;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('NOTES.txt says how to check the servers, and what Prometheus and Grafana need, as configured', () => {
    const plain = notes([]);
    assert.match(plain, /prod: http:\/\/nats-streaming-0\.nats-streaming:8222\n {2}prod: http:\/\/nats-streaming-1/);
    assert.match(plain, /kubectl -n monitoring port-forward svc\/nqe-nats-queue-exporter 7778:7778/);
    assert.match(plain, /curl -s http:\/\/127\.0\.0\.1:7778\/metrics/);
    assert.match(plain, /ServiceMonitor carries \{"release":"kube-prometheus-stack"\}/);
    const secured = notes([
      'webConfig.secretName=nqe-web',
      'webConfig.tls=true',
      'serviceMonitor.enabled=false',
      'podMonitor.enabled=true',
      'podMonitor.labels.release=prom',
      'dashboards.enabled=false',
    ]);
    assert.match(secured, /curl -sk -u USER:PASSWORD https:\/\/127\.0\.0\.1:7778\/metrics/);
    assert.match(secured, /PodMonitor carries \{"release":"prom"\}/);
    assert.match(secured, /set podMonitor\.labels\.release/);
    assert.doesNotMatch(secured, /Grafana/);
  });

  test('detailedMetrics sets NQE_DETAILED_METRICS; the old subscriptionMetrics still installs, does nothing, and NOTES.txt says so', () => {
    assert.equal(envOf(exporterOf(podOf(render())))['NQE_DETAILED_METRICS'], undefined);
    assert.equal(envOf(exporterOf(podOf(render(['detailedMetrics=true']))))['NQE_DETAILED_METRICS'], 'true');
    for (const old of ['subscriptionMetrics=false', 'subscriptionMetrics=true']) {
      const env = envOf(exporterOf(podOf(render([old]))));
      assert.equal(env['NQE_NO_SUBSCRIPTION_METRICS'], undefined, old);
      assert.equal(env['NQE_DETAILED_METRICS'], undefined, old);
      assert.match(
        notes([old]),
        /The value subscriptionMetrics has no effect and can be removed: \/metrics leaves the per-subscription\nseries out by default now; detailedMetrics: true puts them back/,
      );
    }
    assert.doesNotMatch(notes([]), /subscriptionMetrics/);
  });

  test('bad values are refused with the key that is wrong', () => {
    for (const [set, wanted] of [
      [['servers[0].url=nats://nats-a:4222'], /servers\/0\/url|servers\.0\.url/],
      [['logLevel=loud'], /logLevel/],
      [['serviceMonitor.interval=30'], /serviceMonitor/],
      [['nosuchkey=1'], /nosuchkey/],
    ] as const) {
      const res = helm(['template', 'nqe', CHART_DIR, ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(res.status, 0, `helm template --set ${set.join(' ')} is refused`);
      assert.match(res.stderr, wanted);
    }
    const empty = helm(['template', 'nqe', CHART_DIR, '--set', 'servers=null']);
    assert.notEqual(empty.status, 0);
    assert.match(empty.stderr, /servers/);
  });

  describe('autoscaling', () => {
    const KEDA_VALUES = `file:${CHART_DIR}/ci/keda-values.yaml`;
    const QUEUE_LABELS = ['namespace', 'server', 'account', 'subject', 'group', 'durable'];
    interface ScaledObject {
      metadata: { name: string; namespace: string };
      spec: {
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
        fallback: { failureThreshold: number; replicas: number; behavior: string };
        triggers: Array<{ type: string; metricType: string; metadata: Record<string, string> }>;
      };
    }
    const scaledObjects = (ms: Manifest[]): ScaledObject[] => ms.filter((m) => m.kind === 'ScaledObject') as unknown as ScaledObject[];

    /** The label matchers of each recording rule a query reads, by rule name. */
    function selectors(query: string): Map<string, Record<string, string>> {
      return new Map(
        [...query.matchAll(/([\w:]+)\{([^}]*)\}/g)].map((m) => [m[1]!, Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]))]),
      );
    }

    test('off by default: no ScaledObject and no HPA', () => {
      assert.ok(!render().some((m) => m.kind === 'ScaledObject' || m.kind === 'HorizontalPodAutoscaler'));
    });

    test('ci/keda-values.yaml: one ScaledObject per worker, the prometheus trigger on the scaling rules, a missing series an error, the fallback keeping the replicas', () => {
      const ms = render([KEDA_VALUES]);
      const rules = new Set(
        parse(readRepoFile(RULES_FILE))
          .groups.find((g: { name: string }) => g.name === 'nats-queue-exporter-scaling')
          .rules.map((r: { record: string }) => r.record),
      );
      const objects = scaledObjects(ms);
      assert.deepEqual(
        objects.map((o) => [o.metadata.namespace, o.metadata.name, o.spec.scaleTargetRef.name]),
        [
          ['media', 'resize-worker', 'resize-worker'],
          ['billing', 'billing-worker', 'billing-worker'],
          ['mail', 'mail-worker', 'mail-worker'],
        ],
      );
      for (const o of objects) {
        assert.equal(o.spec.triggers.length, 1);
        const [trigger] = o.spec.triggers;
        assert.equal(trigger!.type, 'prometheus');
        assert.equal(trigger!.metricType, 'AverageValue', "KEDA's fallback works on AverageValue triggers only");
        assert.equal(trigger!.metadata['ignoreNullValues'], 'false', `${o.metadata.name}: an absent series must be an error, not 0`);
        assert.deepEqual(o.spec.fallback, { failureThreshold: 3, replicas: Math.max(1, o.spec.minReplicaCount), behavior: 'currentReplicasIfHigher' });
        const read = selectors(trigger!.metadata['query']!);
        assert.ok(read.size > 0, `${o.metadata.name}: the query reads no recording rule`);
        for (const [rule, labels] of read) {
          assert.ok(rules.has(rule), `${o.metadata.name}: ${rule} is not a recording rule of the scaling group`);
          assert.deepEqual(Object.keys(labels), QUEUE_LABELS, `${o.metadata.name}: every label of the queue is matched, so one series answers`);
          assert.equal(labels['namespace'], 'monitoring', "the central exporter's series carry its namespace");
        }
      }
      assert.deepEqual(
        objects.map((o) => o.spec.minReplicaCount),
        [0, 1, 1],
      );
      assert.equal(
        objects[0]!.spec.triggers[0]!.metadata['query'],
        `${BACKLOG}{namespace="monitoring", server="stan-a", account="", subject="images", group="resizers", durable="resize"}`,
      );
      assert.equal(objects[0]!.spec.triggers[0]!.metadata['threshold'], '100');
      const drain = objects[2]!.spec.triggers[0]!.metadata;
      assert.equal(
        drain['query'],
        `${BACKLOG}{namespace="monitoring", server="stan-c", account="", subject="emails", group="senders", durable=""} / 300 + ${ARRIVAL_RATE}{namespace="monitoring", server="stan-c", account="", subject="emails", group="senders", durable=""}`,
      );
      assert.equal(drain['threshold'], '2');
    });

    test('every values file in ci/ renders objects valid against their schemas (chart-testing renders them too)', () => {
      const files = readdirSync(join(ROOT, CHART_DIR, 'ci'))
        .filter((f) => f.endsWith('-values.yaml'))
        .sort();
      assert.deepEqual(files, ['hpa-values.yaml', 'keda-values.yaml']);
      const hpas = render([`file:${CHART_DIR}/ci/hpa-values.yaml`]).filter((m) => m.kind === 'HorizontalPodAutoscaler');
      assert.deepEqual(
        hpas.map((m) => `${m.metadata.namespace}/${m.metadata.name}`),
        ['media/resize-worker', 'billing/billing-worker', 'mail/mail-worker'],
      );
    });

    test("figures from a sidecar: the query matches the workers' namespace, where the sidecars are scraped", () => {
      const [o] = scaledObjects(render([KEDA_VALUES, 'autoscaling.workers[0].figuresFrom=sidecar', 'autoscaling.workers[0].minReplicaCount=1']));
      assert.equal(selectors(o!.spec.triggers[0]!.metadata['query']!).get(BACKLOG)?.['namespace'], 'media');
    });

    const ONE_WORKER = [
      'autoscaling.workers[0].deployment=billing-worker',
      'autoscaling.workers[0].namespace=billing',
      'autoscaling.workers[0].queue.server=stan-b',
      'autoscaling.workers[0].queue.subject=invoices',
      'autoscaling.workers[0].queue.group=billers',
      'autoscaling.workers[0].maxReplicaCount=5',
    ];
    const BY_BACKLOG = [...ONE_WORKER, 'autoscaling.workers[0].messagesPerReplica=20'];
    const BY_DRAIN_TIME = [...ONE_WORKER, 'autoscaling.workers[0].targetDrainSeconds=60', 'autoscaling.workers[0].messagesPerSecondPerReplica=1'];

    test("an HPA on prometheus-adapter's external metric instead of KEDA: the queue's labels as its selector", () => {
      const ms = render(['autoscaling.hpa.enabled=true', ...BY_BACKLOG]);
      const hpas = ms.filter((m) => m.kind === 'HorizontalPodAutoscaler') as unknown as Array<{
        metadata: { namespace: string };
        spec: {
          scaleTargetRef: { kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
          metrics: Array<{
            type: string;
            external: { metric: { name: string; selector: { matchLabels: Record<string, string> } }; target: { type: string; averageValue: string } };
          }>;
        };
      }>;
      assert.equal(hpas.length, 1);
      const [hpa] = hpas;
      assert.equal(hpa!.metadata.namespace, 'billing');
      assert.deepEqual(
        [hpa!.spec.scaleTargetRef.kind, hpa!.spec.scaleTargetRef.name, hpa!.spec.minReplicas, hpa!.spec.maxReplicas],
        ['Deployment', 'billing-worker', 1, 5],
      );
      const [metric] = hpa!.spec.metrics;
      assert.equal(metric!.type, 'External');
      assert.equal(metric!.external.metric.name, ADAPTER_METRIC);
      assert.deepEqual(metric!.external.metric.selector.matchLabels, {
        namespace: 'monitoring',
        server: 'stan-b',
        account: '',
        subject: 'invoices',
        group: 'billers',
        durable: '',
      });
      assert.deepEqual(metric!.external.target, { type: 'AverageValue', averageValue: '20' });
      assert.ok(!ms.some((m) => m.kind === 'ScaledObject'));
    });

    test('what cannot work is refused, saying why', () => {
      for (const [set, wanted] of [
        [
          [KEDA_VALUES, 'autoscaling.workers[0].figuresFrom=sidecar'],
          /resize-worker.*minReplicaCount 0 with figuresFrom sidecar: the sidecar runs in the workers' pods, so at zero replicas no exporter reports the queue/,
        ],
        [[KEDA_VALUES, 'autoscaling.hpa.enabled=true'], /keda\.enabled and hpa\.enabled are both true/],
        [['autoscaling.hpa.enabled=true', ...BY_BACKLOG, 'autoscaling.workers[0].minReplicaCount=0'], /billing-worker.*an HPA scales no lower than 1 replica/],
        [['autoscaling.hpa.enabled=true', ...BY_DRAIN_TIME], /billing-worker.*targetDrainSeconds with hpa\.enabled/],
        // Two targets, or a drain time without the rate of one replica.
        [['autoscaling.keda.enabled=true', ...BY_BACKLOG, 'autoscaling.workers[0].targetDrainSeconds=60'], /autoscaling\/workers\/0/],
        [['autoscaling.keda.enabled=true', ...ONE_WORKER, 'autoscaling.workers[0].targetDrainSeconds=60'], /autoscaling\/workers\/0/],
        [['autoscaling.keda.enabled=true', ...BY_BACKLOG, 'autoscaling.workers[0].queue.server='], /autoscaling\/workers\/0\/queue\/server/],
      ] as const) {
        const res = helm(['template', 'nqe', CHART_DIR, '--namespace', 'monitoring', ...setFlags(set)]);
        assert.notEqual(res.status, 0, `helm template ${set.join(' ')} is refused`);
        assert.match(res.stderr, wanted);
      }
    });
  });
});
