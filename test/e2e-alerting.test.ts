import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { RunningExporter } from '../src/exporter.js';
import { eventually, startTestExporter } from './helpers/exporter.js';
import { type RunningTool, instantQuery, startAlertmanager, startPrometheus } from './helpers/prometheus.js';
import { RULES_FILE, type Rule, headingAnchors, loadDashboards, loadRules, readRepoFile, runbookTarget } from './helpers/repo-files.js';
import { type Message, type Stan, closeStan, connectStan, publish, ready } from './helpers/stan-client.js';
import { type StanServer, startStan } from './helpers/stan-server.js';

/**
 * The rules run here exactly as committed, with time compressed 60 times: every `for`, every
 * range window and every offset of a minute becomes a second (Prometheus scrapes and evaluates every second).
 * Thresholds are the committed ones; the scenario is built to cross them.
 */
const COMPRESSION = 60;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

function compressDuration(text: string): string {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new Error(`duration "${text}" is not a single-unit PromQL duration: teach compressDuration about it`);
  const seconds = (Number(m[1]) * UNIT_SECONDS[m[2]!]!) / COMPRESSION;
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`duration "${text}" does not compress to whole seconds`);
  return `${seconds}s`;
}

function compressRules(text: string): string {
  const groups = loadRules(text).map((g) => ({
    ...g,
    rules: g.rules.map((r: Rule) => ({
      ...r,
      expr: r.expr
        .replace(/\[([^\]:]+)\]/g, (_, d: string) => `[${compressDuration(d)}]`)
        .replace(/\boffset (\w+)/g, (_, d: string) => `offset ${compressDuration(d)}`),
      ...(r.for ? { for: compressDuration(r.for) } : {}),
    })),
  }));
  return stringify({ groups });
}

interface Notification {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

const QUEUE = { server: 'main', subject: 'orders', group: 'workers' };
const EXPECTED_ALERTS = ['NatsQueueBacklogGrowing', 'NatsQueueConsumerStalled', 'NatsQueueStuck'];
/**
 * Panels with nothing to show in this scenario: client-side probe figures (no worker reports
 * them) and messages lost to the store limits (the server keeps them all).
 */
const EMPTY_IN_SCENARIO = new Set(['Client-side pending', 'Messages lost to store limits']);

describe('alert rules and dashboards with real Prometheus, Alertmanager and nats-streaming-server', () => {
  let stan: StanServer;
  let exporter: RunningExporter;
  let alertmanager: RunningTool;
  let prometheus: RunningTool;
  let webhook: Server;
  const notifications: Notification[] = [];
  const clients: Stan[] = [];

  before(async () => {
    stan = await startStan({ clusterId: 'e2e' });
    exporter = await startTestExporter(['--server', `main=${stan.monitorUrl}`]);
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;
    alertmanager = await startAlertmanager(stringify({
      route: { receiver: 'webhook', group_by: ['alertname', 'server', 'subject', 'group', 'durable'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'webhook', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
    }));
    prometheus = await startPrometheus(stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['rules.yml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanager.port}`] }] }] },
      scrape_configs: [{ job_name: 'nats-queue-exporter', static_configs: [{ targets: [new URL(exporter.url).host] }] }],
    }), { 'rules.yml': compressRules(readRepoFile(RULES_FILE)) });
  });

  after(async () => {
    for (const c of clients) await closeStan(c).catch(() => undefined);
    await prometheus?.stop();
    await alertmanager?.stop();
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    await exporter?.close();
    await stan?.stop();
  });

  async function client(id: string): Promise<Stan> {
    const sc = await connectStan(stan.natsUrl, stan.clusterId, id);
    clients.push(sc);
    return sc;
  }

  test('Prometheus loads every rule and accepts every rule expression', async () => {
    const res = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string }> }> } };
    const loaded = res.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
    const committed = loadRules().flatMap((g) => g.rules.map((r) => r.alert ?? r.record!)).sort();
    assert.deepEqual(loaded, committed);
    for (const rule of loadRules().flatMap((g) => g.rules)) await instantQuery(prometheus, rule.expr);
  });

  test('a queue group whose consumer stalls while publishing goes on: alerts fire, panels show it, alerts resolve', async () => {
    // A durable whose client left: the offline-durables panel has a row, and with no backlog no alert.
    const archiver = await connectStan(stan.natsUrl, stan.clusterId, 'archiver');
    const archive = archiver.subscribe('audit', archiver.subscriptionOptions().setDurableName('archive').setDeliverAllAvailable());
    await ready(archive);
    await closeStan(archiver);

    let mode: 'ack' | 'hold' | 'slow' = 'ack';
    const held: Message[] = [];
    // Acks scheduled before the test ends must not reach a connection the after() hook closed.
    let finished = false;
    const ackLater = (m: Message): void => {
      setTimeout(() => finished || m.ack(), 100);
    };
    const worker = await client('worker-1');
    const opts = worker.subscriptionOptions().setManualAckMode(true).setMaxInFlight(5).setAckWait(120_000).setDeliverAllAvailable();
    const sub = worker.subscribe(QUEUE.subject, QUEUE.group, opts);
    sub.on('message', (m: Message) => {
      if (mode === 'ack') m.ack();
      else if (mode === 'hold') held.push(m);
      else ackLater(m);
    });
    await ready(sub);

    const publisher = await client('publisher');
    let publishing = true;
    const publishLoop = (async () => {
      for (let i = 0; publishing; i++) {
        await publish(publisher, QUEUE.subject, `order ${i}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    try {
      // Healthy for a while, so that rates and windows have history.
      await eventually(async () => {
        const r = await instantQuery(prometheus, `queue_last_sent_sequence{subject="orders"} > 40`);
        assert.equal(r.result.length, 1);
      }, 20_000);

      mode = 'hold';
      const firing = await eventually(async () => {
        const names = new Set(firingAlerts(notifications).map((a) => a.labels['alertname']));
        assert.deepEqual([...names].sort(), EXPECTED_ALERTS);
        return firingAlerts(notifications);
      }, 60_000);
      const anchors = headingAnchors(readRepoFile('docs/runbook.md'));
      for (const alert of firing) {
        assert.equal(alert.labels['server'], QUEUE.server, JSON.stringify(alert.labels));
        assert.equal(alert.labels['subject'], QUEUE.subject);
        assert.equal(alert.labels['group'], QUEUE.group);
        const target = runbookTarget(alert.annotations['runbook_url']!);
        assert.equal(target.file, 'docs/runbook.md');
        assert.ok(anchors.has(target.anchor), `docs/runbook.md has no heading for #${target.anchor}`);
        assert.match(alert.annotations['description']!, /server main, subject orders, .*queue group "workers"/);
      }

      const stalledPhase = await queryPanels(prometheus);

      mode = 'slow';
      // Acked at 50 a second, not as fast as possible: the backlog shrinks over several scrapes,
      // so the time-to-drain panel has data to show.
      for (const m of held.splice(0)) ackLater(m);
      const drainingPhase = await eventually(async () => {
        const r = await queryPanels(prometheus);
        assert.ok(r.withData.has('queue-detail.json: Time to drain'), 'the backlog has not been seen draining yet');
        return r;
      }, 60_000);
      for (const [dashboard, panel] of stalledPhase.panels) {
        const key = `${dashboard}: ${panel}`;
        if (EMPTY_IN_SCENARIO.has(panel)) continue;
        assert.ok(stalledPhase.withData.has(key) || drainingPhase.withData.has(key), `panel "${key}" returned no data`);
      }

      await eventually(async () => {
        const resolved = new Set(notifications.filter((n) => n.status === 'resolved').flatMap((n) => n.alerts.map((a) => a.labels['alertname'])));
        assert.deepEqual([...resolved].sort(), EXPECTED_ALERTS);
      }, 60_000);
      const everNotified = new Set(notifications.flatMap((n) => n.alerts.map((a) => a.labels['alertname'])));
      assert.deepEqual([...everNotified].sort(), EXPECTED_ALERTS, 'only the scenario\'s alerts may fire');
    } finally {
      publishing = false;
      finished = true;
      await publishLoop;
    }
  });
});

