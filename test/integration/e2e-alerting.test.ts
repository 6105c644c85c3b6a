import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, startTestExporter } from '../../harness/exporter.js';
import { freePort } from '../../harness/ports.js';
import { type RunningTool, instantQuery, startAlertmanager, startPrometheus } from '../../harness/prometheus.js';
import { RULES_FILE, type Rule, headingAnchors, loadDashboards, loadRules, readRepoFile, runbookTarget } from '../../harness/repo-files.js';
import { type Message, type Stan, closeStan, connectStan, publish, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { addConsumer, addStream, connectJs, fetchWithoutAck, type JsClient, publish as publishJs } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';

/**
 * The rules run here exactly as committed, with time compressed 60 times: every `for` and `keep_firing_for`, every
 * range window and every offset of a minute becomes a second (Prometheus scrapes and evaluates every second).
 * Thresholds are the committed ones, except that those in seconds are durations too and are
 * compressed alike (oldest_undelivered_age_seconds: 600 s becomes 10 s); the scenario is built to cross them.
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

/** A recorded threshold in seconds, `vector(N)`, compressed like the durations. */
function compressThreshold(r: Rule): string {
  if (r.record !== 'nats_queue:alert_threshold' || !r.labels?.['threshold']?.endsWith('_seconds')) return r.expr;
  const m = /^vector\(([\d.]+)\)$/.exec(r.expr);
  if (!m) throw new Error(`threshold ${r.labels['threshold']}: "${r.expr}" is not vector(N): teach compressThreshold about it`);
  return `vector(${Number(m[1]) / COMPRESSION})`;
}

function compressRules(text: string): string {
  const groups = loadRules(text).map((g) => ({
    ...g,
    rules: g.rules.map((r: Rule) => ({
      ...r,
      expr: compressThreshold(r)
        .replace(/\[([^\]:]+)\]/g, (_, d: string) => `[${compressDuration(d)}]`)
        .replace(/\boffset (\w+)/g, (_, d: string) => `offset ${compressDuration(d)}`),
      ...(r.for ? { for: compressDuration(r.for) } : {}),
      ...(r.keep_firing_for ? { keep_firing_for: compressDuration(r.keep_firing_for) } : {}),
    })),
  }));
  return stringify({ groups });
}

interface Notification {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }>;
}

/**
 * Prometheus (the committed rules, compressed; the exporters found through a file_sd file that a
 * test may rewrite) sending to Alertmanager, which posts every notification to a webhook here.
 */
interface AlertingStack {
  prometheus: RunningTool;
  alertmanager: RunningTool;
  notifications: Notification[];
  /** Replaces the scrape targets (host:port) of the nats-queue-exporter job. */
  setTargets(targets: string[]): void;
  stop(): Promise<void>;
}

async function startAlertingStack(targets: string[], opts: { inhibit: boolean }): Promise<AlertingStack> {
  const notifications: Notification[] = [];
  const webhook: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      notifications.push(JSON.parse(body) as Notification);
      res.end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;
  const inhibit = opts.inhibit ? (parse(readRepoFile('alerts/alertmanager-inhibit-rules.yml')) as object) : {};
  const alertmanager = await startAlertmanager(
    stringify({
      route: {
        receiver: 'webhook',
        group_by: ['alertname', 'namespace', 'server', 'subject', 'group', 'durable'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [{ name: 'webhook', webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
      ...inhibit,
    }),
  );
  const sdFile = (list: string[]): string => JSON.stringify([{ targets: list }]);
  const prometheus = await startPrometheus(
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['rules.yml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${alertmanager.port}`] }] }] },
      scrape_configs: [{ job_name: 'nats-queue-exporter', file_sd_configs: [{ files: ['targets.json'], refresh_interval: '1s' }] }],
    }),
    { 'rules.yml': 'groups: []\n', 'targets.json': sdFile(targets) },
  );
  // The rules are loaded once the targets are scraped: Prometheus hands discovered targets to its
  // scrapers up to 5 s after it starts, which compressed is 5 minutes of absent(up).
  await eventually(async () => {
    const up = await instantQuery(prometheus, 'up{job="nats-queue-exporter"} == 1');
    assert.equal(up.result.length, targets.length, 'the exporters are not scraped yet');
  }, 30_000);
  const rules = compressRules(readRepoFile(RULES_FILE));
  writeFileSync(join(prometheus.dir, 'rules.yml'), rules);
  assert.equal((await fetch(`${prometheus.url}/-/reload`, { method: 'POST' })).status, 200);
  await eventually(async () => {
    const res = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: unknown[] } };
    assert.equal(res.data.groups.length, loadRules(rules).length, 'the rules are not loaded yet');
  }, 10_000);
  return {
    prometheus,
    alertmanager,
    notifications,
    setTargets: (list) => writeFileSync(join(prometheus.dir, 'targets.json'), sdFile(list)),
    async stop() {
      await prometheus.stop();
      await alertmanager.stop();
      await new Promise<void>((resolve) => webhook.close(() => resolve()));
    },
  };
}

/** The alerts Prometheus holds now (pending and firing), from its API. */
async function prometheusAlerts(prometheus: RunningTool): Promise<Array<{ labels: Record<string, string>; state: string; activeAt: string }>> {
  const res = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
    data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt: string }> };
  };
  return res.data.alerts;
}

