import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCli } from '../../src/config.js';
import { refused, run } from '../../harness/config.js';

test('defaults', () => {
  const c = run([]);
  assert.deepEqual(c.servers, [{ name: 'local', backend: 'stan', nodes: [{ server: 'local', node: '127.0.0.1:8222', url: 'http://127.0.0.1:8222' }] }]);
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 7778 });
  assert.equal(c.timeoutSeconds, 5);
  assert.equal(c.pageSize, 1024);
  assert.deepEqual(c.subjects, []);
  assert.deepEqual(c.excludeSubjects, []);
  assert.equal(c.detailedMetrics, false);
  assert.deepEqual(c.warnings, []);
  assert.equal(c.logLevel, 'info');
  assert.ok(Object.isFrozen(c));
});

test('flags', () => {
  const c = run([
    '--server',
    'a=http://nats-a:8222/',
    '--server',
    'b=https://nats-b:8443/monitor',
    '--listen',
    '[::1]:9000',
    '--timeout',
    '2.5',
    '--page-size',
    '100',
    '--subjects',
    'orders.>, jobs.*',
    '--exclude-subjects',
    'orders.test',
    '--detailed-metrics',
    '--log-level',
    'debug',
  ]);
  assert.deepEqual(c.servers, [
    { name: 'a', backend: 'stan', nodes: [{ server: 'a', node: 'nats-a:8222', url: 'http://nats-a:8222' }] },
    { name: 'b', backend: 'stan', nodes: [{ server: 'b', node: 'nats-b:8443', url: 'https://nats-b:8443/monitor' }] },
  ]);
  assert.deepEqual(c.listen, { host: '::1', port: 9000 });
  assert.equal(c.timeoutSeconds, 2.5);
  assert.equal(c.pageSize, 100);
  assert.deepEqual(c.subjects, ['orders.>', 'jobs.*']);
  assert.deepEqual(c.excludeSubjects, ['orders.test']);
  assert.equal(c.detailedMetrics, true);
  assert.equal(c.logLevel, 'debug');
});

test('environment variables, and flags win over them', () => {
  const env = {
    NQE_SERVERS: 'a=http://x:8222, b=http://y:8222',
    NQE_LISTEN: ':7000',
    NQE_TIMEOUT: '3',
    NQE_PAGE_SIZE: '10',
    NQE_SUBJECTS: 'a.*',
    NQE_EXCLUDE_SUBJECTS: 'a.b',
    NQE_DETAILED_METRICS: 'true',
    NQE_LOG_LEVEL: 'warn',
  };
  const c = run([], env);
  assert.deepEqual(
    c.servers.map((s) => s.name),
    ['a', 'b'],
  );
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 7000 });
  assert.equal(c.timeoutSeconds, 3);
  assert.equal(c.pageSize, 10);
  assert.deepEqual(c.subjects, ['a.*']);
  assert.deepEqual(c.excludeSubjects, ['a.b']);
  assert.equal(c.detailedMetrics, true);
  assert.equal(c.logLevel, 'warn');
  const flagged = run(['--server', 'z=http://z:1', '--timeout', '9'], env);
  assert.deepEqual(
    flagged.servers.map((s) => s.name),
    ['z'],
  );
  assert.equal(flagged.timeoutSeconds, 9);
});

test('--no-subscription-metrics is accepted and does nothing but warn: leaving the per-subscription series out is the default', () => {
  for (const [argv, env, from] of [
    [['--no-subscription-metrics'], {}, '--no-subscription-metrics'],
    [[], { NQE_NO_SUBSCRIPTION_METRICS: 'true' }, 'NQE_NO_SUBSCRIPTION_METRICS'],
  ] as const) {
    const c = run([...argv], env);
    assert.equal(c.detailedMetrics, false, from);
    assert.equal(c.warnings.length, 1, from);
    assert.match(
      c.warnings[0]!,
      new RegExp(`^${from} has no effect and can be removed: leaving the per-subscription stan_subscription_\\* series out of /metrics is the default now`),
    );
    assert.match(c.warnings[0]!, /--detailed-metrics puts them back on \/metrics/);
  }
  // Whoever set it to false wanted them on /metrics: it says how that is done now.
  const wanted = run([], { NQE_NO_SUBSCRIPTION_METRICS: 'false' });
  assert.equal(wanted.detailedMetrics, false);
  assert.deepEqual(wanted.warnings.length, 1);
  assert.match(
    wanted.warnings[0]!,
    /^NQE_NO_SUBSCRIPTION_METRICS "false" has no effect .* on \/metrics only with --detailed-metrics \(NQE_DETAILED_METRICS=true\)$/,
  );
  // With --detailed-metrics beside it, the detailed families are on /metrics.
  assert.equal(run(['--no-subscription-metrics', '--detailed-metrics']).detailedMetrics, true);
});

