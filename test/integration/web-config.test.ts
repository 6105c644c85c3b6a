import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseCli } from '../../src/config.js';
import { BasicAuth } from '../../src/http/basic-auth.js';
import { createTestCa, type TestCa } from '../../harness/certs.js';
import { eventually, parseSamples, valueOf } from '../../harness/exporter.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';
import { startPrometheus } from '../../harness/prometheus.js';
import { closeStan, connectStan, publishMany, type Stan } from '../../harness/stan-client.js';
import { startStan, type StanServer } from '../../harness/stan-server.js';

// Hashes made with libxcrypt (Python's crypt module), not with the bcrypt library under test;
// the first has htpasswd's $2y$ prefix.
const USER = 'prometheus';
const PASSWORD = 'scrape-Secret-1';
const HASH = '$2y$10$abcdefghijklmnopqrstuufApBMC2807Xzca4WMXS8prkDsw4xP6q';
const ALICE_PASSWORD = 'alice-pw-2';
const ALICE_HASH = '$2b$04$ZYXWVUTSRQPONMLKJIHGFeWqN7W.t0FUThlJh9Za6HNqFpLPQ1kLC';

const dir = mkdtempSync(join(tmpdir(), 'nqe-web-config-'));
let fileCount = 0;
let stan: StanServer;
let sc: Stan;
let ca: TestCa;
let otherCa: TestCa;

before(async () => {
  ca = createTestCa(dir, 'main');
  otherCa = createTestCa(dir, 'other');
  stan = await startStan();
  sc = await connectStan(stan.natsUrl, stan.clusterId, 'web-config-test');
  await publishMany(sc, 'orders', 3);
});