const QUEUE = { server: 'main', subject: 'orders', group: 'workers' };
/**
 * A consumer that holds its in-flight window and acks nothing is all of these, hung handlers
 * included, and its oldest waiting message soon waits longer than the (compressed) 10 minutes.
 */
const EXPECTED_ALERTS = ['NatsQueueBacklogGrowing', 'NatsQueueConsumerStalled', 'NatsQueueHandlersHung', 'NatsQueueOldestMessageTooOld', 'NatsQueueStuck'];
/**
 * Panels with nothing to show in this scenario: client-side probe figures (no worker reports
 * them) and messages lost to the store limits (the server keeps them all).
 */
const EMPTY_IN_SCENARIO = new Set(['Client-side pending', 'Messages lost to store limits']);

describe('alert rules and dashboards with real Prometheus, Alertmanager, nats-streaming-server and nats-server', () => {
  let stan: StanServer;
  let nats: NatsServer;
  let js: JsClient | undefined;
  let exporter: RunningExporter;
  let stack: AlertingStack;
  let prometheus: RunningTool;
  let notifications: Notification[];
  const clients: Stan[] = [];

  before(async () => {
    [stan, nats] = await Promise.all([startStan({ clusterId: 'e2e' }), startNatsServer()]);
    // --detailed-metrics: the queue dashboard's member panels read the per-subscription families,
    // and every panel is checked for data below.
    exporter = await startTestExporter(['--server', `main=${stan.monitorUrl}`, '--jetstream', `js=${nats.monitorUrl}`, '--detailed-metrics']);
    stack = await startAlertingStack([new URL(exporter.url).host], { inhibit: false });
    ({ prometheus, notifications } = stack);
  });

  after(async () => {
    for (const c of clients) await closeStan(c).catch(() => undefined);
    await js?.close();
    await stack?.stop();
    await exporter?.close();
    await Promise.all([stan?.stop(), nats?.stop()]);
  });

  async function client(id: string): Promise<Stan> {
    const sc = await connectStan(stan.natsUrl, stan.clusterId, id);
    clients.push(sc);
    return sc;
  }

  test('Prometheus loads every rule and accepts every rule expression', async () => {
    const res = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string }> }> } };
    const loaded = res.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
    const committed = loadRules()
      .flatMap((g) => g.rules.map((r) => r.alert ?? r.record!))
      .sort();
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
      assert.deepEqual([...everNotified].sort(), EXPECTED_ALERTS, "only the scenario's alerts may fire");
    } finally {
      publishing = false;
      finished = true;
      await publishLoop;
    }
  });

  test('a stuck JetStream pull consumer (fetched, never acked, nothing more delivered) fires NatsQueueStuck and NatsQueueOldestMessageTooOld, which reach Alertmanager', async () => {
    js = await connectJs(nats.natsUrl);
    await addStream(js.jsm, { name: 'jobs', subjects: ['jobs'] });
    // Its worker fetched its whole ack window and hangs on it, still asking for more: the server
    // sends nothing until acks come, and the consumer's cursor stays where it is.
    await addConsumer(js.jsm, 'jobs', { durable_name: 'puller', max_ack_pending: 3, ack_wait: 600_000_000_000 });
    await publishJs(js.js, 'jobs', 10);
    assert.equal(await fetchWithoutAck(js.js, 'jobs', 'puller', 3), 3);
    const pulling = await (await js.js.consumers.get('jobs', 'puller')).fetch({ max_messages: 3, expires: 60_000 });
    try {
      const stuck = await eventually(async () => {
        const alert = firingAlerts(notifications).find((a) => a.labels['alertname'] === 'NatsQueueStuck' && a.labels['server'] === 'js');
        assert.ok(alert, 'NatsQueueStuck of the JetStream consumer has not reached Alertmanager');
        return alert;
      }, 40_000);
      assert.deepEqual({ ...stuck.labels }, { alertname: 'NatsQueueStuck', severity: 'critical', server: 'js', subject: 'jobs', durable: 'puller' });
      assert.match(stuck.annotations['description']!, /^On server js, subject jobs, durable "puller" has 7 messages waiting and its cursor has not moved/);
      // Its next message has waited longer than the (compressed) 10 minutes too: JetStream queues have ages.
      const old = await eventually(async () => {
        const alert = firingAlerts(notifications).find((a) => a.labels['alertname'] === 'NatsQueueOldestMessageTooOld' && a.labels['server'] === 'js');
        assert.ok(alert, 'NatsQueueOldestMessageTooOld of the JetStream consumer has not reached Alertmanager');
        return alert;
      }, 20_000);
      assert.match(old.annotations['description']!, /^On server js, subject jobs, durable "puller": its oldest undelivered message has waited [\d.]+s/);
      // A worker that still pulls is there: not an offline durable.
      const offline = (await prometheusAlerts(prometheus)).filter((a) => a.labels['alertname'] === 'NatsQueueDurableOffline');
      assert.deepEqual(offline, []);
      // The overview's backlog table shows it beside the NATS Streaming queues.
      const top = loadDashboards()
        .get('queues-overview.json')!
        .panels.find((p) => p.title === 'Top queue groups by backlog')!;
      const rows = await instantQuery(prometheus, interpolate(top.targets![0]!.expr, VARIABLES['queues-overview.json']!));
      assert.ok(
        rows.result.some((r) => r.metric['server'] === 'js' && r.metric['durable'] === 'puller'),
        JSON.stringify(rows.result.map((r) => r.metric)),
      );
    } finally {
      pulling.stop();
    }
  });
});

