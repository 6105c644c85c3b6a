import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabelValue, formatValue, labelText } from '../../src/metrics/exposition.js';
import { parseSamples, unescapeLabelValue } from '../../harness/exporter.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';

test('label values escape backslash, quote and newline', () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(
    labelText([
      ['server', 'a'],
      ['subject', 'x"y'],
    ]),
    'server="a",subject="x\\"y"',
  );
});

test('values', () => {
  assert.equal(formatValue(3), '3');
  assert.equal(formatValue(0.25), '0.25');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
});

test('the test helper decodes label values in one pass: a backslash before "n" stays a backslash', () => {
  for (const value of ['plain', 'a\\nb', 'a\nb', 'a\\\\nb', 'q"uote', 'end\\', '\\"']) {
    assert.equal(unescapeLabelValue(escapeLabelValue(value)), value);
  }
  assert.equal(unescapeLabelValue('a\\\\nb'), 'a\\nb');
  const [sample] = parseSamples('x{v="C:\\\\new\\\\dir"} 1\n');
  assert.equal(sample!.labels['v'], 'C:\\new\\dir');
});

test("the exporter's own counters keep _total in the text format after an OpenMetrics scrape", async () => {
  const own = new SelfMetrics('test', [{ server: 'a', node: 'n' }]);
  const before = await own.render('text');
  assert.match(await own.render('openmetrics'), /^nats_queue_exporter_scrape_errors_total\{server="a",node="n",reason="timeout"\} 0$/m);
  const after = await own.render('text');
  for (const text of [before, after]) {
    assert.match(text, /^nats_queue_exporter_scrape_errors_total\{server="a",node="n",reason="timeout"\} 0$/m);
    assert.match(text, /^process_cpu_seconds_total \S+$/m);
  }
});

test("the process CPU counters: the process's CPU time since it started, user + system = total, in both formats", async () => {
  const own = new SelfMetrics('test', []);
  const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  const used = process.cpuUsage();
  const text = await own.render('text');
  const [user, system, total] = ['process_cpu_user_seconds_total', 'process_cpu_system_seconds_total', 'process_cpu_seconds_total'].map((n) => value(text, n));
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
  assert.ok(user! >= used.user / 1e6 && user! < used.user / 1e6 + 1, `user ${user} s, process.cpuUsage() said ${used.user / 1e6} s`);
  assert.ok(system! >= used.system / 1e6 && system! < used.system / 1e6 + 1, `system ${system} s`);
  assert.ok(Math.abs(total! - (user! + system!)) < 1e-6, `total ${total} = ${user} + ${system}`);
  // Spins for 50 ms of CPU, not of the clock: on a busy machine 50 ms of the clock can hold less.
  const spun = process.cpuUsage();
  const cpuMs = () => {
    const d = process.cpuUsage(spun);
    return (d.user + d.system) / 1000;
  };
  while (cpuMs() < 50);
  const later = value(await own.render('openmetrics'), 'process_cpu_seconds_total');
  assert.ok(later >= total! + 0.049, `${later} s after spinning 50 ms of CPU, was ${total} s`);
});
