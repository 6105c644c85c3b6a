import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../harness/ports.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

function runSync(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env }, timeout: 10_000 });
}

test('a bad flag, URL or value exits 2 with one line naming it and the fix', () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--nope'], {}, /^nats-queue-exporter: unknown flag --nope: see nats-queue-exporter --help for the flags\n$/],
    [['--server', 'a=ftp://x'], {}, /^nats-queue-exporter: --server "a=\.\.\.": the URL must start with http:\/\/ or https:\/\//],
    [['--timeout=-1'], {}, /^nats-queue-exporter: --timeout "-1": must be a number from 0\.001 to 300, e\.g\. --timeout 5\n$/],
    [[], { NQE_LISTEN: 'nowhere' }, /^nats-queue-exporter: NQE_LISTEN "nowhere": write HOST:PORT/],
  ];
  for (const [args, env, message] of cases) {
    const r = runSync(args, env);
    assert.equal(r.status, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(r.stdout, '');
  }
});

test('--help lists every flag with its environment variable; --version prints the version', () => {
  const help = runSync(['--help']);
  assert.equal(help.status, 0);
  for (const flag of [
    '--server NAME=URL',
    '--listen HOST:PORT',
    '--timeout SECONDS',
    '--page-size N',
    '--subjects',
    '--exclude-subjects',
    '--detailed-metrics',
    '--no-subscription-metrics',
    '--log-level LEVEL',
  ]) {
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
  for (const env of [
    'NQE_SERVERS',
    'NQE_LISTEN',
    'NQE_TIMEOUT',
    'NQE_PAGE_SIZE',
    'NQE_SUBJECTS',
    'NQE_EXCLUDE_SUBJECTS',
    'NQE_DETAILED_METRICS',
    'NQE_NO_SUBSCRIPTION_METRICS',
    'NQE_LOG_LEVEL',
  ]) {
    assert.ok(help.stdout.includes(env), `--help mentions ${env}`);
  }
  const version = runSync(['--version']);
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^nats-queue-exporter \d+\.\d+\.\d+\n$/);
});

test('a port in use exits 1 saying which address to change', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  const r = runSync(['--listen', `127.0.0.1:${port}`, '--log-level', 'silent']);
  blocker.close();
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): choose another --listen`));
});

test('health, readiness, credentials never logged, and SIGTERM during a scrape: the scrape finishes, exit 0 within 5 s', async () => {
  // A monitoring port that answers only after 1.5 s, so a scrape is in flight when SIGTERM arrives.
  const slow: Server = createServer((_req, res) => {
    setTimeout(() => res.writeHead(503, { 'content-type': 'text/plain' }).end('slow'), 1500);
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const slowPort = (slow.address() as AddressInfo).port;
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, '--listen', `127.0.0.1:${port}`, '--probe-listen', '127.0.0.1:0', '--timeout', '3', '--server', `slow=http://admin:hunter2@127.0.0.1:${slowPort}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: performance.now() })));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !logs.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  const scrape = fetch(`${base}/metrics`).then(async (r) => ({ status: r.status, text: await r.text() }));
  await new Promise((r) => setTimeout(r, 300));
  const signalled = performance.now();
  child.kill('SIGTERM');
  const result = await scrape;
  assert.equal(result.status, 200);
  assert.match(result.text, /stan_up\{server="slow",node="127\.0\.0\.1:\d+"\} 0/);
  assert.match(result.text, /nats_queue_exporter_scrape_errors_total\{server="slow",node="127\.0\.0\.1:\d+",reason="http_status"\} 1/);
  const { code, at } = await exited;
  assert.equal(code, 0);
  assert.ok(at - signalled < 5000, `exited ${((at - signalled) / 1000).toFixed(2)} s after SIGTERM`);
  slow.close();
  assert.match(logs, /"msg":"shutting down"/);
  assert.match(logs, /scrape of server failed/);
  assert.doesNotMatch(logs, /hunter2/);
  assert.doesNotMatch(logs, /admin/);
});