function firingAlerts(notifications: Notification[]): Notification['alerts'] {
  return notifications.flatMap((n) => n.alerts.filter((a) => a.status === 'firing'));
}

/** Values the dashboards' variables take in this scenario; "All" is `.*`. */
const VARIABLES: Record<string, Record<string, string>> = {
  'queues-overview.json': { job: '.*', namespace: '.*', server: '.*', account: '.*', subject: '.*', group: '.*', durable: '.*' },
  'queue-detail.json': {
    job: 'nats-queue-exporter',
    namespace: '.*',
    server: QUEUE.server,
    account: '.*',
    subject: QUEUE.subject,
    group: QUEUE.group,
    durable: '.*',
  },
};

function interpolate(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$__rate_interval/g, '5s').replace(/\$(\w+)/g, (whole, name: string) => values[name] ?? whole);
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

/** Alert names that reached the webhook in `status` (firing or resolved). */
function notified(notifications: Notification[], status: 'firing' | 'resolved'): Set<string> {
  return new Set(notifications.flatMap((n) => n.alerts.filter((a) => a.status === status).map((a) => a.labels['alertname']!)));
}

describe('messages evicted before delivery, then the exporter target gone: one page each, with the shipped inhibit rules', () => {
  let stan: StanServer;
  let exporter: RunningExporter;
  let stack: AlertingStack;

  before(async () => {
    // A store that keeps 10 messages a channel.
    stan = await startStan({ clusterId: 'lossy', args: ['-mm', '10'] });
    exporter = await startTestExporter(['--server', `lossy=${stan.monitorUrl}`]);
    stack = await startAlertingStack([new URL(exporter.url).host], { inhibit: true });
  });

  after(async () => {
    await stack?.stop();
    await exporter?.close();
    await stan?.stop();
  });

  test('an offline durable loses messages to -mm: NatsQueueMessagesLost pages, its offline and near-limit alerts stay muted', async () => {
    const auditor = await connectStan(stan.natsUrl, stan.clusterId, 'auditor');
    await ready(auditor.subscribe('audit', auditor.subscriptionOptions().setDurableName('nightly').setDeliverAllAvailable()));
    await closeStan(auditor);
    const publisher = await connectStan(stan.natsUrl, stan.clusterId, 'publisher');
    try {
      await publishMany(publisher, 'audit', 30);
    } finally {
      await closeStan(publisher);
    }
    const lost = await eventually(async () => {
      const alert = stack.notifications.flatMap((n) => n.alerts).find((a) => a.status === 'firing' && a.labels['alertname'] === 'NatsQueueMessagesLost');
      assert.ok(alert, 'NatsQueueMessagesLost has not reached Alertmanager');
      return alert;
    }, 30_000);
    assert.deepEqual({ ...lost.labels }, { alertname: 'NatsQueueMessagesLost', severity: 'critical', server: 'lossy', subject: 'audit', durable: 'nightly' });
    // 30 published, 10 kept: sequences 1 to 20 are gone before the durable got any of them.
    assert.match(lost.annotations['description']!, /durable "nightly" has lost 20 messages/);
    // The offline durable and the full channel fire in Prometheus (15 compressed minutes)...
    await eventually(async () => {
      const firing = (await prometheusAlerts(stack.prometheus)).filter((a) => a.state === 'firing').map((a) => a.labels['alertname']);
      assert.ok(firing.includes('NatsQueueDurableOffline') && firing.includes('NatsStreamingChannelNearMessageLimit'), firing.join(', '));
    }, 40_000);
    await new Promise((r) => setTimeout(r, 3_000));
    // ...and Alertmanager keeps them to the one page.
    assert.deepEqual([...notified(stack.notifications, 'firing')], ['NatsQueueMessagesLost']);
  });

  test('the exporter drops out of discovery: NatsQueueExporterDown (absent) pages, the vanished server stays muted', async () => {
    stack.setTargets([]);
    const down = await eventually(async () => {
      const alert = stack.notifications.flatMap((n) => n.alerts).find((a) => a.status === 'firing' && a.labels['alertname'] === 'NatsQueueExporterDown');
      assert.ok(alert, 'NatsQueueExporterDown has not reached Alertmanager');
      return alert;
    }, 30_000);
    assert.deepEqual({ ...down.labels }, { alertname: 'NatsQueueExporterDown', severity: 'warning' });
    assert.match(down.annotations['description']!, /No target of a nats-queue-exporter job has been scraped for 5 minutes/);
    await eventually(async () => {
      const firing = (await prometheusAlerts(stack.prometheus)).filter((a) => a.state === 'firing').map((a) => a.labels['alertname']);
      assert.ok(firing.includes('NatsStreamingServerVanished'), firing.join(', '));
    }, 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual([...notified(stack.notifications, 'firing')].sort(), ['NatsQueueExporterDown', 'NatsQueueMessagesLost']);
  });
});

describe('an FT pair as one server: NatsQueueStuck firing before kill -9 of the active is the same single alert after the takeover', () => {
  let dir: string;
  let active: StanServer;
  let standby: StanServer;
  let exporter: RunningExporter;
  let stack: AlertingStack;
  let worker: Stan;
  let publisher: Stan;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-e2e-ft-'));
    const [routeA, routeB] = [await freePort(), await freePort()];
    const ft = (own: number, peer: number): string[] => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`];
    active = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeA, routeB), waitForStates: ['FT_ACTIVE'] });
    standby = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeB, routeA), waitForStates: ['FT_STANDBY'] });
    // Clients go through the standby's NATS port, so that they outlive the active server.
    worker = await eventually(() => connectStan(standby.natsUrl, 'ftc', 'ft-worker'), 20_000);
    publisher = await connectStan(standby.natsUrl, 'ftc', 'ft-publisher');
    exporter = await startTestExporter(['--server', `ft/a=${active.monitorUrl}`, '--server', `ft/b=${standby.monitorUrl}`]);
    stack = await startAlertingStack([new URL(exporter.url).host], { inhibit: true });
  });

  after(async () => {
    for (const c of [worker, publisher]) if (c) await closeStan(c).catch(() => undefined);
    await stack?.stop();
    await exporter?.close();
    await Promise.all([active?.stop(), standby?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('stuck before, kill -9, takeover: no resolve, no second alert, one queue series', async () => {
    const labels = { server: 'ft', subject: 'ft.orders', group: 'workers', durable: 'd' };
    // A member that takes two messages and never acks them, while publishing goes on.
    const sub = worker.subscribe(
      labels.subject,
      labels.group,
      worker.subscriptionOptions().setDurableName(labels.durable).setManualAckMode(true).setMaxInFlight(2).setAckWait(600_000).setDeliverAllAvailable(),
    );
    sub.on('message', () => undefined);
    await ready(sub);
    let publishing = true;
    const publishLoop = (async () => {
      for (let i = 0; publishing; i++) {
        await publish(publisher, labels.subject, `order ${i}`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const stuck = async (): Promise<Array<{ labels: Record<string, string>; state: string; activeAt: string }>> =>
      (await prometheusAlerts(stack.prometheus)).filter((a) => a.labels['alertname'] === 'NatsQueueStuck');
    try {
      await eventually(
        async () => assert.ok(notified(stack.notifications, 'firing').has('NatsQueueStuck'), 'NatsQueueStuck has not reached Alertmanager'),
        60_000,
      );
      const [before] = await stuck();
      assert.equal(before?.state, 'firing');
      assert.deepEqual({ ...before!.labels }, { alertname: 'NatsQueueStuck', severity: 'critical', ...labels });

      await active.kill();
      await eventually(async () => {
        const r = await instantQuery(stack.prometheus, 'stan_server_info{server="ft", node="b", state="FT_ACTIVE"} and on (server) queue_server_owner_up == 1');
        assert.equal(r.result.length, 1, 'the standby has not taken over yet');
      }, 30_000);
      const takenOver = Date.now() / 1000;
      // Long past the takeover: more than the bridge (3 compressed minutes) and the for (5).
      await new Promise((r) => setTimeout(r, 8_000));

      const after = await stuck();
      assert.equal(after.length, 1, `one NatsQueueStuck, not ${after.length}`);
      assert.equal(after[0]!.state, 'firing');
      assert.equal(after[0]!.activeAt, before!.activeAt, 'the alert kept its start: it never resolved and fired again');
      assert.deepEqual([...notified(stack.notifications, 'resolved')], [], 'nothing resolved across the takeover');
      const starts = new Set(
        stack.notifications
          .flatMap((n) => n.alerts)
          .filter((a) => a.labels['alertname'] === 'NatsQueueStuck')
          .map((a) => `${JSON.stringify(a.labels)} ${a.startsAt}`),
      );
      assert.equal(starts.size, 1, `Alertmanager saw one NatsQueueStuck alert: ${[...starts].join('; ')}`);
      // One line on the dashboards: the same series before and after, nothing keyed by a node.
      const range = (await (
        await fetch(
          `${stack.prometheus.url}/api/v1/query_range?${new URLSearchParams({ query: 'queue_msgs_pending{subject="ft.orders"}', start: String(takenOver - 30), end: String(takenOver + 8), step: '1' })}`,
        )
      ).json()) as { data: { result: Array<{ metric: Record<string, string> }> } };
      assert.equal(range.data.result.length, 1, JSON.stringify(range.data.result.map((r) => r.metric)));
    } finally {
      publishing = false;
      await publishLoop;
    }
  });
});
