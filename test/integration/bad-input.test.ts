import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestCa } from '../../harness/certs.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

/** Runs the exporter to its refusal: exit 2, one line on stderr, nothing on stdout, quickly. */
function refused(args: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): string {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CLI, '--listen', '127.0.0.1:0', '--probe-listen', 'off', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], ...env },
    timeout: 10_000,
  });
  const took = performance.now() - started;
  const what = `${args.join(' ')}: ${r.stderr}`;
  assert.equal(r.status, 2, what);
  assert.equal(r.stderr.trim().split('\n').length, 1, what);
  assert.match(r.stderr, message, what);
  assert.equal(r.stdout, '', what);
  assert.ok(took < 2000, `${what}: refused after ${Math.round(took)} ms`);
  return r.stderr;
}

describe('bad percent-encoding in the user or password of a URL', () => {
  const fix = /percent-encode the (user|password): % is %25/;
  const cases: Array<[string, string[]]> = [
    ['--server, password', ['--server', 'p=http://u:pw%zzSECRET@127.0.0.1:8222']],
    ['--server, user', ['--server', 'p=http://u%zz:pwSECRET@127.0.0.1:8222']],
    ['--jetstream, password', ['--jetstream', 'p=http://u:pw%zzSECRET@127.0.0.1:8222']],
    ['--nats-url, password', ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=nats://u:pw%zzSECRET@127.0.0.1:4222']],
    ['--nats-url, user', ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=nats://u%zz:pwSECRET@127.0.0.1:4222']],
  ];
  for (const [what, args] of cases) {
    test(`${what}: exit 2 naming the flag and the fix, never the password`, () => {
      const flag = what.split(',')[0]!;
      const part = what.split(', ')[1]!;
      const stderr = refused(args, new RegExp(`^nats-queue-exporter: ${flag} "p=[a-z]+://\\*\\*\\*@127\\.0\\.0\\.1:\\d+": the ${part} in the URL holds a "%"`));
      assert.match(stderr, fix);
      assert.doesNotMatch(stderr, /SECRET|pw%zz|URIError/);
    });
  }
  test('in NQE_SERVERS too, which the message names', () => {
    refused([], /^nats-queue-exporter: NQE_SERVERS "p=http:\/\/\*\*\*@127\.0\.0\.1:8222": the password in the URL/, {
      NQE_SERVERS: 'p=http://u:pw%zz@127.0.0.1:8222',
    });
  });
});

describe('a file flag that names a device, a FIFO, a directory or a file over its cap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nqe-bad-input-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  /** Sparse: its size is read from the stat, nothing is written to disk. */
  const huge = join(dir, 'huge');
  writeFileSync(huge, '');
  truncateSync(huge, 64 * 1024 * 1024);
  const ca = createTestCa(dir, 'bad-input');
  const client = ca.issue('exporter', 'client');

  const bad: Array<[string, string, RegExp]> = [
    ['/dev/zero', '/dev/zero', /is a character device, not a regular file/],
    ['a FIFO', fifo, /is a FIFO \(named pipe\), not a regular file/],
    ['a directory', folder, /is a directory, not a regular file/],
    ['a sparse 64 MiB file', huge, /is larger than (4 KiB|1 MiB), the most read of it/],
  ];
  /** Each file flag, with what it needs around it to be read, and the cap its message names. */
  const flags: Array<{ flag: string; args: (file: string) => string[]; cap: string }> = [
    { flag: '--server-password-file', args: (f) => ['--server', 'p=http://u@127.0.0.1:8222', '--server-password-file', `p=${f}`], cap: '4 KiB' },
    {
      flag: '--nats-password-file',
      args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=nats://u@127.0.0.1:4222', '--nats-password-file', `p=${f}`],
      cap: '4 KiB',
    },
    {
      flag: '--nats-token-file',
      args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=nats://127.0.0.1:4222', '--nats-token-file', `p=${f}`],
      cap: '4 KiB',
    },
    { flag: '--server-ca-file', args: (f) => ['--server', 'p=https://127.0.0.1:8222', '--server-ca-file', f], cap: '1 MiB' },
    {
      flag: '--server-cert-file',
      args: (f) => ['--server', 'p=https://127.0.0.1:8222', '--server-cert-file', f, '--server-key-file', client.keyFile],
      cap: '1 MiB',
    },
    {
      flag: '--server-key-file',
      args: (f) => ['--server', 'p=https://127.0.0.1:8222', '--server-cert-file', client.certFile, '--server-key-file', f],
      cap: '1 MiB',
    },
    { flag: '--nats-ca-file', args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=tls://127.0.0.1:4222', '--nats-ca-file', f], cap: '1 MiB' },
    {
      flag: '--nats-cert-file',
      args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=tls://127.0.0.1:4222', '--nats-cert-file', f, '--nats-key-file', client.keyFile],
      cap: '1 MiB',
    },
    {
      flag: '--nats-key-file',
      args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--nats-url', 'p=tls://127.0.0.1:4222', '--nats-cert-file', client.certFile, '--nats-key-file', f],
      cap: '1 MiB',
    },
    { flag: '--web-config', args: (f) => ['--server', 'p=http://127.0.0.1:8222', '--web-config', f], cap: '1 MiB' },
  ];
  for (const { flag, args, cap } of flags) {
    test(`${flag}: refused at once with the flag, the file and the fix`, () => {
      for (const [, file, problem] of bad) {
        const stderr = refused(args(file), problem);
        assert.ok(stderr.startsWith(`nats-queue-exporter: ${flag} `), stderr);
        assert.ok(stderr.includes(file), stderr);
        assert.match(stderr, new RegExp(`a regular file of at most ${cap}\\n$`));
      }
    });
  }

  test('--web-config whose tls_server_config names a device, a FIFO, a directory or a huge file', () => {
    for (const key of ['cert_file', 'key_file']) {
      for (const [, file, problem] of bad) {
        const config = join(dir, 'web.yml');
        const files = { cert_file: client.certFile, key_file: client.keyFile, [key]: file };
        writeFileSync(config, `tls_server_config:\n  cert_file: ${files.cert_file}\n  key_file: ${files.key_file}\n`);
        const stderr = refused(['--server', 'p=http://127.0.0.1:8222', '--web-config', config], problem);
        assert.match(stderr, new RegExp(`--web-config ${config}: tls_server_config: ${key} ${file}: `));
        assert.match(stderr, /a regular file of at most 1 MiB\n$/);
      }
    }
  });

  test('a password file under its cap is read as before', () => {
    const file = join(dir, 'password');
    writeFileSync(file, `${'x'.repeat(4096)}\n`);
    refused(['--server', 'p=http://u@127.0.0.1:8222', '--server-password-file', `p=${file}`], /is larger than 4 KiB/);
    writeFileSync(file, 'x'.repeat(4096));
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        '--listen',
        '127.0.0.1:0',
        '--probe-listen',
        'off',
        '--server',
        'p=http://u@127.0.0.1:1',
        '--server-password-file',
        `p=${file}`,
        '--log-level',
        'silent',
      ],
      { encoding: 'utf8', timeout: 1500, killSignal: 'SIGKILL' },
    );
    assert.equal(r.status, null, `it started (and was stopped): ${r.stderr}`);
    assert.equal(r.stderr, '');
  });
});
