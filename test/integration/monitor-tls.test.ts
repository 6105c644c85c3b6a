import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseCli } from '../../src/config.js';
import { createTestCa, type Issued, type TestCa } from '../../harness/certs.js';
import { parseSamples, valueOf } from '../../harness/exporter.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';
import { closeStan, connectStan, publishMany } from '../../harness/stan-client.js';
import { startStan, type StanServer } from '../../harness/stan-server.js';

const MONITOR_USER = 'monitor';
const MONITOR_PASSWORD = 'm0nitor-Pass-7';
const URL_PASSWORD = 'url-Pass-9';

const dir = mkdtempSync(join(tmpdir(), 'nqe-monitor-tls-'));
let ca: TestCa;
let otherCa: TestCa;
let exporterCert: Issued;
let strangerCert: Issued;
let stan: StanServer;
let guard: GuardProxy;
let passwordFile: string;

interface GuardProxy {
  url: string;
  /** Requests that passed the client certificate and basic auth checks. */
  admitted: number;
  close(): Promise<void>;
}

/**
 * What operators put in front of a NATS monitoring port, which cannot check passwords or (with
 * -ms) client certificates itself: TLS with a required client certificate from `ca`, basic auth,
 * then https on to the real server.
 */
async function startGuardProxy(upstream: string): Promise<GuardProxy> {
  const cert = ca.issue('guard', 'server');
  const expected = `Basic ${Buffer.from(`${MONITOR_USER}:${MONITOR_PASSWORD}`).toString('base64')}`;
  const trust = readFileSync(ca.caFile);
  const proxy: GuardProxy = { url: '', admitted: 0, close: async () => undefined };
  const server: Server = createServer(
    {
      cert: readFileSync(cert.certFile),
      key: readFileSync(cert.keyFile),
      ca: trust,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="nats monitoring"' });
        res.end('unauthorized\n');
        return;
      }
      proxy.admitted++;
      const forward = httpsRequest(`${upstream}${req.url ?? '/'}`, { ca: trust, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-type': up.headers['content-type'] ?? 'application/json' });
        up.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

before(async () => {
  ca = createTestCa(dir, 'main');
  otherCa = createTestCa(dir, 'other');
  exporterCert = ca.issue('exporter', 'client');
  strangerCert = otherCa.issue('exporter', 'client');
  passwordFile = join(dir, 'monitor-password');
  writeFileSync(passwordFile, `${MONITOR_PASSWORD}\n`);
  // The node client speaks no TLS, so the channel is filled over plain NATS first and the same
  // FILE store is then served with monitoring over https.
  const storeDir = join(dir, 'store');
  const plain = await startStan({ store: 'FILE', dir: storeDir });
  const sc = await connectStan(plain.natsUrl, plain.clusterId, 'monitor-tls-filler');
  await publishMany(sc, 'orders', 5);
  await closeStan(sc);
  await plain.stop();
  const serverCert = ca.issue('nats', 'server');
  stan = await startStan({ store: 'FILE', dir: storeDir, monitorTls: { ...serverCert, caFile: ca.caFile } });
  guard = await startGuardProxy(stan.monitorUrl);
});

after(async () => {
  await guard?.close();
  await stan?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function metrics(started: LoggedExporter): Promise<string> {
  const res = await fetch(`${started.exporter.url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Starts an exporter with `args`, waits for one scrape of `server`, and returns all it printed with its up value. */
async function scrapeOnce(
  server: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ up: number | undefined; seq: number | undefined; printed: string }> {
  const started = await startLoggedExporter(args, env);
  try {
    const text = await metrics(started);
    const samples = parseSamples(text);
    const page = await (await fetch(`${started.exporter.url}/api/v1/queues`)).text();
    return {
      up: valueOf(samples, 'stan_up', { server }),
      seq: valueOf(samples, 'stan_channel_last_sequence', { server, subject: 'orders' }),
      printed: [text, page, started.logs()].join('\n'),
    };
  } finally {
    await started.exporter.close();
  }
}

function secretsIn(text: string): string[] {
  const keyLines = readFileSync(exporterCert.keyFile, 'utf8')
    .split('\n')
    .filter((l) => l.length > 20);
  const secrets = [
    MONITOR_PASSWORD,
    URL_PASSWORD,
    Buffer.from(`${MONITOR_USER}:${MONITOR_PASSWORD}`).toString('base64'),
    Buffer.from(`${MONITOR_USER}:${URL_PASSWORD}`).toString('base64'),
    ...keyLines,
  ];
  return secrets.filter((s) => text.includes(s));
}

describe("the real server's own https monitoring port", () => {
  test('with --server-ca-file the figures come through', async () => {
    const r = await scrapeOnce('tls', ['--server', `tls=${stan.monitorUrl}`, '--server-ca-file', ca.caFile]);
    assert.equal(r.up, 1, r.printed);
    assert.equal(r.seq, 5);
  });

  test('without the CA, or with another CA, the server is down with a hint to --server-ca-file', async () => {
    for (const args of [[], ['--server-ca-file', otherCa.caFile]]) {
      const r = await scrapeOnce('tls', ['--server', `tls=${stan.monitorUrl}`, ...args]);
      assert.equal(r.up, 0);
      assert.equal(r.seq, undefined);
      assert.match(r.printed, /not trusted: give its CA with --server-ca-file/);
    }
  });

  test('--server-insecure-skip-verify accepts any certificate', async () => {
    const r = await scrapeOnce('tls', ['--server', `tls=${stan.monitorUrl}`, '--server-insecure-skip-verify']);
    assert.equal(r.up, 1, r.printed);
    const fromEnv = await scrapeOnce('tls', ['--server', `tls=${stan.monitorUrl}`], { NQE_SERVER_INSECURE_SKIP_VERIFY: 'true' });
    assert.equal(fromEnv.up, 1, fromEnv.printed);
  });
});

describe('behind a proxy that wants a client certificate and a password', () => {
  const guarded = () => `guarded=https://${MONITOR_USER}@${new URL(guard.url).host}`;
  const tlsArgs = () => ['--server-ca-file', ca.caFile, '--server-cert-file', exporterCert.certFile, '--server-key-file', exporterCert.keyFile];

  test('client certificate, CA and password file: the figures come through, and no secret is printed', async () => {
    const before = guard.admitted;
    const r = await scrapeOnce('guarded', ['--server', guarded(), ...tlsArgs(), '--server-password-file', `guarded=${passwordFile}`]);
    assert.equal(r.up, 1, r.printed);
    assert.equal(r.seq, 5);
    assert.ok(guard.admitted > before, 'the requests went through the proxy');
    assert.deepEqual(secretsIn(r.printed), []);
  });

  test('the password from NQE_SERVER_PASSWORD_<NAME>, or a file for every server', async () => {
    const fromEnv = await scrapeOnce('guarded', ['--server', guarded(), ...tlsArgs()], { NQE_SERVER_PASSWORD_GUARDED: MONITOR_PASSWORD });
    assert.equal(fromEnv.up, 1, fromEnv.printed);
    const forAll = await scrapeOnce('guarded', ['--server', guarded(), ...tlsArgs(), '--server-password-file', passwordFile]);
    assert.equal(forAll.up, 1, forAll.printed);
    const all = await scrapeOnce('guarded', [...tlsArgs()], {
      NQE_SERVERS: `guarded=https://${MONITOR_USER}@${new URL(guard.url).host}`,
      NQE_SERVER_PASSWORD_FILES: `guarded=${passwordFile}`,
    });
    assert.equal(all.up, 1, all.printed);
    assert.deepEqual(secretsIn([fromEnv.printed, forAll.printed, all.printed].join('\n')), []);
  });

  test('no client certificate, or one from another CA: down with a hint to --server-cert-file', async () => {
    const none = await scrapeOnce('guarded', ['--server', guarded(), '--server-ca-file', ca.caFile, '--server-password-file', `guarded=${passwordFile}`]);
    const stranger = await scrapeOnce('guarded', [
      '--server',
      guarded(),
      '--server-ca-file',
      ca.caFile,
      '--server-cert-file',
      strangerCert.certFile,
      '--server-key-file',
      strangerCert.keyFile,
      '--server-password-file',
      `guarded=${passwordFile}`,
    ]);
    for (const r of [none, stranger]) {
      assert.equal(r.up, 0);
      assert.match(r.printed, /client certificate[:,] .*give one it trusts with --server-cert-file/);
      assert.deepEqual(secretsIn(r.printed), []);
    }
  });

  test('a wrong password: down with HTTP 401, and neither password is printed', async () => {
    const wrongFile = join(dir, 'wrong-password');
    writeFileSync(wrongFile, URL_PASSWORD);
    const wrong = await scrapeOnce('guarded', ['--server', guarded(), ...tlsArgs(), '--server-password-file', `guarded=${wrongFile}`]);
    const inUrl = await scrapeOnce('guarded', ['--server', `guarded=https://${MONITOR_USER}:${URL_PASSWORD}@${new URL(guard.url).host}`, ...tlsArgs()]);
    const none = await scrapeOnce('guarded', ['--server', `guarded=${guard.url}`, ...tlsArgs()]);
    for (const r of [wrong, inUrl, none]) {
      assert.equal(r.up, 0);
      assert.match(r.printed, /answered HTTP 401/);
      assert.deepEqual(secretsIn(r.printed), []);
    }
  });
});

describe('flag errors', () => {
  function refused(args: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): void {
    assert.throws(
      () => parseCli(args, env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.match(err.message, message);
        assert.deepEqual(secretsIn(err.message), [], err.message);
        return true;
      },
    );
  }
  const https = 'a=https://monitor@nats-a:8222';

  test('TLS files: missing, alone, not PEM, not a pair, or with no https server', () => {
    refused(['--server', https, '--server-ca-file', join(dir, 'missing.pem')], /--server-ca-file .*missing\.pem: cannot read it \(ENOENT\)/);
    refused(['--server', https, '--server-cert-file', exporterCert.certFile], /--server-cert-file is given alone: .*--server-key-file/);
    refused(['--server', https, '--server-ca-file', passwordFile], /--server-ca-file .*: holds no PEM certificate/);
    refused(
      ['--server', https, '--server-cert-file', exporterCert.certFile, '--server-key-file', strangerCert.keyFile],
      /do not make a certificate with its private key/,
    );
    refused(
      ['--server', https, '--server-cert-file', exporterCert.certFile, '--server-key-file', passwordFile],
      /do not make a certificate with its private key/,
    );
    refused(['--server', 'a=http://nats-a:8222', '--server-ca-file', ca.caFile], /no --server URL starts with https:\/\//);
    refused(['--server', https], /NQE_SERVER_CA_FILE .*cannot read it/, { NQE_SERVER_CA_FILE: join(dir, 'missing.pem') });
  });

  test('passwords: for no server, for a URL without user, twice, or from an empty file', () => {
    const empty = join(dir, 'empty-password');
    writeFileSync(empty, '\n');
    refused(['--server', https, '--server-password-file', `b=${passwordFile}`], /there is no server named "b"/);
    refused(['--server', 'a=https://nats-a:8222', '--server-password-file', `a=${passwordFile}`], /names no user; write it as https:\/\/USER@host:8222/);
    refused(['--server', 'a=https://nats-a:8222', '--server-password-file', passwordFile], /no server URL names a user without a password/);
    refused(['--server', 'a=https://nats-a:8222'], /NQE_SERVER_PASSWORD_A is set, but the URL of server "a" names no user/, {
      NQE_SERVER_PASSWORD_A: MONITOR_PASSWORD,
    });
    refused(
      ['--server', `a=https://monitor:${URL_PASSWORD}@nats-a:8222`, '--server-password-file', `a=${passwordFile}`],
      /the URL holds a password and --server-password-file a=\.\.\. gives another/,
    );
    refused(
      ['--server', https, '--server-password-file', `a=${passwordFile}`, '--server-password-file', `a=${empty}`],
      /server "a" is given two password files/,
    );
    refused(['--server', https, '--server-password-file', `a=${empty}`], /the file is empty/);
    refused(['--server', https, '--server-password-file', `a=${join(dir, 'nope')}`], /cannot read it \(ENOENT\)/);
  });

  test('the password reaches the Authorization header, and the whole config prints it redacted', () => {
    const request = parseCli(
      [
        '--server',
        https,
        '--server-password-file',
        `a=${passwordFile}`,
        '--server-cert-file',
        exporterCert.certFile,
        '--server-key-file',
        exporterCert.keyFile,
      ],
      {},
    );
    assert.equal(request.kind, 'run');
    const config = (request as Extract<typeof request, { kind: 'run' }>).config;
    const node = config.servers[0]!.nodes[0]!;
    const header = `Basic ${Buffer.from(`${MONITOR_USER}:${MONITOR_PASSWORD}`).toString('base64')}`;
    assert.equal(node.authorization?.reveal(), header);
    assert.equal(node.url, 'https://nats-a:8222');
    for (const printed of [JSON.stringify(config), inspect(config, { depth: 10 }), String(node.authorization)]) {
      assert.deepEqual(secretsIn(printed), [], printed);
    }
    assert.match(JSON.stringify(config), /"authorization":"\[redacted\]"/);
    assert.match(JSON.stringify(config), /"key":"\[redacted\]"/);
  });
});