test('credentials in the URL become an Authorization header, held as a secret, and leave the URL', () => {
  const config = run(['--server', 'a=https://us%40er:p%3Ass@nats:8222']);
  const node = config.servers[0]!.nodes[0]!;
  const header = `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`;
  assert.equal(node.url, 'https://nats:8222');
  assert.equal(node.authorization?.reveal(), header);
  assert.equal(JSON.stringify(config).includes(header.slice(6)), false, 'JSON of the config holds the credentials');
  assert.match(JSON.stringify(node), /"authorization":"\[redacted\]"/);
});

test('one NAME with several URLs is one logical server whose nodes are named by host:port or NAME/NODE', () => {
  const c = run([
    '--server',
    'prod=http://nats-a:8222',
    '--server',
    'prod=http://nats-b:8222',
    '--server',
    'other/solo=http://nats-c:8222',
    '--server',
    'prod/third=http://nats-d:9000',
  ]);
  assert.deepEqual(
    c.servers.map((s) => [s.name, s.nodes.map((n) => [n.server, n.node, n.url])]),
    [
      [
        'prod',
        [
          ['prod', 'nats-a:8222', 'http://nats-a:8222'],
          ['prod', 'nats-b:8222', 'http://nats-b:8222'],
          ['prod', 'third', 'http://nats-d:9000'],
        ],
      ],
      ['other', [['other', 'solo', 'http://nats-c:8222']]],
    ],
  );
  const fromEnv = run([], { NQE_SERVERS: 'prod=http://a:8222,prod=http://b:8222' });
  assert.deepEqual(
    fromEnv.servers.map((s) => [s.name, s.nodes.map((n) => n.node)]),
    [['prod', ['a:8222', 'b:8222']]],
  );
});

test('a URL given twice, under one NAME or two, or one node name twice, is refused naming both', () => {
  refused(['--server', 'a=http://x:1', '--server', 'a=http://x:1/'], /--server "a=http:\/\/x:1" and --server "a=http:\/\/x:1" name the same monitoring URL/);
  refused(['--server', 'a=http://x:1', '--server', 'b=http://x:1'], /--server "a=http:\/\/x:1" and --server "b=http:\/\/x:1" name the same monitoring URL/);
  refused([], /NQE_SERVERS "a=http:\/\/x:1" and NQE_SERVERS "b=http:\/\/x:1" name the same monitoring URL/, { NQE_SERVERS: 'a=http://x:1,b=http://x:1' });
  refused(
    ['--server', 'a/n=http://x:1', '--server', 'a/n=http://y:1'],
    /server "a" has a node "n" already \(http:\/\/x:1\); name the nodes apart with NAME\/NODE=URL/,
  );
  refused(['--server', 'a/n 1=http://x:1'], /NODE "n 1" may hold only/);
});