after(async () => {
  await closeStan(sc);
  await stan.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writeFile(name: string, text: string): string {
  const file = join(dir, `${++fileCount}-${name}`);
  writeFileSync(file, text);
  return file;
}

function startWith(webConfig: string): Promise<LoggedExporter> {
  return startLoggedExporter(['--server', `nats=${stan.monitorUrl}`, '--web-config', writeFile('web.yml', webConfig)]);
}

/** A web config file's lines: tls_server_config with `server`'s certificate, then `more`. */
function tlsConfig(server: { certFile: string; keyFile: string }, ...more: string[]): string {
  return `${['tls_server_config:', `  cert_file: ${server.certFile}`, `  key_file: ${server.keyFile}`, ...more].join('\n')}\n`;
}

/** tls_server_config lines that require a client certificate signed by `ca`. */
function requireClientsOf(ca: TestCa): string[] {
  return ['  client_auth_type: RequireAndVerifyClientCert', `  client_ca_file: ${ca.caFile}`];
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One https GET on a fresh connection, trusting `caFile`, optionally with a client certificate. */
function httpsGet(url: string, opts: { caFile: string; certFile?: string; keyFile?: string; authorization?: string }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        agent: false,
        ca: readFileSync(opts.caFile),
        ...(opts.certFile && { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile!) }),
        headers: opts.authorization ? { authorization: opts.authorization } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The fingerprint of the certificate the listener shows to a new connection. */
function servedFingerprint(url: string, caFile: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca: readFileSync(caFile) }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

describe('web config file errors', () => {
  function refused(yaml: string, message: RegExp, secretsAbsent: string[] = []): void {
    const file = writeFile('bad.yml', yaml);
    assert.throws(
      () => parseCli(['--web-config', file], {}),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.match(err.message, message);
        assert.ok(err.message.includes(file), `the message names the file: ${err.message}`);
        for (const s of secretsAbsent) assert.ok(!err.message.includes(s), `the message leaks ${s}: ${err.message}`);
        return true;
      },
    );
  }

  test('unknown keys are refused by name, at the top and inside sections', () => {
    refused(`basic_auth_users:\n  ${USER}: "${HASH}"\nbasic_auth_user:\n  x: y\n`, /basic_auth_user is not a known key/);
    refused(
      'tls_server_config:\n  cert_file: a.pem\n  key_file: a.key\n  client_auth: RequireAndVerifyClientCert\n',
      /tls_server_config\.client_auth is not a known key/,
    );
    refused('http_server_config:\n  header:\n    X-Frame-Options: deny\n', /http_server_config\.header is not a known key/);
    refused('rate_limit:\n  interval: 1s\n  burst: 5\n', /rate_limit: nats-queue-exporter does not rate-limit/);
  });

  test('bad values name the key and the fix, and never print a hash or a key', () => {
    refused(`basic_auth_users:\n  ${USER}: ${PASSWORD}\n`, /basic_auth_users\.prometheus is not a bcrypt hash; .*htpasswd/, [PASSWORD]);
    refused(`basic_auth_users:\n  ${USER}: "${HASH.slice(0, -1)}"\n`, /basic_auth_users\.prometheus is not a bcrypt hash/, [HASH.slice(0, -1)]);
    refused('tls_server_config:\n  cert_file: a.pem\n', /key_file is missing/);
    refused(
      'tls_server_config:\n  cert_file: /nonexistent/a.pem\n  key_file: /nonexistent/a.key\n',
      /cert_file \/nonexistent\/a\.pem: cannot read it \(ENOENT\)/,
    );
    refused('tls_server_config: [1, 2]\n', /tls_server_config must be a mapping/);
    refused('http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /X-Frame-Options "allow" must be one of deny, sameorigin/);
    refused('http_server_config:\n  headers:\n    Content-Type: text/html\n', /"Content-Type" cannot be set/);
    refused('basic_auth_users: [', /is not valid YAML/);
  });

  test('TLS settings are checked against each other and against the files', () => {
    const server = ca.issue('web', 'server');
    const other = otherCa.issue('web', 'server');
    const tlsHead = tlsConfig(server);
    refused(`${tlsHead}  client_auth_type: RequireAndVerifyClientCert\n`, /verifies client certificates, but no client_ca_file is given/);
    refused(`${tlsHead}  client_auth_type: Yes\n`, /client_auth_type "Yes" is not one of NoClientCert, /);
    refused(`${tlsHead}  client_ca_file: ${ca.caFile}\n`, /client CA is given but client_auth_type is NoClientCert/);
    refused(`${tlsHead}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${server.keyFile}\n`, /client_ca_file .* holds no PEM certificate/);
    refused(`${tlsHead}  min_version: TLS13\n  max_version: TLS12\n`, /min_version is above max_version/);
    refused(`${tlsHead}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n`, /"TLS_RSA_WITH_RC4_128_SHA" is not a supported suite/);
    refused(`${tlsHead}  curve_preferences: [CurveP255]\n`, /"CurveP255" is not one of CurveP256/);
    const keyText = readFileSync(other.keyFile, 'utf8');
    refused(
      `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${other.keyFile}\n`,
      /do not make a certificate with its private key/,
      keyText.split('\n').filter((l) => l.length > 20),
    );
  });

  test('the CLI exits 2 with the message on stderr', () => {
    const file = writeFile('bad.yml', 'tls_server_config:\n  cert_flie: x.pem\n');
    const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
    const run = spawnSync(process.execPath, [cli, '--web-config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /tls_server_config\.cert_flie is not a known key/);
  });

  test('a file that configures nothing but headers is accepted, and the headers are sent', async () => {
    const { exporter } = await startWith('http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n');
    try {
      const res = await fetch(`${exporter.url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-frame-options'), 'deny');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    } finally {
      await exporter.close();
    }
  });
});

test('BasicAuth remembers a checked password, shares concurrent checks and never remembers a wrong one', async () => {
  const auth = new BasicAuth(new Map([[USER, HASH]]));
  const right = basic(USER, PASSWORD);
  const timed = async (run: () => Promise<unknown>) => {
    const t0 = performance.now();
    await run();
    return performance.now() - t0;
  };
  // The first check of a pair runs bcrypt once, even when ten scrapes ask at the same moment.
  let answers: boolean[] = [];
  const firstTen = await timed(async () => (answers = await Promise.all(Array.from({ length: 10 }, () => auth.check(right)))));
  assert.deepEqual(answers, Array(10).fill(true));
  const wrong: number[] = [];
  for (let i = 0; i < 3; i++) wrong.push(await timed(async () => assert.equal(await auth.check(basic(USER, 'wrong')), false)));
  const hundredRemembered = await timed(async () => {
    for (let i = 0; i < 100; i++) assert.equal(await auth.check(right), true);
  });
  const unknownUser = await timed(async () => assert.equal(await auth.check(basic('nobody', PASSWORD)), false));
  // Wide margins: a cost-10 bcrypt run takes tens of milliseconds, a remembered pair microseconds.
  const report = `10 concurrent first checks ${firstTen.toFixed(0)} ms, wrong ${wrong.map((t) => t.toFixed(0)).join('/')} ms, 100 remembered ${hundredRemembered.toFixed(1)} ms, unknown user ${unknownUser.toFixed(0)} ms`;
  const slowest = Math.max(...wrong);
  const fastest = Math.min(...wrong);
  assert.ok(fastest > 20, `a wrong password was answered without a bcrypt run (remembered?): ${report}`);
  assert.ok(firstTen < slowest * 4, `concurrent checks of one pair were not shared: ${report}`);
  assert.ok(hundredRemembered < fastest, `remembered checks are not cheap: ${report}`);
  assert.ok(unknownUser > 20, `an unknown user is answered without a bcrypt run: ${report}`);
});

describe('basic auth on plain http', () => {
  let started: LoggedExporter;
  before(async () => {
    started = await startWith(`basic_auth_users:\n  ${USER}: "${HASH}"\n  alice: "${ALICE_HASH}"\n`);
  });
  after(() => started.exporter.close());

  test('no credentials: 401 with a WWW-Authenticate challenge, on /metrics, /metrics/detailed and /', async () => {
    for (const path of ['/metrics', '/metrics/detailed', '/metrics/detailed?family=nope', '/', '/no-such-page']) {
      const res = await fetch(`${started.exporter.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="nats-queue-exporter"/);
      assert.doesNotMatch(await res.text(), /stan_/);
    }
  });

  test('a wrong password, an unknown user or a malformed header: 401', async () => {
    for (const authorization of [
      basic(USER, 'wrong'),
      basic(USER, `${PASSWORD} `),
      basic('nobody', PASSWORD),
      basic('alice', PASSWORD),
      'Bearer abc',
      'Basic !!!',
      `Basic ${Buffer.from(USER).toString('base64')}`,
    ]) {
      const res = await fetch(`${started.exporter.url}/metrics`, { headers: { authorization } });
      assert.equal(res.status, 401, authorization);
    }
  });

  test('the right password: 200 with the real server figures, for every user', async () => {
    for (const [user, password] of [
      [USER, PASSWORD],
      ['alice', ALICE_PASSWORD],
    ] as const) {
      const res = await fetch(`${started.exporter.url}/metrics`, { headers: { authorization: basic(user, password) } });
      assert.equal(res.status, 200, user);
      const samples = parseSamples(await res.text());
      assert.equal(valueOf(samples, 'stan_up', { server: 'nats' }), 1);
      assert.equal(valueOf(samples, 'stan_channel_last_sequence', { server: 'nats', subject: 'orders' }), 3);
    }
    const page = await fetch(`${started.exporter.url}/`, { headers: { authorization: basic(USER, PASSWORD) } });
    assert.equal(page.status, 200);
    const detailed = await fetch(`${started.exporter.url}/metrics/detailed`, { headers: { authorization: basic(USER, PASSWORD) } });
    assert.equal(detailed.status, 200);
    assert.equal(valueOf(parseSamples(await detailed.text()), 'stan_channel_first_sequence', { server: 'nats', subject: 'orders' }), 1);
  });

  test('/healthz and /readyz answer without credentials (kubelet probes)', async () => {
    assert.equal((await fetch(`${started.exporter.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${started.exporter.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${started.exporter.url}/healthz?x=/metrics`)).status, 200);
    assert.equal((await fetch(`${started.exporter.url}/healthz/`)).status, 401, 'only the exact path is open');
  });

  test('the password and its hash never appear in logs, /, /api/v1/queues, /metrics or the 401 answer', async () => {
    const authorization = basic(USER, PASSWORD);
    const texts = [
      await (await fetch(`${started.exporter.url}/metrics`, { headers: { authorization } })).text(),
      await (await fetch(`${started.exporter.url}/`, { headers: { authorization } })).text(),
      await (await fetch(`${started.exporter.url}/api/v1/queues`, { headers: { authorization } })).text(),
      await (await fetch(`${started.exporter.url}/metrics`, { headers: { authorization: basic(USER, `${PASSWORD}x`) } })).text(),
      started.logs(),
    ];
    assert.match(started.logs(), /request refused: basic auth/, 'refusals are logged at debug level');
    for (const text of texts) {
      for (const secret of [PASSWORD, HASH, authorization.slice('Basic '.length), ALICE_HASH]) {
        assert.ok(!text.includes(secret), `leaked ${secret.slice(0, 8)}...: ${text.slice(0, 300)}`);
      }
    }
  });
});

test('auth_excluded_paths: [] protects /healthz too', async () => {
  const { exporter } = await startWith(`auth_excluded_paths: []\nbasic_auth_users:\n  ${USER}: "${HASH}"\n`);
  try {
    assert.equal((await fetch(`${exporter.url}/healthz`)).status, 401);
    assert.equal((await fetch(`${exporter.url}/healthz`, { headers: { authorization: basic(USER, PASSWORD) } })).status, 200);
  } finally {
    await exporter.close();
  }
});

describe('TLS', () => {
  test('TLS required: plain http is refused, https with the CA answers', async () => {
    const server = ca.issue('web', 'server');
    const { exporter } = await startWith(tlsConfig(server));
    try {
      assert.match(exporter.url, /^https:\/\//);
      const plain = exporter.url.replace('https://', 'http://');
      const outcome = await fetch(`${plain}/metrics`).then(
        (res) => `HTTP ${res.status}`,
        (err: Error) => `failed: ${err.message}`,
      );
      assert.ok(!outcome.startsWith('HTTP 2'), `plain http got ${outcome}`);
      const res = await httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile });
      assert.equal(res.status, 200);
      assert.equal(valueOf(parseSamples(res.body), 'stan_up', { server: 'nats' }), 1);
      await assert.rejects(httpsGet(`${exporter.url}/metrics`, { caFile: otherCa.caFile }), /self.signed|unable to verify|certificate/i);
    } finally {
      await exporter.close();
    }
  });

  test('client certificate required: none or one from another CA is refused, ours answers', async () => {
    const server = ca.issue('web', 'server');
    const client = ca.issue('prometheus', 'client');
    const stranger = otherCa.issue('prometheus', 'client');
    const { exporter, logs } = await startWith(
      tlsConfig(
        server,
        ...requireClientsOf(ca),
        '  min_version: TLS12',
        '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]',
        '  curve_preferences: [CurveP256, X25519]',
        'basic_auth_users:',
        `  ${USER}: "${HASH}"`,
      ),
    );
    try {
      await assert.rejects(httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, authorization: basic(USER, PASSWORD) }));
      await assert.rejects(httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, ...stranger, authorization: basic(USER, PASSWORD) }));
      const noPassword = await httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, ...client });
      assert.equal(noPassword.status, 401, 'a certificate does not replace the password');
      const ok = await httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, ...client, authorization: basic(USER, PASSWORD) });
      assert.equal(ok.status, 200);
      assert.equal(valueOf(parseSamples(ok.body), 'stan_channel_last_sequence', { server: 'nats', subject: 'orders' }), 3);
      const keyLines = [server.keyFile, client.keyFile].flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => l.length > 20),
      );
      for (const line of keyLines) assert.ok(!logs().includes(line) && !ok.body.includes(line), 'a private key line was printed');
    } finally {
      await exporter.close();
    }
  });

  test('client_allowed_sans: a trusted certificate without an allowed name is refused', async () => {
    const server = ca.issue('web', 'server');
    const allowed = ca.issue('prometheus', 'client', ['DNS:prometheus.monitoring.svc']);
    const other = ca.issue('someone', 'client', ['DNS:someone.example']);
    const { exporter } = await startWith(tlsConfig(server, ...requireClientsOf(ca), '  client_allowed_sans: [prometheus.monitoring.svc]'));
    try {
      assert.equal((await httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, ...allowed })).status, 200);
      await assert.rejects(httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile, ...other }));
    } finally {
      await exporter.close();
    }
  });

  test('replaced certificate files are served to new connections; broken ones keep the old certificate', async () => {
    const first = ca.issue('first', 'server');
    const second = ca.issue('second', 'server');
    const certFile = join(dir, 'reload.pem');
    const keyFile = join(dir, 'reload.key');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const { exporter, logs } = await startWith(`tls_server_config:\n  cert_file: ${certFile}\n  key_file: ${keyFile}\n`);
    try {
      assert.equal(await servedFingerprint(exporter.url, ca.caFile), fingerprintOf(first.certFile));
      // Rotate as cert-manager or kubelet would: write the new pair in place.
      copyFileSync(second.certFile, certFile);
      copyFileSync(second.keyFile, keyFile);
      await eventually(async () => assert.equal(await servedFingerprint(exporter.url, ca.caFile), fingerprintOf(second.certFile)));
      assert.equal((await httpsGet(`${exporter.url}/metrics`, { caFile: ca.caFile })).status, 200);
      assert.match(logs(), /TLS certificate reloaded/);

      writeFileSync(certFile, 'not a certificate\n');
      assert.equal(await servedFingerprint(exporter.url, ca.caFile), fingerprintOf(second.certFile));
      assert.match(logs(), /cannot be used; still serving the previous certificate/);
      const keyLines = readFileSync(second.keyFile, 'utf8')
        .split('\n')
        .filter((l) => l.length > 20);
      for (const line of keyLines) assert.ok(!logs().includes(line), 'the key was printed');

      copyFileSync(first.certFile, certFile);
      copyFileSync(first.keyFile, keyFile);
      await eventually(async () => assert.equal(await servedFingerprint(exporter.url, ca.caFile), fingerprintOf(first.certFile)));
    } finally {
      await exporter.close();
    }
  });
});

