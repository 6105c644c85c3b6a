import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { refused, run } from '../../harness/config.js';

test('probe defaults: listener on loopback 7779, TTL 30 s, 1000 series, all subjects', () => {
  const c = run([]);
  assert.deepEqual(c.probeListen, { host: '127.0.0.1', port: 7779 });
  assert.equal(c.probeTtlSeconds, 30);
  assert.equal(c.probeMaxSeries, 1000);
  assert.equal(c.subjectsAuto, false);
});

test('probe flags and their environment variables', () => {
  const c = run(['--probe-listen', '[::1]:9779', '--probe-ttl', '2.5', '--probe-max-series', '20', '--subjects', 'auto', '--exclude-subjects', 'tmp.>']);
  assert.deepEqual(c.probeListen, { host: '::1', port: 9779 });
  assert.equal(c.probeTtlSeconds, 2.5);
  assert.equal(c.probeMaxSeries, 20);
  assert.equal(c.subjectsAuto, true);
  assert.deepEqual(c.subjects, []);
  assert.deepEqual(c.excludeSubjects, ['tmp.>']);
  const e = run([], { NQE_PROBE_LISTEN: 'off', NQE_PROBE_TTL: '60', NQE_PROBE_MAX_SERIES: '7', NQE_SUBJECTS: 'orders.>' });
  assert.equal(e.probeListen, undefined);
  assert.equal(e.probeTtlSeconds, 60);
  assert.equal(e.probeMaxSeries, 7);
  assert.deepEqual(e.subjects, ['orders.>']);
  assert.equal(run(['--subjects', ' auto '], {}).subjectsAuto, true);
});

test('bad probe settings name the flag or variable and the fix', () => {
  refused(['--subjects', 'auto,orders.>'], /^--subjects "auto,orders\.>": "auto" cannot be combined with patterns; write --subjects auto alone/);
  refused([], /^NQE_SUBJECTS "orders,auto": "auto" cannot be combined/, { NQE_SUBJECTS: 'orders,auto' });
  refused(
    ['--subjects', 'auto', '--probe-listen', 'off'],
    /^--subjects auto takes its channels from probe reports, but --probe-listen is off: give --probe-listen HOST:PORT/,
  );
  refused(
    ['--probe-listen', '7779'],
    /^--probe-listen "7779": write HOST:PORT with a port from 0 to 65535, e\.g\. 127\.0\.0\.1:7779 \(reachable from the pod only\), or off/,
  );
  refused([], /^NQE_PROBE_TTL "0": must be a number from 0\.1 to 86400, e\.g\. --probe-ttl 30/, { NQE_PROBE_TTL: '0' });
  refused(['--probe-max-series', '1.5'], /^--probe-max-series "1\.5": must be a whole number from 1 to 1000000/);
  refused(['--probe-ttl'], /^--probe-ttl needs a value: write --probe-ttl SECONDS/);
});

test('the CLI: --help lists the probe flags; a probe port in use exits 1 naming --probe-listen', async () => {
  const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  for (const text of [
    '--probe-listen HOST:PORT',
    'NQE_PROBE_LISTEN',
    '--probe-ttl SECONDS',
    'NQE_PROBE_TTL',
    '--probe-max-series N',
    'NQE_PROBE_MAX_SERIES',
    '"auto"',
  ]) {
    assert.ok(help.stdout.includes(text), `--help mentions ${text}`);
  }
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  try {
    const r = spawnSync(process.execPath, [cli, '--listen', '127.0.0.1:0', '--probe-listen', `127.0.0.1:${port}`, '--log-level', 'silent'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `nats-queue-exporter: cannot listen on 127.0.0.1:${port} (EADDRINUSE) for the probe listener (workers' reports): choose another --probe-listen HOST:PORT (env NQE_PROBE_LISTEN), or turn it off with --probe-listen off if no worker reports to this exporter; each exporter on one host needs a probe port of its own\n`,
    );
  } finally {
    blocker.close();
  }
});
