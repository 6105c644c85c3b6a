import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { MONITORING } from '../../mixin/alerts/config.js';
import { INHIBIT_FILE, renderAlertFiles, renderRulesFile } from '../../mixin/alerts/generate.js';
import { type RunningTool, startAlertmanager } from '../../harness/prometheus.js';
import { ROOT, RULES_FILE, alertRules, headingAnchors, loadRules, readRepoFile, runbookTarget } from '../../harness/repo-files.js';
import { requireTool } from '../../harness/tools.js';

const TESTS_FILE = 'alerts/nats-queue-exporter.test.yml';
const SCALING_TESTS_FILE = 'alerts/scaling.test.yml';
const JOB = 'job=~".*nats-queue-exporter.*"';

function run(tool: string, args: string[], cwd = ROOT): { status: number | null; output: string } {
  const res = spawnSync(requireTool(tool), args, { cwd, encoding: 'utf8' });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts: unknown[];
}

describe('alert rules', () => {
  test('alerts/ holds what tools/alerts writes (npm run generate)', () => {
    for (const [path, text] of renderAlertFiles()) assert.equal(readRepoFile(path), text, `${path} is out of date: run npm run generate`);
  });

  test('promtool check rules accepts the rules file', () => {
    const res = run('promtool', ['check', 'rules', RULES_FILE]);
    assert.equal(res.status, 0, res.output);
  });

  test('promtool test rules passes', () => {
    const res = run('promtool', ['test', 'rules', TESTS_FILE, SCALING_TESTS_FILE]);
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /SUCCESS/);
  });

  test('every alert has a promtool test that sees it fire, and one before that sees it silent', () => {
    const tests = (parse(readRepoFile(TESTS_FILE)) as { tests: Array<{ alert_rule_test: AlertRuleTest[] }> }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test);
    const minutes = (d: string): number => Number(/^(\d+)m$/.exec(d)?.[1] ?? NaN);
    for (const rule of alertRules()) {
      const own = cases.filter((c) => c.alertname === rule.alert);
      const fires = own.filter((c) => c.exp_alerts.length > 0).map((c) => minutes(c.eval_time));
      const silent = own.filter((c) => c.exp_alerts.length === 0).map((c) => minutes(c.eval_time));
      assert.ok(fires.length > 0, `${rule.alert}: no test expects it to fire`);
      assert.ok(
        silent.some((s) => s < Math.min(...fires)),
        `${rule.alert}: no test expects it silent before it fires`,
      );
    }
  });

  test('every alert has a promtool case with JetStream series (servers named js...)', () => {
    const tests = (parse(readRepoFile(TESTS_FILE)) as { tests: Array<{ input_series: Array<{ series: string }>; alert_rule_test: AlertRuleTest[] }> }).tests;
    const jetstream = (series: string): boolean => /^jetstream_/.test(series) || /\bserver="js\w*"/.test(series);
    for (const rule of alertRules()) {
      const own = tests.filter((t) => t.alert_rule_test.some((c) => c.alertname === rule.alert));
      assert.ok(
        own.some((t) => t.input_series.some((i) => jetstream(i.series))),
        `${rule.alert}: no promtool case has JetStream series`,
      );
    }
  });

  test('every alert has for, severity, a static summary, a templated description, a runbook section and a dashboard link', () => {
    const anchors = headingAnchors(readRepoFile('docs/runbook.md'));
    const names = new Set<string>();
    for (const rule of alertRules()) {
      const name = rule.alert!;
      assert.ok(!names.has(name), `${name} is defined twice`);
      names.add(name);
      assert.match(name, /^Nats(Queue|Streaming|JetStream)[A-Z]/, `${name}: alerts share the NatsQueue/NatsStreaming/NatsJetStream prefix`);
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${name}: needs a for`);
      assert.ok(['critical', 'warning'].includes(rule.labels?.['severity'] ?? ''), `${name}: severity must be critical (pages) or warning (tickets)`);
      const a = rule.annotations ?? {};
      assert.ok(a['summary'] && !a['summary'].includes('{{'), `${name}: summary must be static text`);
      assert.match(a['description'] ?? '', /\$value/, `${name}: description must give the value`);
      assert.doesNotMatch(a['description'] ?? '', /\{\{ \$value \}\}/, `${name}: humanize the value (1.2k, not 1.2e+03)`);
      const identity =
        /by \(([^)]*)\)/
          .exec(rule.expr)?.[1]
          ?.split(',')
          .map((l) => l.trim()) ?? [];
      for (const label of identity) {
        assert.ok(a['description']!.includes(`$labels.${label}`), `${name}: description must name ${label}`);
      }
      const target = runbookTarget(a['runbook_url'] ?? '');
      assert.equal(target.file, 'docs/runbook.md');
      assert.equal(target.anchor, name.toLowerCase(), `${name}: runbook anchor`);
      assert.ok(anchors.has(target.anchor), `${name}: docs/runbook.md has no section "## ${name}"`);
      if (a['dashboard_url'] !== undefined) {
        assert.match(
          a['dashboard_url'],
          /^https?:\/\/[^/]+\/d\/nats-queue-(detail|overview)\?var-namespace=\{\{ \$labels\.namespace \| urlquery \}\}&var-server=/,
          `${name}: dashboard_url`,
        );
      } else {
        assert.ok(!identity.includes('server'), `${name}: an alert about a server or queue links its dashboard`);
      }
    }
    const sections = [...readRepoFile('docs/runbook.md').matchAll(/^## (\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual(sections.sort(), [...names].sort(), 'docs/runbook.md has one section per alert, no more');
  });

  test('an alert that mutes others keeps firing a little after its condition ends (keep_firing_for); no other alert does', () => {
    // Read from the committed inhibit file, not from the generator's list.
    const inhibit = parse(readRepoFile(INHIBIT_FILE)) as { inhibit_rules: Array<{ source_matchers: string[] }> };
    const sources = new Set(inhibit.inhibit_rules.flatMap((r) => r.source_matchers.flatMap((m) => /^alertname=~?"([^"]+)"$/.exec(m)?.[1]?.split('|') ?? [])));
    assert.ok(sources.has('NatsQueueMessagesLost') && sources.has('NatsQueueStuck'), [...sources].join(', '));
    for (const rule of alertRules()) {
      if (sources.has(rule.alert!)) assert.match(rule.keep_firing_for ?? '', /^\d+[smh]$/, `${rule.alert}: an inhibit source needs keep_firing_for`);
      else assert.equal(rule.keep_firing_for, undefined, `${rule.alert}: mutes nothing, so it resolves at once`);
    }
  });

  test('server-side series are de-duplicated with max by before they are compared or summed', () => {
    for (const rule of loadRules().flatMap((g) => g.rules)) {
      // A recorded series (level:metric:operations) is one per identity already.
      for (const m of rule.expr.matchAll(/(?<![:\w])(queue_(?!client_)\w+|stan_\w+)\b(?!:)/g)) {
        const before = rule.expr.slice(0, m.index);
        assert.match(
          before,
          /(max|group)(_over_time)?(\s+by\s*\([^)]*\))?\s*\((\w+\()?\s*$/,
          `${rule.alert ?? rule.record}: ${m[1]} is not inside max by (...) or group by (...)`,
        );
      }
    }
  });

  test('every series is selected by the job matcher, and every aggregation by server keeps the identity labels', () => {
    for (const rule of alertRules()) {
      for (const m of rule.expr.matchAll(/\b(up|queue_\w+|stan_\w+)(\{[^}]*\})?/g)) {
        assert.ok(m[2]?.includes(JOB), `${rule.alert}: ${m[0]} lacks ${JOB}`);
      }
      for (const m of rule.expr.matchAll(/by \(([^)]*)\)/g)) {
        const labels = m[1]!.split(',').map((l) => l.trim());
        if (labels.includes('server'))
          assert.deepEqual(labels.slice(0, MONITORING.identity.length), [...MONITORING.identity], `${rule.alert}: by (${m[1]}) drops the identity labels`);
      }
      assert.doesNotMatch(rule.expr, /scalar\(/, `${rule.alert}: scalar() turns duplicated series into NaN and the alert off`);
    }
  });

  test('the scaling group records level:metric:operations names, each tested by a promtool case', () => {
    const scaling = loadRules().find((g) => g.name === 'nats-queue-exporter-scaling');
    assert.ok(scaling, 'the rules file has no nats-queue-exporter-scaling group');
    const tested = readRepoFile(SCALING_TESTS_FILE);
    for (const rule of scaling.rules) {
      assert.match(rule.record ?? '', /^queue:queue_[a-z_]+:(max|rate\d+[smh])$/, `${rule.record}: level queue, the metric read, the operations`);
      assert.ok(tested.includes(`expr: ${rule.record}`) || tested.includes(`'${rule.record}{`), `${rule.record}: no case in ${SCALING_TESTS_FILE}`);
    }
  });

  test('every threshold is used by an alert and every threshold an alert uses exists', () => {
    const rules = loadRules().flatMap((g) => g.rules);
    const defined = rules.filter((r) => r.record === 'nats_queue:alert_threshold').map((r) => r.labels?.['threshold']);
    const used = rules.flatMap((r) => [...r.expr.matchAll(/nats_queue:alert_threshold\{threshold="(\w+)"/g)].map((m) => m[1]));
    assert.deepEqual([...new Set(used)].sort(), [...defined].sort());
    const page = readRepoFile('docs/dashboards-and-alerts.md');
    for (const t of defined) assert.ok(page.includes(`\`${t}\``), `docs/dashboards-and-alerts.md must document threshold ${t}`);
  });

  test('a per-queue override in mixin/alerts/config.ts becomes a recorded threshold the alert uses', () => {
    const overrides = MONITORING.thresholds.backlog_growing_messages.overrides as Array<{ subject: string; group?: string; value: number }>;
    overrides.push({ subject: 'big', group: 'workers', value: 1000 });
    let rules: string;
    try {
      rules = renderRulesFile();
    } finally {
      overrides.pop();
    }
    const dir = mkdtempSync(join(tmpdir(), 'nqe-override-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), rules);
      const series = (subject: string): Array<{ series: string; values: string }> => [
        { series: `queue_msgs_pending{job="nats-queue-exporter", server="a", subject="${subject}", group="workers", durable=""}`, values: '0+20x40' },
        { series: `queue_consumers{job="nats-queue-exporter", server="a", subject="${subject}", group="workers", durable=""}`, values: '2x40' },
      ];
      writeFileSync(
        join(dir, 'test.yml'),
        stringify({
          rule_files: ['rules.yml'],
          evaluation_interval: '1m',
          tests: [
            {
              interval: '1m',
              input_series: [...series('orders'), ...series('big')],
              // Only orders fires: big stays below its override of 1000 (it reaches 800).
              promql_expr_test: [
                {
                  expr: 'ALERTS{alertname="NatsQueueBacklogGrowing", alertstate="firing"}',
                  eval_time: '40m',
                  exp_samples: [
                    {
                      labels:
                        'ALERTS{alertname="NatsQueueBacklogGrowing", alertstate="firing", severity="warning", server="a", subject="orders", group="workers"}',
                      value: 1,
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const res = run('promtool', ['test', 'rules', 'test.yml'], dir);
      assert.equal(res.status, 0, res.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the rules file is where the tests load it from', () => {
    const tests = parse(readRepoFile(TESTS_FILE)) as { rule_files: string[] };
    assert.deepEqual(
      tests.rule_files.map((f) => join('alerts', f)),
      [RULES_FILE],
    );
  });
});

/** The shipped inhibit rules inside the smallest complete Alertmanager configuration. */
function alertmanagerConfig(): string {
  const inhibit = parse(readRepoFile(INHIBIT_FILE)) as { inhibit_rules: unknown[] };
  return stringify({ route: { receiver: 'none' }, receivers: [{ name: 'none' }], ...inhibit });
}

describe('Alertmanager inhibit rules (alerts/alertmanager-inhibit-rules.yml)', () => {
  let alertmanager: RunningTool;
  before(async () => {
    alertmanager = await startAlertmanager(alertmanagerConfig());
  });
  after(async () => {
    await alertmanager?.stop();
  });

  test('amtool check-config accepts them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nqe-amtool-'));
    try {
      writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerConfig());
      const res = run('amtool', ['check-config', join(dir, 'alertmanager.yml')]);
      assert.equal(res.status, 0, res.output);
      assert.match(res.output, / 8 inhibit rules/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const queue = { server: 'prod', subject: 'orders', group: 'workers', durable: '' };
  const other = { ...queue, subject: 'invoices' };
  const otherNamespace = { ...queue, namespace: 'bank' };
  const jsQueue = { server: 'js', account: 'tenant', subject: 'ORDERS', group: '', durable: 'puller' };
  /** [source alert, its labels, target alert, its labels, inhibited?] */
  const CASES: Array<[string, Record<string, string>, string, Record<string, string>, boolean]> = [
    ['NatsQueueStuck', queue, 'NatsQueueConsumerStalled', queue, true],
    ['NatsQueueStuck', queue, 'NatsQueueBacklogGrowing', queue, true],
    ['NatsQueueStuck', queue, 'NatsQueueHandlersHung', queue, true],
    ['NatsQueueStuck', queue, 'NatsQueueConsumerStalled', other, false],
    ['NatsQueueStuck', queue, 'NatsQueueConsumerStalled', otherNamespace, false],
    ['NatsQueueHandlersHung', queue, 'NatsQueueConsumerStalled', queue, true],
    ['NatsQueueMessagesLost', queue, 'NatsQueueDurableOffline', queue, true],
    ['NatsQueueMessagesLost', queue, 'NatsStreamingChannelNearMessageLimit', { server: 'prod', subject: 'orders' }, true],
    ['NatsQueueMessagesLost', queue, 'NatsStreamingChannelNearMessageLimit', { server: 'prod', subject: 'invoices' }, false],
    ['NatsStreamingServerDown', { server: 'prod' }, 'NatsStreamingRedundancyLost', { server: 'prod' }, true],
    ['NatsStreamingServerDown', { server: 'prod' }, 'NatsStreamingRedundancyLost', { server: 'billing' }, false],
    ['NatsStreamingServerWithoutOwner', { server: 'prod' }, 'NatsStreamingRedundancyLost', { server: 'prod' }, true],
    ['NatsQueueExporterDown', {}, 'NatsStreamingServerVanished', { server: 'prod' }, true],
    ['NatsQueueExporterDown', { job: 'nats-queue-exporter', instance: '10.0.0.1:7778' }, 'NatsStreamingServerVanished', { server: 'prod' }, false],
    ['NatsQueueMessagesLost', queue, 'NatsQueueStuck', queue, false],
    ['NatsQueueStuck', queue, 'NatsQueueOldestMessageTooOld', queue, true],
    ['NatsQueueDurableOffline', queue, 'NatsQueueOldestMessageTooOld', queue, true],
    ['NatsQueueMessagesLost', queue, 'NatsQueueOldestMessageTooOld', queue, true],
    ['NatsJetStreamServerDown', { server: 'js' }, 'NatsStreamingRedundancyLost', { server: 'js' }, true],
    // Two JetStream accounts' streams of the same name are two queues.
    ['NatsQueueStuck', jsQueue, 'NatsQueueConsumerStalled', jsQueue, true],
    ['NatsQueueStuck', jsQueue, 'NatsQueueConsumerStalled', { ...jsQueue, account: 'other' }, false],
  ];

  test('one incident gives one page: each source mutes its consequences, and only for its own server or queue', async () => {
    const url = `--alertmanager.url=${alertmanager.url}`;
    const labels = (name: string, l: Record<string, string>): string[] => [
      `alertname=${name}`,
      ...Object.entries(l)
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `${k}=${v}`),
    ];
    const add = (name: string, l: Record<string, string>, ...extra: string[]): void => {
      const res = run('amtool', ['alert', 'add', url, ...extra, ...labels(name, l)]);
      assert.equal(res.status, 0, res.output);
    };
    const inhibitedNow = (): Map<string, boolean> => {
      const res = run('amtool', ['alert', 'query', url, '--active', '--inhibited', '-o', 'json']);
      assert.equal(res.status, 0, res.output);
      const alerts = JSON.parse(res.output) as Array<{ labels: Record<string, string>; status: { inhibitedBy: string[] | null } }>;
      return new Map(alerts.map((a) => [a.labels['alertname']!, (a.status.inhibitedBy ?? []).length > 0]));
    };
    for (const [source, sourceLabels, target, targetLabels, inhibited] of CASES) {
      add(source, sourceLabels);
      add(target, targetLabels);
      // Alertmanager applies a new source alert's inhibitions a moment after it is received:
      // wait for it where one is expected, and as long where none is.
      let state = inhibitedNow();
      for (const deadline = Date.now() + (inhibited ? 10_000 : 500); state.get(target) !== true && Date.now() < deadline; state = inhibitedNow()) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const what = `${source} ${JSON.stringify(sourceLabels)} ${inhibited ? 'must' : 'must not'} inhibit ${target} ${JSON.stringify(targetLabels)}`;
      assert.equal(state.get(source), false, `${what}: the source itself is inhibited`);
      assert.equal(state.get(target), inhibited, what);
      // Resolved (ended a minute ago), so that the next case starts from no alerts.
      const ended = new Date(Date.now() - 60_000).toISOString();
      add(source, sourceLabels, `--end=${ended}`);
      add(target, targetLabels, `--end=${ended}`);
      assert.deepEqual([...inhibitedNow().keys()], [], `${what}: the alerts did not resolve`);
    }
  });
});