test('a real Prometheus scrapes through TLS, a client certificate and basic auth', async () => {
  const server = ca.issue('web', 'server');
  const client = ca.issue('prometheus', 'client');
  const { exporter } = await startWith(tlsConfig(server, ...requireClientsOf(ca), 'basic_auth_users:', `  ${USER}: "${HASH}"`));
  const passwordFile = writeFile('password', `${PASSWORD}\n`);
  const target = new URL(exporter.url).host;
  const job = (name: string, password: string) =>
    [
      `  - job_name: ${name}`,
      '    scheme: https',
      '    scrape_interval: 1s',
      '    tls_config:',
      `      ca_file: ${ca.caFile}`,
      `      cert_file: ${client.certFile}`,
      `      key_file: ${client.keyFile}`,
      '    basic_auth:',
      `      username: ${USER}`,
      `      password_file: ${password}`,
      `    static_configs: [{ targets: ['${target}'] }]`,
    ].join('\n');
  const prometheus = await startPrometheus(
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      job('right', passwordFile),
      job('wrong', writeFile('wrong-password', 'guess\n')),
    ].join('\n'),
  );
  try {
    const query = async (q: string) => {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
    };
    await eventually(async () => {
      const up = await query('up');
      assert.deepEqual(up.map((r) => `${r.metric['job']}=${r.value[1]}`).sort(), ['right=1', 'wrong=0']);
      const seq = await query('stan_channel_last_sequence{subject="orders"}');
      assert.equal(seq[0]?.value[1], '3');
    }, 20_000);
  } finally {
    await prometheus.stop();
    await exporter.close();
  }
});
