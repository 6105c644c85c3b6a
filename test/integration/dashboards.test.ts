import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMPLETION_RATE } from '../../mixin/alerts/scaling.js';
import { renderDashboards } from '../../mixin/dashboards/generate.js';
import { completionRate, timeToDrain } from '../../mixin/dashboards/queries.js';
import { type RunningTool, startPrometheus } from '../../harness/prometheus.js';
import { type Dashboard, type Panel, RULES_FILE, loadDashboards, loadRules, readRepoFile } from '../../harness/repo-files.js';
import { requireTool } from '../../harness/tools.js';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Series that may be rated: sequences (they grow by one per message) and counters. */
const RATEABLE = /^(stan_channel_last_sequence|jetstream_stream_last_sequence|queue_last_sent_sequence|stan_subscription_last_sent_sequence|\w+_total)$/;

/** Labels a line must not be keyed by: they change when an FT standby takes over or a Raft leader changes. */
const NODE_LABELS = ['node', 'instance', 'state', 'role', 'cluster_id', 'server_id'];

/** Panel ids as released: links and saved views use them, so they never change. */
const PANEL_IDS: Record<string, Record<string, number>> = {
  'queues-overview.json': {
    Servers: 1,
    'Servers up': 2,
    'Queue owner': 3,
    Nodes: 4,
    Queues: 5,
    'Top queue groups by backlog': 6,
    'Undelivered versus unacked': 7,
    'Publish rate versus delivery rate': 8,
    'Stalled members': 9,
    'Offline durables': 10,
    'Messages lost to store limits': 11,
    'Store usage against limits': 12,
    'Client-side pending': 13,
    'Oldest waiting messages': 14,
  },
  'queue-detail.json': {
    Pending: 1,
    'Members online': 2,
    'Stalled members': 3,
    'Messages lost': 4,
    'Time to drain': 5,
    'Oldest waiting message': 12,
    'Age known': 13,
    'Pending, undelivered and unacked': 6,
    'Publish rate versus delivery rate': 7,
    'Members and in-flight capacity': 8,
    'Unacked per member': 9,
    Members: 10,
    'Client-side pending': 11,
  },
};

type FullPanel = Panel & {
  id?: number;
  targets?: Array<{ expr: string; refId: string; instant?: boolean; range?: boolean; datasource?: { type: string; uid: string } }>;
  fieldConfig?: {
    defaults?: {
      unit?: string;
      noValue?: string;
      mappings?: Array<{ type: string; options: Record<string, { text?: string; color?: string; result?: { text: string; color: string } }> }>;
      thresholds?: { steps: Array<{ value: number | null; color: string }> };
    };
  };
};

function panels(d: Dashboard): FullPanel[] {
  return d.panels as FullPanel[];
}

