import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BUILTINS = fileURLToPath(new URL('../../src/node-builtins.js', import.meta.url));

test('node without WebAssembly (--jitless, as --lite-mode implies) gets an error that names the flags, not a ReferenceError from inside undici', () => {
  const script = `import(${JSON.stringify(BUILTINS)}).then((m) => m.undici()).catch((err) => { console.log(err.message); process.exit(3); });`;
  const run = spawnSync(process.execPath, ['--jitless', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /WebAssembly, which this node runs without \(--lite-mode or --jitless\): start node without those flags/);
});

test('with WebAssembly, undici loads', () => {
  const script = `import(${JSON.stringify(BUILTINS)}).then((m) => console.log(typeof m.undici().Pool));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'function');
});
