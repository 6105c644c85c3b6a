import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSamples } from '../../harness/exporter.js';
import { loadDashboards, loadRules, readRepoFile } from '../../harness/repo-files.js';
import { DETAILED_FAMILIES, PER_OBJECT_FAMILIES } from '../../src/metrics/server-metrics.js';

/**
 * The series budget (docs/metrics.md#series-audit): /metrics serves by default only the
 * per-object families something of this project reads, at most 4 series per channel and 12 per
 * queue group or consumer; the others are detailed, on /metrics/detailed.
 */

const BUDGET = { channel: 4, queue: 12 };

/** The default series per object in the golden expositions (test/golden, checked against the exporter by golden-exposition.test.ts). */
const PER_OBJECT = {
  stan: { scenarios: ['stan-standalone', 'stan-ft', 'stan-raft'], channel: 3, queue: 11 },
  jetstream: { scenarios: ['jetstream-standalone', 'jetstream-cluster'], channel: 1, queue: 11 },
};

const CHANNEL_LABELS = new Set(['server', 'account', 'subject']);
const QUEUE_LABELS = new Set([...CHANNEL_LABELS, 'group', 'durable']);

/** Series per channel (stream) and per queue (consumer) in an exposition: their most and fewest, and how many objects. */
function seriesPerObject(text: string): Record<'channel' | 'queue', { objects: number; counts: Set<number> }> {
  const channels = new Map<string, number>();
  const queues = new Map<string, number>();
  for (const { labels } of parseSamples(text)) {
    const names = Object.keys(labels);
    if (!names.includes('subject')) continue;
    const key = JSON.stringify(Object.entries(labels).sort());
    if (names.every((l) => CHANNEL_LABELS.has(l))) channels.set(key, (channels.get(key) ?? 0) + 1);
    else if (names.includes('group') && names.every((l) => QUEUE_LABELS.has(l))) queues.set(key, (queues.get(key) ?? 0) + 1);
  }
  return {
    channel: { objects: channels.size, counts: new Set(channels.values()) },
    queue: { objects: queues.size, counts: new Set(queues.values()) },
  };
}

test('default /metrics: at most 4 series per channel and 12 per queue, for both backends', () => {
  for (const [backend, expected] of Object.entries(PER_OBJECT)) {
    assert.ok(expected.channel <= BUDGET.channel && expected.queue <= BUDGET.queue, `${backend}: the expected counts are within the budget`);
    for (const scenario of expected.scenarios) {
      const found = seriesPerObject(readRepoFile(`test/golden/${scenario}.txt`));
      assert.ok(found.channel.objects > 0 && found.queue.objects > 0, `${scenario} has channels and queues`);
      assert.deepEqual([...found.channel.counts], [expected.channel], `${scenario}: series per channel (docs/metrics.md#series-audit states the count)`);
      assert.deepEqual([...found.queue.counts], [expected.queue], `${scenario}: series per queue (docs/metrics.md#series-audit states the count)`);
    }
  }
});

test('/metrics has every default family and no detailed one; /metrics/detailed has only detailed ones', () => {
  const familiesOf = (file: string): Set<string> => new Set(parseSamples(readRepoFile(`test/golden/${file}`)).map((s) => s.name));
  const defaults = Object.values(PER_OBJECT_FAMILIES).flatMap((level) => level.default);
  const seen = new Set<string>();
  for (const scenario of [...PER_OBJECT.stan.scenarios, ...PER_OBJECT.jetstream.scenarios]) {
    const metrics = familiesOf(`${scenario}.txt`);
    const detailed = familiesOf(`${scenario}.detailed.txt`);
    for (const name of DETAILED_FAMILIES) assert.ok(!metrics.has(name), `${scenario}: /metrics has the detailed ${name}`);
    for (const name of detailed) assert.ok(DETAILED_FAMILIES.includes(name), `${scenario}: /metrics/detailed has ${name}, which is not detailed`);
    for (const name of [...metrics, ...detailed]) seen.add(name);
  }
  for (const name of [...defaults, ...DETAILED_FAMILIES]) assert.ok(seen.has(name), `no golden exposition shows ${name}`);
});

/** Each per-object family and what reads it: alerts and recording rules, dashboard panels, the status page. */
function users(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const names = Object.values(PER_OBJECT_FAMILIES).flatMap((level) => [...level.default, ...level.detailed]);
  const note = (text: string, user: string) => {
    for (const name of names) if (new RegExp(`\\b${name}\\b`).test(text)) found.set(name, [...(found.get(name) ?? []), user]);
  };
  for (const rule of loadRules().flatMap((g) => g.rules)) note(rule.expr, rule.alert ? `alert ${rule.alert}` : `recording rule ${rule.record}`);
  for (const [file, d] of loadDashboards()) {
    for (const p of d.panels)
      for (const t of p.targets ?? [])
        note(t.expr, `${file} panel "${p.title}"${p.description?.includes('--detailed-metrics') ? ' (says it needs --detailed-metrics)' : ''}`);
    for (const v of d.templating.list) note(JSON.stringify(v.query ?? ''), `${file} variable ${v.name}`);
  }
  note(readRepoFile('src/metrics/promql.ts'), 'the status page');
  return found;
}

test('the audit: every default per-object family has a user; a detailed one only in panels that say they need --detailed-metrics', () => {
  const found = users();
  for (const [level, tiers] of Object.entries(PER_OBJECT_FAMILIES)) {
    for (const name of tiers.default) assert.ok((found.get(name) ?? []).length > 0, `${name} (${level}) is default and nothing reads it: make it detailed`);
    for (const name of tiers.detailed) {
      for (const user of found.get(name) ?? [])
        assert.match(user, /panel .* \(says it needs --detailed-metrics\)$/, `${name} is detailed, so not on a default /metrics, and ${user} reads it`);
    }
  }
});

test('docs/metrics.md#series-audit lists every per-object family with its endpoint, and the counts', () => {
  const page = readRepoFile('docs/metrics.md');
  const start = page.indexOf('\n## Series audit\n');
  assert.ok(start >= 0, 'docs/metrics.md has a "## Series audit" section');
  const section = page.slice(start, page.indexOf('\n## ', start + 1));
  for (const [level, tiers] of Object.entries(PER_OBJECT_FAMILIES)) {
    for (const [tier, names] of Object.entries(tiers)) {
      for (const name of names) {
        const row = section.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
        assert.ok(row, `the audit has no row for ${name}`);
        assert.ok(row.includes(`| ${level} |`), `${name}: its row names its level, ${level}`);
        assert.ok(row.endsWith(`| ${tier} |`), `${name}: its row ends with its endpoint, ${tier}`);
      }
    }
  }
  for (const [backend, label] of [
    ['stan', 'NATS Streaming'],
    ['jetstream', 'JetStream'],
  ] as const) {
    const row = section.split('\n').find((line) => line.startsWith(`| ${label}, default |`));
    assert.ok(row, `the counts have a row "${label}, default"`);
    assert.ok(row.startsWith(`| ${label}, default | ${PER_OBJECT[backend].channel} | ${PER_OBJECT[backend].queue} |`), row);
  }
});