function exprs(d: Dashboard): string[] {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** The default of a recorded threshold in the rules file. */
function ruleThreshold(name: string): number {
  const rule = loadRules()
    .flatMap((g) => g.rules)
    .find((r) => r.record === 'nats_queue:alert_threshold' && r.labels?.['threshold'] === name && !r.labels['subject']);
  const m = /^vector\(([\d.]+)\)$/.exec(rule?.expr ?? '');
  assert.ok(m, `${RULES_FILE}: no default for threshold ${name}`);
  return Number(m[1]);
}

describe('Grafana dashboards', () => {
  const dashboards = loadDashboards();

  test('grafana/ holds what the generator writes (npm run generate)', () => {
    const generated = renderDashboards();
    assert.deepEqual([...generated.keys()].map((p) => p.replace('grafana/', '')).sort(), [...dashboards.keys()].sort());
    for (const [path, text] of generated) assert.equal(readRepoFile(path), text, `${path} is out of date: run npm run generate`);
  });

  test("variables: datasource, job (All = the rules' job matcher), namespace, server, account, subject, group and durable", () => {
    const jobMatcher = /job=~"([^"]+)"/.exec(loadRules()[0]!.rules.find((r) => r.alert === 'NatsQueueExporterDown')!.expr)![1];
    for (const [file, d] of dashboards) {
      const vars = new Map(d.templating.list.map((v) => [v.name, v]));
      assert.deepEqual([...vars.keys()], ['datasource', 'job', 'namespace', 'server', 'account', 'subject', 'group', 'durable'], file);
      assert.equal(vars.get('datasource')?.type, 'datasource', file);
      assert.equal(vars.get('datasource')?.query, 'prometheus', file);
      assert.equal(vars.get('job')!.allValue, jobMatcher, `${file}: "All" jobs must be the jobs the alerts watch`);
      for (const name of ['job', 'namespace', 'server', 'account', 'subject', 'group', 'durable']) {
        const v = vars.get(name);
        assert.equal(v?.type, 'query', `${file}: variable ${name}`);
        assert.match(String(v!.query), new RegExp(`^label_values\\(.*, ${name}\\)$`), `${file}: variable ${name}`);
        assert.deepEqual(v!.datasource, DATASOURCE, `${file}: variable ${name} uses the datasource variable`);
        if (name !== 'job') assert.equal(v!.allValue, '.*', `${file}: "All" must match the empty group and durable too`);
      }
      // Logical servers of both backends: the node gauges' server label is the configured NAME, one for all nodes of a pair or cluster.
      assert.equal(String(vars.get('server')!.query), 'label_values({__name__=~"stan_up|jetstream_up", job=~"$job", namespace=~"$namespace"}, server)', file);
      // Jobs and namespaces of exporters that read only JetStream servers are offered too.
      assert.match(String(vars.get('job')!.query), /^label_values\(\{__name__=~"stan_up\|jetstream_up", job=~/, file);
      assert.match(String(vars.get('namespace')!.query), /^label_values\(\{__name__=~"stan_up\|jetstream_up", job=~"\$job"\}, namespace\)$/, file);
    }
  });

  test('every panel has its stable id, uses the datasource variable, answers a stated question, and has room', () => {
    for (const [file, d] of dashboards) {
      const titles = new Set<string>();
      const cells = new Set<string>();
      assert.deepEqual(Object.fromEntries(panels(d).map((p) => [p.title, p.id])), PANEL_IDS[file], `${file}: panel ids changed`);
      for (const p of d.panels) {
        assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: "${p.title}" is wider than the grid`);
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${file}: "${p.title}" overlaps another panel`);
            cells.add(`${x},${y}`);
          }
        }
        if (p.type === 'row') continue;
        assert.ok(!titles.has(p.title), `${file}: two panels are called "${p.title}"`);
        titles.add(p.title);
        assert.ok(p.description && p.description.length > 20, `${file}: "${p.title}" needs a description of what it answers`);
        assert.deepEqual(p.datasource, DATASOURCE, `${file}: "${p.title}"`);
        assert.ok((p.targets ?? []).length > 0, `${file}: "${p.title}" has no query`);
        for (const t of p.targets!) assert.deepEqual(t.datasource, DATASOURCE, `${file}: "${p.title}" query ${t.refId}`);
      }
    }
  });

  test('stats and tables read the value now (instant queries) and stats show a red "no data" when there is none', () => {
    for (const [file, d] of dashboards) {
      for (const p of panels(d).filter((p) => p.type === 'stat' || p.type === 'table')) {
        for (const t of p.targets!) assert.ok(t.instant === true && t.range !== true, `${file}: "${p.title}" query ${t.refId} must be instant`);
        if (p.type !== 'stat') continue;
        const defaults = p.fieldConfig?.defaults ?? {};
        assert.ok(defaults.noValue, `${file}: "${p.title}" needs a noValue text`);
        const special = defaults.mappings?.find((m) => m.type === 'special');
        assert.equal(special?.options['result']?.color, 'red', `${file}: "${p.title}": null and NaN must show red`);
      }
    }
  });

  test('units: none for counts and sequences in tables, yes/no or UP/DOWN for flags', () => {
    for (const [file, d] of dashboards) {
      for (const p of panels(d).filter((p) => p.type === 'table'))
        assert.equal(p.fieldConfig?.defaults?.unit, 'none', `${file}: "${p.title}" shows sequences: unit none, not 1.99 K`);
    }
    const json = JSON.stringify([...dashboards.values()]);
    for (const flag of ['stan_subscription_stalled', 'stan_up']) assert.ok(json.includes(flag), flag);
    const members = panels(dashboards.get('queue-detail.json')!).find((p) => p.title === 'Members')! as unknown as {
      fieldConfig: {
        overrides: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: Array<{ options: Record<string, { text: string }> }> }> }>;
      };
    };
    const stalled = members.fieldConfig.overrides.find((o) => o.matcher.options === 'stalled');
    assert.deepEqual(stalled?.properties[0]?.value[0]?.options['1']?.text, 'yes');
  });

  test("thresholds drawn are the alerts' thresholds", () => {
    const overview = panels(dashboards.get('queues-overview.json')!);
    const steps = (p: FullPanel | undefined): number[] =>
      (p?.fieldConfig?.defaults?.thresholds?.steps ?? []).flatMap((s) => (s.value === null ? [] : [s.value]));
    assert.deepEqual(steps(overview.find((p) => p.title === 'Store usage against limits')), [ruleThreshold('store_usage_ratio')]);
    assert.deepEqual(steps(overview.find((p) => p.title === 'Client-side pending')), [ruleThreshold('client_pending_messages')]);
    assert.deepEqual(steps(overview.find((p) => p.title === 'Oldest waiting messages')), [ruleThreshold('oldest_undelivered_age_seconds')]);
    const detail = panels(dashboards.get('queue-detail.json')!);
    assert.deepEqual(
      steps(detail.find((p) => p.title === 'Pending')),
      [ruleThreshold('backlog_growing_messages') + 1],
      'Pending turns orange above backlog_growing_messages, where the alert compares with >',
    );
    assert.deepEqual(steps(detail.find((p) => p.title === 'Oldest waiting message')), [ruleThreshold('oldest_undelivered_age_seconds')]);
  });

  test('the dashboards link each other, keeping variables and time range', () => {
    for (const [file, d] of dashboards) {
      const links = (d as unknown as { links: Array<{ type: string; tags: string[]; includeVars: boolean; keepTime: boolean }> }).links;
      assert.ok(
        links.some((l) => l.type === 'dashboards' && l.tags.includes('nats-queue-exporter') && l.includeVars && l.keepTime),
        file,
      );
      assert.ok((d as unknown as { tags: string[] }).tags.includes('nats-queue-exporter'), file);
    }
  });

  test("time series span the gap an FT takeover leaves (the alerts' bridge), not longer ones", () => {
    const bridge = /last_over_time\(\w+\{[^}]*\}\[(\d+)m\]\)/.exec(loadRules()[0]!.rules.find((r) => r.alert === 'NatsQueueStuck')!.expr)?.[1];
    assert.ok(bridge, 'NatsQueueStuck reads last_over_time(...[Nm])');
    for (const [file, d] of dashboards) {
      for (const p of panels(d).filter((p) => p.type === 'timeseries')) {
        const custom = (p.fieldConfig?.defaults as { custom?: { spanNulls?: number } } | undefined)?.custom;
        assert.equal(custom?.spanNulls, Number(bridge) * 60_000, `${file}: "${p.title}"`);
      }
    }
  });

  test('every query selects by job and the identity labels, and no line is keyed by a node', () => {
    for (const [file, d] of dashboards) {
      for (const p of panels(d).filter((p) => p.targets)) {
        for (const t of p.targets!) {
          for (const m of t.expr.matchAll(/\b(queue_\w+|stan_\w+)\{([^}]*)\}/g)) {
            assert.match(m[2]!, /^job=~"\$job", namespace=~"\$namespace", server=~"\$server"/, `${file}: "${p.title}": ${m[0]}`);
            // Channel and queue series: two JetStream accounts' streams of one name stay apart.
            if (/subject=~/.test(m[2]!)) assert.match(m[2]!, /server=~"\$server", account=~"\$account", subject=~/, `${file}: "${p.title}": ${m[0]}`);
          }
          if (p.title === 'Nodes') continue;
          for (const m of t.expr.matchAll(/by \(([^)]*)\)/g)) {
            const by = m[1]!.split(', ');
            if (by.includes('subject'))
              assert.ok(by.includes('account'), `${file}: "${p.title}" by (${m[1]}) merges two JetStream accounts' streams of one name`);
            for (const label of NODE_LABELS)
              assert.ok(!m[1]!.split(', ').includes(label), `${file}: "${p.title}" keeps ${label}: a failover would draw a second line`);
          }
        }
      }
    }
  });

  test('rate() is only taken of sequences and counters', () => {
    for (const [file, d] of dashboards) {
      for (const expr of exprs(d)) {
        for (const m of expr.matchAll(/\b(rate|irate|increase)\(\s*([a-zA-Z_:][\w:]*)/g)) {
          assert.match(m[2]!, RATEABLE, `${file}: ${m[1]}() of ${m[2]}, which is not a sequence or counter`);
        }
      }
    }
  });

  test('server-side series are reduced with max by before anything sums them', () => {
    for (const [file, d] of dashboards) {
      for (const expr of exprs(d)) {
        for (const m of expr.matchAll(/\b(queue_(?!client_)\w+|stan_\w+)\{/g)) {
          const before = expr.slice(0, m.index);
          assert.match(before, /max by \([^)]*\) \((\w+\()?$/, `${file}: ${m[1]} must sit directly inside max by (...) in ${expr}`);
        }
        for (const m of expr.matchAll(/\b(queue_client_\w+)\{/g)) {
          assert.match(expr.slice(0, m.index), /sum by \([^)]*\) \($/, `${file}: ${m[1]} is per pod: sum it`);
        }
      }
    }
  });

  test('time to drain and completion rate per queue, as the scaling recording rules define them', () => {
    const detail = panels(dashboards.get('queue-detail.json')!);
    const exprOf = (title: string, refId: string): string => detail.find((p) => p.title === title)!.targets!.find((t) => t.refId === refId)!.expr;
    assert.equal(exprOf('Time to drain', 'A'), timeToDrain());
    assert.equal(exprOf('Publish rate versus delivery rate', 'C'), completionRate());
    const overview = panels(dashboards.get('queues-overview.json')!).find((p) => p.title === 'Top queue groups by backlog')!;
    assert.match(overview.targets![1]!.expr, new RegExp(`^${timeToDrain().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\nand on`));
    // The rules' completion rate: what arrived less the backlog's slope, never negative.
    const rule = loadRules()
      .flatMap((g) => g.rules)
      .find((r) => r.record === COMPLETION_RATE)!;
    for (const shape of [/^clamp_min\(/, /- on \(namespace, server, account, subject, group, durable\)\n/, /deriv\(queue_msgs_pending\{/]) {
      assert.match(rule.expr, shape);
      assert.match(completionRate(), shape);
    }
  });

  test('the overview and the queue dashboard show what docs/dashboards-and-alerts.md promises', () => {
    const overview = exprs(dashboards.get('queues-overview.json')!).join('\n');
    for (const needle of [
      'stan_up',
      'jetstream_up',
      'queue_server_owner_up',
      'stan_server_info',
      'topk(10, max by (namespace, server, account, subject, group, durable) (queue_msgs_pending',
      'queue_msgs_undelivered',
      'queue_msgs_unacked',
      'rate(stan_channel_last_sequence',
      'rate(jetstream_stream_last_sequence',
      'rate(queue_last_sent_sequence',
      'queue_oldest_undelivered_age_seconds',
      'queue_consumers_stalled',
      'queue_offline',
      'queue_msgs_evicted',
      'stan_store_limit_messages',
      'stan_store_limit_bytes',
      'queue_client_msgs_pending',
    ]) {
      assert.ok(overview.includes(needle), `queues overview: nothing shows ${needle}`);
    }
    const detail = exprs(dashboards.get('queue-detail.json')!).join('\n');
    for (const needle of [
      'queue_msgs_pending',
      'queue_consumers',
      'queue_msgs_evicted',
      'stan_subscription_unacked_messages',
      'deriv(queue_msgs_pending',
      'rate(jetstream_stream_last_sequence',
      'queue_oldest_undelivered_age_seconds',
      'queue_oldest_undelivered_age_lower_bound',
    ]) {
      assert.ok(detail.includes(needle), `queue dashboard: nothing shows ${needle}`);
    }
    const page = readRepoFile('docs/dashboards-and-alerts.md');
    const section = page.slice(page.indexOf('\n## Dashboards\n'), page.indexOf('\n## ', page.indexOf('\n## Dashboards\n') + 1));
    for (const [file, d] of dashboards) {
      for (const p of d.panels.filter((p) => p.type !== 'row'))
        assert.ok(section.includes(`**${p.title}**`), `docs/dashboards-and-alerts.md's Dashboards section does not explain "${p.title}" (${file})`);
    }
  });
});

/**
 * 10,000 channels, each with one queue group, as the exporter would export them (its metric names
 * and labels; this is Prometheus data, not a NATS shape), five samples a minute apart. The
 * busiest channels change every minute, so that a plain topk() over the range would draw many
 * more lines than it keeps at any one step.
 */
const CHANNELS = 10_000;
const SAMPLES = 5;

/**
 * A JetStream server beside it: 1,000 streams of account "tenant", each with one pull consumer,
 * published to and delivered faster than the NATS Streaming channels, so both backends compete
 * for the top 10. Written into the families of the same names (OpenMetrics keeps a family together).
 */
const JS_BASE = 'job="nats-queue-exporter",instance="10.0.0.1:7778",server="js"';
const JETSTREAM_FAMILIES = new Set(['queue_msgs_pending', 'queue_last_sent_sequence', 'queue_msgs_undelivered']);

async function writeJetStream(
  write: (s: string) => Promise<void>,
  name: string,
  queue: boolean,
  start: number,
  busy: (i: number, k: number) => number,
): Promise<void> {
  if (!queue) await write(`# TYPE ${name} gauge\n`);
  for (let i = 0; i < 1_000; i++) {
    let lines = '';
    for (let k = 0; k < SAMPLES; k++)
      lines += `${name}{${JS_BASE},account="tenant",subject="S${i}"${queue ? ',group="",durable="puller"' : ''}} ${(busy(i * 10, k) + CHANNELS) * (k + 1)} ${start + k * 60}\n`;
    await write(lines);
  }
}

async function writeOpenMetrics(path: string, start: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (s: string): Promise<void> => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once('drain', () => r())));
  const base = 'job="nats-queue-exporter",instance="10.0.0.1:7778",server="big"';
  // How busy channel i is at sample k: a different tenth of the channels leads at every sample.
  const busy = (i: number, k: number): number => (i + k * 1_237) % CHANNELS;
  const families: Array<[string, Array<[string, (k: number) => number]>]> = [
    [
      'stan_up',
      [
        ['node="a:8222"', () => 1],
        ['node="b:8222"', () => 1],
      ],
    ],
    ['queue_server_owner_up', [['', () => 1]]],
    [
      'stan_server_info',
      [
        ['node="a:8222",cluster_id="big",server_id="A",version="0.25.6",state="FT_ACTIVE",role=""', () => 1],
        ['node="b:8222",cluster_id="",server_id="B",version="0.25.6",state="FT_STANDBY",role=""', () => 1],
      ],
    ],
    ['stan_store_limit_messages', [['node="a:8222"', () => 1_000_000]]],
    ['stan_store_limit_bytes', [['node="a:8222"', () => 1_000_000_000]]],
  ];
  for (const [name, series] of families) {
    await write(`# TYPE ${name} gauge\n`);
    for (const [labels, value] of series) {
      for (let k = 0; k < SAMPLES; k++) await write(`${name}{${[base, labels].filter(Boolean).join(',')}} ${value(k)} ${start + k * 60}\n`);
    }
  }
  const perChannel: Array<[string, boolean, (i: number, k: number) => number]> = [
    // Cumulative sequences: each sample adds the channel's busyness at that minute.
    ['stan_channel_last_sequence', false, (i, k) => Array.from({ length: k + 1 }, (_, j) => busy(i, j)).reduce((a, b) => a + b, 0)],
    ['queue_last_sent_sequence', true, (i, k) => Array.from({ length: k + 1 }, (_, j) => busy(i, j)).reduce((a, b) => a + b, 0)],
    ['stan_channel_messages', false, (i, k) => busy(i, k) * 100],
    ['stan_channel_bytes', false, (i, k) => busy(i, k) * 100_000],
    ['queue_msgs_pending', true, (i, k) => busy(i, k)],
    ['queue_msgs_undelivered', true, (i, k) => busy(i, k)],
    ['queue_msgs_unacked', true, () => 5],
    ['queue_consumers_stalled', true, (i, k) => (busy(i, k) >= CHANNELS - 2_000 ? Math.ceil(busy(i, k) / 5_000) : 0)],
    ['queue_offline', true, (i) => (i % 2 === 0 ? 1 : 0)],
    ['queue_msgs_evicted', true, (i, k) => (i % 3 === 0 ? busy(i, k) : 0)],
    ['queue_client_msgs_pending', true, (i, k) => busy(i, k)],
    ['queue_oldest_undelivered_age_seconds', true, (i, k) => busy(i, k) / 10],
  ];
  for (const [name, queue, value] of perChannel) {
    await write(`# TYPE ${name} gauge\n`);
    for (let i = 0; i < CHANNELS; i++) {
      const labels = `${base},subject="ch${i}"${queue ? ',group="workers",durable=""' : ''}`;
      let lines = '';
      for (let k = 0; k < SAMPLES; k++) lines += `${name}{${labels}} ${value(i, k)} ${start + k * 60}\n`;
      await write(lines);
    }
    if (JETSTREAM_FAMILIES.has(name)) await writeJetStream(write, name, queue, start, busy);
  }
  await writeJetStream(write, 'jetstream_stream_last_sequence', false, start, busy);
  await write('# TYPE jetstream_up gauge\n');
  for (let k = 0; k < SAMPLES; k++) await write(`jetstream_up{${JS_BASE},node="n1:8222"} 1 ${start + k * 60}\n`);
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

interface RangeResult {
  result: Array<{ metric: Record<string, string> }>;
}

/** A range query from `start` to `end` a minute a step, or (no start) an instant query at `end`. */
async function query(prometheus: RunningTool, expr: string, end: number, start?: number): Promise<RangeResult> {
  const params: Record<string, string> =
    start === undefined ? { query: expr, time: String(end) } : { query: expr, start: String(start), end: String(end), step: '60' };
  const res = await fetch(`${prometheus.url}/api/v1/${start === undefined ? 'query' : 'query_range'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  const body = (await res.json()) as { status: string; data?: RangeResult; error?: string };
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus refused ${JSON.stringify(expr)}: ${body.error}`);
  return body.data;
}

describe('the overview at 10,000 channels, against real Prometheus', () => {
  let dir: string;
  let prometheus: RunningTool;
  // Minute-aligned, an hour back: inside the default retention, before anything the head holds.
  const start = Math.floor(Date.now() / 60_000) * 60 - 3_600;
  const end = start + (SAMPLES - 1) * 60;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-tsdb-'));
    await writeOpenMetrics(join(dir, 'series.om'), start);
    const res = spawnSync(requireTool('promtool'), ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'series.om'), join(dir, 'data')], {
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, `${res.stdout}${res.stderr}`);
    rmSync(join(dir, 'series.om'));
    prometheus = await startPrometheus('global: {}\n', {}, join(dir, 'data'));
  });

  after(async () => {
    await prometheus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const interpolate = (expr: string): string =>
    expr
      .replace(/\$__rate_interval/g, '2m')
      .replace(/\$job\b/g, '.*nats-queue-exporter.*')
      .replace(/\$(\w+)/g, '.*');

  test('no panel draws more than 20 series (time series over the range, stats and tables now), and each draws some', async () => {
    const counts: string[] = [];
    for (const p of panels(loadDashboards().get('queues-overview.json')!).filter((p) => p.targets)) {
      const keys = new Set<string>();
      for (const t of p.targets!) {
        const { result } = await query(prometheus, interpolate(t.expr), end, t.instant ? undefined : start + 60);
        for (const r of result) keys.add(`${t.refId} ${JSON.stringify(r.metric)}`);
      }
      counts.push(`${p.title}: ${keys.size}`);
      assert.ok(keys.size > 0, `"${p.title}" draws nothing: its query does not reach the data`);
      assert.ok(keys.size <= 20, `"${p.title}" draws ${keys.size} series at ${CHANNELS} channels`);
    }
    process.stdout.write(`# series per overview panel at ${CHANNELS} channels: ${counts.join(', ')}\n`);
  });

  test('a plain topk() over the range would draw more: the data makes the limit mean something', async () => {
    const plain = `topk(10, max by (namespace, server, subject) (rate(stan_channel_last_sequence{job=~".*nats-queue-exporter.*"}[2m])))`;
    const { result } = await query(prometheus, plain, end, start + 60);
    assert.ok(result.length > 20, `a plain topk drew only ${result.length} lines`);
  });
});
