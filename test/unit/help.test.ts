import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  description: string;
  scripts: Record<string, string>;
};

test("--help and package.json's description name both backends, NATS Streaming and JetStream", () => {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  const about = help.stdout.split('\n').slice(0, 3).join('\n');
  assert.match(about, /NATS Streaming/);
  assert.match(about, /JetStream/);
  assert.match(packageJson.description, /NATS Streaming/);
  assert.match(packageJson.description, /JetStream/);
});

test('npm start runs the built exporter without compiling it again', () => {
  assert.equal(packageJson.scripts['prestart'], undefined);
  assert.match(packageJson.scripts['start'] ?? '', /^node .*dist\/src\/cli\.js$/);
  assert.doesNotMatch(packageJson.scripts['start'] ?? '', /tsc|npm run build/);
});
