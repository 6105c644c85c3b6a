import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderDashboards } from '../scripts/grafana/generate.js';
import { type Dashboard, loadDashboards, readRepoFile } from './helpers/repo-files.js';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Series that may be rated: sequences (they grow by one per message) and counters. */
const RATEABLE = /^(stan_channel_last_sequence|queue_last_sent_sequence|stan_subscription_last_sent_sequence|\w+_total)$/;

function exprs(d: Dashboard): string[] {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

describe('Grafana dashboards', () => {
  const dashboards = loadDashboards();

  test('grafana/ holds what the generator writes (npm run generate)', () => {
    const generated = renderDashboards();
    assert.deepEqual([...generated.keys()].map((p) => p.replace('grafana/', '')).sort(), [...dashboards.keys()].sort());
    for (const [path, text] of generated) assert.equal(readRepoFile(path), text, `${path} is out of date: run npm run generate`);
  });

  test('a datasource variable and label_values() variables for server, subject and group', () => {
    for (const [file, d] of dashboards) {
      const vars = new Map(d.templating.list.map((v) => [v.name, v]));
      assert.equal(vars.get('datasource')?.type, 'datasource', file);
      assert.equal(vars.get('datasource')?.query, 'prometheus', file);
      for (const name of ['server', 'subject', 'group']) {
        const v = vars.get(name);
        assert.equal(v?.type, 'query', `${file}: variable ${name}`);
        assert.match(String(v!.query), new RegExp(`^label_values\\(.*, ${name}\\)$`), `${file}: variable ${name}`);
        assert.deepEqual(v!.datasource, DATASOURCE, `${file}: variable ${name} uses the datasource variable`);
        assert.equal(v!.allValue, '.*', `${file}: "All" must match the empty group too`);
      }
    }
  });

  test('every panel and query uses the datasource variable, answers a stated question, and has room', () => {
    for (const [file, d] of dashboards) {
      const titles = new Set<string>();
      const cells = new Set<string>();
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

  test('the overview and the queue dashboard show what the README promises', () => {
    const overview = exprs(dashboards.get('queues-overview.json')!).join('\n');
    for (const needle of ['stan_up', 'stan_server_info', 'topk(10, max by (server, subject, group, durable) (queue_msgs_pending', 'queue_msgs_undelivered', 'queue_msgs_unacked',
      'rate(stan_channel_last_sequence', 'rate(queue_last_sent_sequence', 'queue_consumers_stalled', 'queue_offline', 'stan_store_limit_messages', 'stan_store_limit_bytes', 'queue_client_msgs_pending']) {
      assert.ok(overview.includes(needle), `queues overview: nothing shows ${needle}`);
    }
    const detail = exprs(dashboards.get('queue-detail.json')!).join('\n');
    for (const needle of ['queue_msgs_pending', 'queue_consumers', 'stan_subscription_unacked_messages', 'deriv(queue_msgs_pending']) {
      assert.ok(detail.includes(needle), `queue dashboard: nothing shows ${needle}`);
    }
    const readme = readRepoFile('README.md');
    const section = readme.slice(readme.indexOf('## Dashboards'), readme.indexOf('\n## ', readme.indexOf('## Dashboards') + 1));
    for (const [file, d] of dashboards) {
      for (const p of d.panels.filter((p) => p.type !== 'row')) assert.ok(section.includes(`**${p.title}**`), `README's Dashboards section does not explain "${p.title}" (${file})`);
    }
  });
});
