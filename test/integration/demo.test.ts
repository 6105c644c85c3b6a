import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireNatsServerBinary } from '../../harness/nats-server.js';
import { requireStanBinary } from '../../harness/stan-server.js';

const DEMO = fileURLToPath(new URL('../../tools/demo.js', import.meta.url));

test("Ctrl-C on npm run demo stops it within seconds and leaves none of its servers' folders behind", async () => {
  requireStanBinary();
  requireNatsServerBinary();
  // The demo's servers make their folders in this one, which only it uses.
  const tmp = mkdtempSync(join(tmpdir(), 'nqe-demo-test-'));
  // A process group of its own, as a terminal gives it: Ctrl-C signals the demo and its servers alike.
  const demo = spawn(process.execPath, [DEMO], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
  let output = '';
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 600 && !output.includes('Press Ctrl-C to stop.') && demo.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /Press Ctrl-C to stop\./);
    assert.ok(
      readdirSync(tmp).some((name) => name.startsWith('nqe-')),
      `the servers' folders are in ${tmp}: ${readdirSync(tmp).join(', ')}`,
    );
    const signalled = performance.now();
    process.kill(-demo.pid!, 'SIGINT');
    assert.equal(await exited, 0, output);
    const took = performance.now() - signalled;
    assert.ok(took < 5000, `stopped ${Math.round(took)} ms after Ctrl-C`);
    assert.deepEqual(readdirSync(tmp), [], "every folder of the demo's servers is removed");
  } finally {
    if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});
