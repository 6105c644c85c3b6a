import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FLAGS } from '../src/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('the Configuration table names every flag and its environment variable', () => {
  const configuration = section('Configuration');
  for (const f of FLAGS) {
    assert.ok(configuration.includes(`\`--${f.flag}`), `README's Configuration mentions --${f.flag}`);
    assert.ok(configuration.includes(f.env), `README's Configuration mentions ${f.env}`);
  }
});

test('the README starts with the two commands: try it (the demo) and test', () => {
  const [first, second] = /```sh\n([\s\S]*?)```/.exec(readme)![1]!.split('\n');
  assert.match(first!, /^npm ci && npm run demo\b/);
  assert.match(second!, /^bash \.ci\/run\b/);
  assert.match(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8'), /\nnpm test\n/);
});