test('bad input names the flag or variable and what to write instead', () => {
  refused(['--bogus'], /unknown flag --bogus: see nats-queue-exporter --help/);
  refused(['--timeout'], /--timeout needs a value: write --timeout SECONDS/);
  refused(['http://x:8222'], /unexpected argument http:\/\/x:8222: servers are given as --server NAME=URL/);
  refused(['--server', 'http://x:8222'], /--server "http:\/\/x:8222": missing NAME=; write NAME=http/);
  refused(['--server', 'a=nats://x:4222'], /must start with http:\/\/ or https:\/\/ \(the monitoring port, not nats:\/\/\)/);
  refused(['--server', 'a=not a url'], /"not a url" is not a URL/);
  refused(['--server', 'a=http://x:8222/?x=1'], /without \?query/);
  refused(['--server', 'a b=http://x:8222'], /NAME "a b" may hold only/);
  refused(['--listen', '7778'], /--listen "7778": write HOST:PORT/);
  refused(['--listen', 'h:70000'], /port from 0 to 65535/);
  refused(['--timeout', '0'], /--timeout "0": must be a number from 0.001 to 300, e.g. --timeout 5/);
  refused(['--timeout', 'soon'], /--timeout "soon"/);
  refused(['--page-size', '1.5'], /--page-size "1.5": must be a whole number/);
  refused(['--subjects', 'a..b'], /pattern "a..b" has an empty token/);
  refused(['--subjects', 'a.>.b'], /has ">" before its last token/);
  refused(['--exclude-subjects', 'a.b*'], /"b\*": "\*" and ">" must stand alone/);
  refused(['--log-level', 'loud'], /--log-level "loud": write one of fatal, error, warn, info, debug, trace, silent/);
  refused([], /NQE_TIMEOUT "x": must be a number/, { NQE_TIMEOUT: 'x' });
  refused([], /NQE_NO_SUBSCRIPTION_METRICS "maybe": write true or false/, { NQE_NO_SUBSCRIPTION_METRICS: 'maybe' });
  refused([], /NQE_DETAILED_METRICS "maybe": write true or false/, { NQE_DETAILED_METRICS: 'maybe' });
  refused(['--detailed-metrics=yes'], /--detailed-metrics takes no value: write it alone/);
  refused([], /NQE_SERVERS "oops": missing NAME=/, { NQE_SERVERS: 'oops' });
});

test('a URL with credentials that does not parse is reported without them', () => {
  assert.throws(
    () => parseCli(['--server', 'a=http://user:secret@bad host:1'], {}),
    (err: Error) => {
      assert.doesNotMatch(err.message, /secret/);
      return true;
    },
  );
});

test('--help and --version', () => {
  assert.deepEqual(parseCli(['--help'], {}), { kind: 'help' });
  assert.deepEqual(parseCli(['--version'], {}), { kind: 'version' });
});

test('--nats-url adds a client connection to the server of that NAME, credentials held as secrets', () => {
  const c = run(['--server', 'a=http://x:8222', '--server', 'b=http://y:8222', '--nats-url', 'a=nats://worker:pw@x:4222', '--age-lookups', '5'], {});
  assert.deepEqual(
    c.servers.map((s) => s.natsClient?.url),
    ['nats://x:4222', undefined],
  );
  assert.equal(c.servers[0]!.natsClient?.user, 'worker');
  assert.equal(c.servers[0]!.natsClient?.password?.reveal(), 'pw');
  assert.doesNotMatch(JSON.stringify(c), /"pw"/);
  assert.equal(c.ageLookups, 5);
  assert.deepEqual(run([], { NQE_SERVERS: 'a=http://x:8222', NQE_NATS_URLS: 'a=tls://x:4222' }).servers[0]!.natsClient?.url, 'tls://x:4222');
  refused(['--server', 'a=http://x:8222', '--nats-url', 'b=nats://x:4222'], /--nats-url "b=\.\.\.": there is no --server named "b"/);
  refused(
    ['--server', 'a=http://x:8222', '--nats-url', 'a=http://x:8222'],
    /must start with nats:\/\/ or tls:\/\/ \(the client port, not the monitoring port\)/,
  );
  refused(['--server', 'a=http://x:8222', '--nats-url', 'a=nats://x:1', '--nats-url', 'a=nats://y:1'], /server "a" has a --nats-url already/);
  refused(
    ['--server', 'a=http://x:8222', '--nats-url', 'a=nats://x:1', '--nats-password-file', 'a=/nonexistent/pw'],
    /--nats-password-file \/nonexistent\/pw: cannot read it/,
  );
  refused(['--server', 'a=http://x:8222', '--nats-password-file', 'a=/x'], /there is no --nats-url for a server named "a"/);
  refused(['--server', 'a=http://x:8222', '--nats-ca-file', '/x'], /cannot read it|no --nats-url is given/);
});