function firingAlerts(notifications: Notification[]): Notification['alerts'] {
  return notifications.flatMap((n) => n.alerts.filter((a) => a.status === 'firing'));
}

/** Values the dashboards' variables take in this scenario; "All" is `.*`. */
const VARIABLES: Record<string, Record<string, string>> = {
  'queues-overview.json': { job: '.*', namespace: '.*', server: '.*', subject: '.*', group: '.*', durable: '.*' },
  'queue-detail.json': { job: 'nats-queue-exporter', namespace: '.*', server: QUEUE.server, subject: QUEUE.subject, group: QUEUE.group, durable: '.*' },
};

function interpolate(expr: string, values: Record<string, string>): string {
  return expr
    .replace(/\$__rate_interval/g, '5s')
    .replace(/\$(\w+)/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * Runs every panel query and variable of every dashboard against Prometheus: each must be
 * accepted; returns which panels returned data.
 */
async function queryPanels(prometheus: RunningTool): Promise<{ panels: Array<[string, string]>; withData: Set<string> }> {
  const panels: Array<[string, string]> = [];
  const withData = new Set<string>();
  for (const [file, dashboard] of loadDashboards()) {
    const values = VARIABLES[file];
    assert.ok(values, `no variable values for ${file}: add them to VARIABLES`);
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const m = /^label_values\((.+),\s*(\w+)\)$/s.exec(String(variable.query));
      assert.ok(m, `${file} variable ${variable.name}: ${String(variable.query)} is not label_values(selector, label)`);
      const params = new URLSearchParams({ 'match[]': interpolate(m[1]!, values) });
      const res = (await (await fetch(`${prometheus.url}/api/v1/label/${m[2]}/values?${params}`)).json()) as { status: string; data: string[] };
      assert.equal(res.status, 'success', `${file} variable ${variable.name}`);
      const expected = values[variable.name]!;
      if (expected !== '.*') assert.ok(res.data.includes(expected), `${file} variable ${variable.name} does not offer ${expected}: ${res.data.join(', ')}`);
    }
    for (const panel of dashboard.panels.filter((p) => p.targets)) {
      panels.push([file, panel.title]);
      for (const t of panel.targets!) {
        const r = await instantQuery(prometheus, interpolate(t.expr, values));
        if (r.result.length > 0) withData.add(`${file}: ${panel.title}`);
      }
    }
  }
  return { panels, withData };
}
