import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../harness/ports.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
let first: ChildProcess;
let listen: string;
let probeListen: string;

/** A second exporter on the same host, run to its end. */
function second(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, '--server', 'a=http://127.0.0.1:1', '--log-level', 'silent', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], ...env },
    timeout: 10_000,
  });
}

before(async () => {
  listen = `127.0.0.1:${await freePort()}`;
  probeListen = `127.0.0.1:${await freePort()}`;
  first = spawn(process.execPath, [CLI, '--server', 'a=http://127.0.0.1:1', '--listen', listen, '--probe-listen', probeListen], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  first.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('nats-queue-exporter listening'); i++) await new Promise((r) => setTimeout(r, 25));
  assert.match(out, /nats-queue-exporter listening/);
});
after(() => first.kill('SIGKILL'));

test('a second exporter whose --listen differs but whose probe port is taken is told to change --probe-listen (or NQE_PROBE_LISTEN), or turn it off', async () => {
  const r = second(['--listen', `127.0.0.1:${await freePort()}`, '--probe-listen', probeListen]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `^nats-queue-exporter: cannot listen on ${probeListen.replaceAll('.', '\\.')} \\(EADDRINUSE\\) for the probe listener \\(workers' reports\\): choose another --probe-listen HOST:PORT \\(env NQE_PROBE_LISTEN\\), or turn it off with --probe-listen off`,
    ),
  );
  assert.doesNotMatch(r.stderr, /--listen HOST/);
});

test('a probe address from NQE_PROBE_LISTEN: the message says to change NQE_PROBE_LISTEN', async () => {
  const r = second(['--listen', `127.0.0.1:${await freePort()}`], { NQE_PROBE_LISTEN: probeListen });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    /\(EADDRINUSE\), the address NQE_PROBE_LISTEN gives for the probe listener \(workers' reports\): set NQE_PROBE_LISTEN to another HOST:PORT .*or turn it off with NQE_PROBE_LISTEN=off/,
  );
});

test('a metrics address from NQE_LISTEN: the message says to change NQE_LISTEN', () => {
  const r = second(['--probe-listen', 'off'], { NQE_LISTEN: listen });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `cannot listen on ${listen.replaceAll('.', '\\.')} \\(EADDRINUSE\\), the address NQE_LISTEN gives: set NQE_LISTEN to another HOST:PORT \\(or give --listen HOST:PORT, which wins over it\\)`,
    ),
  );
});

test('a metrics address from --listen: the message says to change --listen', () => {
  const r = second(['--probe-listen', 'off', '--listen', listen]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`cannot listen on ${listen.replaceAll('.', '\\.')} \\(EADDRINUSE\\): choose another --listen HOST:PORT \\(env NQE_LISTEN\\)\\n$`),
  );
});
