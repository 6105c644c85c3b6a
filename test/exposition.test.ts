import assert from 'node:assert/strict';
import { test } from 'node:test';
import { negotiateFormat } from '../src/http/negotiation.js';
import { escapeLabelValue, formatValue, labelText } from '../src/metrics/exposition.js';
import { parseSamples, unescapeLabelValue } from './helpers/exporter.js';
import { SelfMetrics } from '../src/metrics/self-metrics.js';

test('label values escape backslash, quote and newline', () => {
  assert.equal(escapeLabelValue('plain'), 'plain');
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(labelText([['server', 'a'], ['subject', 'x"y']]), 'server="a",subject="x\\"y"');
});

test('values', () => {
  assert.equal(formatValue(3), '3');
  assert.equal(formatValue(0.25), '0.25');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
});

test('OpenMetrics only when asked for above the text format', () => {
  const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.equal(negotiateFormat(prometheus), 'openmetrics');
  assert.equal(negotiateFormat('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5'), 'text');
  assert.equal(negotiateFormat('*/*'), 'text');
  assert.equal(negotiateFormat(undefined), 'text');
  assert.equal(negotiateFormat('text/html,application/xhtml+xml'), 'text');
});

test('the test helper decodes label values in one pass: a backslash before "n" stays a backslash', () => {
  for (const value of ['plain', 'a\\nb', 'a\nb', 'a\\\\nb', 'q"uote', 'end\\', '\\"']) {
    assert.equal(unescapeLabelValue(escapeLabelValue(value)), value);
  }
  assert.equal(unescapeLabelValue('a\\\\nb'), 'a\\nb');
  const [sample] = parseSamples('x{v="C:\\\\new\\\\dir"} 1\n');
  assert.equal(sample!.labels['v'], 'C:\\new\\dir');
});

test('the exporter\'s own counters keep _total in the text format after an OpenMetrics scrape', async () => {
  const own = new SelfMetrics('test', [{ server: 'a', node: 'n' }]);
  const before = await own.render('text');
  assert.match(await own.render('openmetrics'), /^nats_queue_exporter_scrape_errors_total\{server="a",node="n",reason="timeout"\} 0$/m);
  const after = await own.render('text');
  for (const text of [before, after]) {
    assert.match(text, /^nats_queue_exporter_scrape_errors_total\{server="a",node="n",reason="timeout"\} 0$/m);
    assert.match(text, /^process_cpu_seconds_total \S+$/m);
  }
});
