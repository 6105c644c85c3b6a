import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { ROOT, RULES_FILE, alertRules, headingAnchors, loadRules, readRepoFile, runbookTarget } from './helpers/repo-files.js';
import { requireTool } from './helpers/tools.js';

const TESTS_FILE = 'alerts/nats-queue-exporter.test.yml';

function promtool(...args: string[]): { status: number | null; output: string } {
  const res = spawnSync(requireTool('promtool'), args, { cwd: ROOT, encoding: 'utf8' });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts: unknown[];
}

describe('alert rules', () => {
  test('promtool check rules accepts the rules file', () => {
    const res = promtool('check', 'rules', RULES_FILE);
    assert.equal(res.status, 0, res.output);
  });

  test('promtool test rules passes', () => {
    const res = promtool('test', 'rules', TESTS_FILE);
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
      assert.ok(silent.some((s) => s < Math.min(...fires)), `${rule.alert}: no test expects it silent before it fires`);
    }
  });

  test('every alert has for, severity, a static summary, a templated description and a runbook section', () => {
    const anchors = headingAnchors(readRepoFile('docs/runbook.md'));
    const names = new Set<string>();
    for (const rule of alertRules()) {
      const name = rule.alert!;
      assert.ok(!names.has(name), `${name} is defined twice`);
      names.add(name);
      assert.match(name, /^Nats(Queue|Streaming)[A-Z]/, `${name}: alerts share the NatsQueue/NatsStreaming prefix`);
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${name}: needs a for`);
      assert.ok(['critical', 'warning'].includes(rule.labels?.['severity'] ?? ''), `${name}: severity must be critical (pages) or warning (tickets)`);
      const a = rule.annotations ?? {};
      assert.ok(a['summary'] && !a['summary'].includes('{{'), `${name}: summary must be static text`);
      assert.match(a['description'] ?? '', /\$value/, `${name}: description must give the value`);
      const identity = /by \(([^)]*)\)/.exec(rule.expr)?.[1]?.split(',').map((l) => l.trim()) ?? [];
      for (const label of identity) {
        assert.ok(a['description']!.includes(`$labels.${label}`), `${name}: description must name ${label}`);
      }
      const target = runbookTarget(a['runbook_url'] ?? '');
      assert.equal(target.file, 'docs/runbook.md');
      assert.equal(target.anchor, name.toLowerCase(), `${name}: runbook anchor`);
      assert.ok(anchors.has(target.anchor), `${name}: docs/runbook.md has no section "## ${name}"`);
    }
    const sections = [...readRepoFile('docs/runbook.md').matchAll(/^## (\S+)$/gm)].map((m) => m[1]!);
    assert.deepEqual(sections.sort(), [...names].sort(), 'docs/runbook.md has one section per alert, no more');
  });

  test('server-side series are de-duplicated with max by before they are compared or summed', () => {
    for (const rule of loadRules().flatMap((g) => g.rules)) {
      for (const m of rule.expr.matchAll(/\b(queue_(?!client_)\w+|stan_\w+)\b/g)) {
        const before = rule.expr.slice(0, m.index);
        assert.match(before, /(max|group)(_over_time)?(\s+by\s*\([^)]*\))?\s*\((\w+\()?\s*$/, `${rule.alert ?? rule.record}: ${m[1]} is not inside max by (...) or group by (...)`);
      }
    }
  });

  test('every threshold is used by an alert and every threshold an alert uses exists', () => {
    const rules = loadRules().flatMap((g) => g.rules);
    const defined = rules.filter((r) => r.record === 'nats_queue:alert_threshold').map((r) => r.labels?.['threshold']);
    const used = rules.flatMap((r) => [...r.expr.matchAll(/nats_queue:alert_threshold\{threshold="(\w+)"\}/g)].map((m) => m[1]));
    assert.deepEqual([...new Set(used)].sort(), [...defined].sort());
    const readme = readRepoFile('README.md');
    for (const t of defined) assert.ok(readme.includes(`\`${t}\``), `README's Alerts section must document threshold ${t}`);
  });

  test('the rules file is where the tests load it from', () => {
    const tests = parse(readRepoFile(TESTS_FILE)) as { rule_files: string[] };
    assert.deepEqual(tests.rule_files.map((f) => join('alerts', f)), [RULES_FILE]);
  });
});
