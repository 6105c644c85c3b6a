import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { ProbeMemoryBound } from '../../src/reports/memory-bound.js';
import { InvalidReportError, parseProbeReport } from '../../src/reports/report.js';
import { ProbeStore } from '../../src/reports/store.js';
import type { Backend } from '../../src/targets.js';
import { eventually, find, type Sample, scrape, startTestExporter } from '../../harness/exporter.js';
import { buildGoExample } from '../../harness/go-example.js';
import { addConsumer, addStream, connectJs, type JsClient, publish } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { startWorker, type WorkerProcess } from '../../harness/workers.js';

const SERVERS = new Map<string, Backend>([
  ['js', 'jetstream'],
  ['old', 'stan'],
]);

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { server: 'js', subject: 'orders', group: '', durable: 'billing', msgs: 1, bytes: 10, ...overrides };
}

function parsed(...entries: Array<Record<string, unknown>>) {
  return parseProbeReport({ client_id: 'c', subscriptions: entries }, SERVERS).subscriptions;
}

describe("the report's account field", () => {
  test('an account is kept; absent, "" and the default account $G are the same: none', () => {
    assert.equal(parsed(entry({ account: 'TENANT' }))[0]!.account, 'TENANT');
    for (const given of [{}, { account: '' }, { account: '$G' }]) {
      assert.ok(!('account' in parsed(entry(given))[0]!), JSON.stringify(given));
    }
    assert.ok(!('account' in parsed(entry({ server: 'old', account: '' }))[0]!), '"" on a NATS Streaming entry says none');
  });

  test('a bad account is refused with the field and the fix', () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['a number', { account: 5 }, /^subscriptions\[0\]\.account is 5: write a string \(""/],
      ['null', { account: null }, /^subscriptions\[0\]\.account is null: write a string/],
      ['a control character', { account: 'TEN\nANT' }, /^subscriptions\[0\]\.account "TEN\\nANT" holds a control character/],
      ['too long', { account: 'A'.repeat(1025) }, /^subscriptions\[0\]\.account is 1025 characters long: at most 1024/],
      [
        'on a NATS Streaming server',
        { server: 'old', account: 'TENANT' },
        /^subscriptions\[0\]\.account "TENANT" is given for "old", a NATS Streaming server \(--server\), which has no accounts: leave account out, or name the --jetstream NAME/,
      ],
    ];
    for (const [what, overrides, message] of cases) {
      assert.throws(
        () => parsed(entry(overrides)),
        (err: unknown) => err instanceof InvalidReportError && err.reason === 'invalid' && message.test(err.message),
        what,
      );
    }
    assert.throws(
      () => parsed(entry({ acount: 'TENANT' })),
      /has the unknown field "acount": the fields are server, subject, group, durable, msgs, bytes, dropped, max_inflight, account$/,
    );
  });

  test("the store keeps one queue's entries of two accounts apart and adds up those of one", () => {
    const store = new ProbeStore({ ttlMs: 30_000, maxSeries: 10, memory: new ProbeMemoryBound(1 << 20) });
    const subscriptions = parsed(
      entry({ account: 'TENANT', msgs: 2 }),
      entry({ account: 'TENANT', msgs: 3 }),
      entry({ account: 'OTHER', msgs: 7 }),
      entry({ msgs: 11 }),
    );
    assert.deepEqual(store.accept({ clientId: 'c', subscriptions }, 0), { accepted: true });
    const byAccount = Object.fromEntries(store.pending(1).map((p) => [p.account ?? '(none)', [p.messages, p.reports]]));
    assert.deepEqual(byAccount, { TENANT: [5, 1], OTHER: [7, 1], '(none)': [11, 1] });
  });
});

/**
 * Two JetStream accounts (user names and passwords are the account's in lower case); "narrow"
 * is a TENANT user that may use JetStream but not ask which account it is in.
 */
const ACCOUNTS = `accounts {
  TENANT: { jetstream: enabled, users: [
    { user: tenant, password: tenant },
    { user: narrow, password: narrow, permissions: { publish: { allow: ["$JS.API.>", "$JS.ACK.>"] } } }
  ] }
  OTHER: { jetstream: enabled, users: [{ user: other, password: other }] }
}
`;

const JETSTREAM_WORKER = fileURLToPath(new URL('../../harness/workers/jetstream-worker.js', import.meta.url));
const INTERVAL_MS = 300;

describe("queues of two JetStream accounts: Node and Go probes report them with the account label the server's series have", () => {
  let buildDir: string;
  let goBinary: string;
  let server: NatsServer;
  const clients: JsClient[] = [];
  let exporter: RunningExporter;
  const workers: WorkerProcess[] = [];

  before(
    async () => {
      ({ buildDir, binary: goBinary } = buildGoExample());
      server = await startNatsServer({ config: ACCOUNTS });
      exporter = await startTestExporter(['--jetstream', `js=${server.monitorUrl}`, '--probe-ttl', '5']);
    },
    { timeout: 320_000 },
  );
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await Promise.all(clients.map((c) => c.close()));
    await exporter?.close();
    await server?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  /** A stream of `count` messages with a durable pull consumer, made by `user`. */
  async function queue(user: string, stream: string, count: number): Promise<void> {
    const client = await connectJs(server.natsUrl, { user, pass: user });
    clients.push(client);
    await addStream(client.jsm, { name: stream, subjects: [stream] });
    await addConsumer(client.jsm, stream, { durable_name: 'billing', max_ack_pending: 4 });
    await publish(client.js, stream, count);
  }

  function nodeWorker(user: string, stream: string, settings: Record<string, string> = {}): WorkerProcess {
    const w = startWorker(process.execPath, [JETSTREAM_WORKER], {
      WORKER_NATS_URL: server.natsUrl,
      WORKER_NATS_USER: user,
      WORKER_SERVER: 'js',
      WORKER_PROBE_URL: exporter.probeUrl!,
      WORKER_INTERVAL_MS: String(INTERVAL_MS),
      WORKER_CLIENT_ID: `node-${user}-${stream}`,
      WORKER_STREAM: stream,
      WORKER_CONSUMER: 'billing',
      WORKER_MODE: 'consume',
      ...settings,
    });
    workers.push(w);
    return w;
  }

  /** The label set of the one sample of `name` on `subject`. */
  function labelsOf(samples: Sample[], name: string, subject: string): Record<string, string> {
    const found = find(samples, name, { subject });
    assert.equal(found.length, 1, `one ${name} on ${subject}: ${JSON.stringify(found)}`);
    return found[0]!.labels;
  }

  test('the account the connection is in (Node in TENANT, Go in OTHER, one stream name in both): client and server series of each queue have one label set', async () => {
    await queue('tenant', 'orders', 6);
    await queue('other', 'orders', 6);
    const node = nodeWorker('tenant', 'orders');
    await node.waitFor((e) => e['ready'] === true);
    const go = startWorker(
      goBinary,
      [
        '-jetstream',
        '-nats',
        server.natsUrl.replace('nats://', 'nats://other:other@'),
        '-subject',
        'orders',
        '-durable',
        'billing',
        '-server',
        'js',
        '-client-id',
        'go-other',
        '-sidecar',
        exporter.probeUrl!,
        '-interval',
        `${INTERVAL_MS}ms`,
        '-work',
        '30s',
      ],
      {},
    );
    workers.push(go);
    await go.waitFor((e) => typeof e['text'] === 'string' && e['text'].includes('subscribed to stream orders'));

    const tenant = { server: 'js', account: 'TENANT', subject: 'orders', group: '', durable: 'billing' };
    const other = { ...tenant, account: 'OTHER' };
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      const value = (name: string, labels: Record<string, string>) => find(s, name, labels).map((x) => x.value);
      // Node counts the message in its handler and the 3 the library buffers; Go only the one in its handler.
      assert.deepEqual([value('queue_client_msgs_pending', tenant), value('queue_msgs_unacked', tenant)], [[4], [4]]);
      assert.deepEqual([value('queue_client_msgs_pending', other), value('queue_msgs_unacked', other)], [[1], [4]]);
      return s;
    });
    const labelSets = (name: string) =>
      find(samples, name)
        .map((x) => JSON.stringify(x.labels))
        .sort();
    const [clientSide, serverSide] = [labelSets('queue_client_msgs_pending'), labelSets('queue_msgs_unacked')];
    assert.deepEqual(clientSide, serverSide, 'the same label sets on both sides, nothing else');
    assert.equal(find(samples, 'queue_client_msgs_pending', { subject: 'orders' }).length, 2);
    assert.ok(!node.events.some((e) => 'reportError' in e), JSON.stringify(node.events));
    // The status page pairs them the same way.
    const { queues } = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as {
      queues: Array<{ account: string | null; subject: string; clientPending: number | null }>;
    };
    assert.deepEqual(
      queues
        .filter((q) => q.subject === 'orders')
        .map((q) => [q.account, q.clientPending])
        .sort(),
      [
        ['OTHER', 1],
        ['TENANT', 4],
      ],
    );
  });

  test('--subjects auto keeps a reported queue of the account reported only; a report without one keeps it in every account', async () => {
    const sidecar = await startTestExporter(['--jetstream', `js=${server.monitorUrl}`, '--subjects', 'auto']);
    try {
      const report = async (subscriptions: Array<Record<string, unknown>>) => {
        const res = await fetch(`${sidecar.probeUrl!}/v1/pending`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ client_id: 'pod', subscriptions }),
        });
        assert.equal(res.status, 200, await res.text());
      };
      const accountsOf = async () =>
        find(await scrape(sidecar), 'queue_msgs_pending', { subject: 'orders' })
          .map((x) => x.labels['account'])
          .sort();
      await report([entry({ account: 'TENANT' })]);
      assert.deepEqual(await accountsOf(), ['TENANT']);
      await report([entry()]);
      assert.deepEqual(await accountsOf(), ['OTHER', 'TENANT']);
    } finally {
      await sidecar.close();
    }
  });

  test('a user that may not ask: jetstream(consumer, { account }) names it; without, onError says why and the fix, and the series has no account', async () => {
    await queue('tenant', 'refunds', 2);
    await queue('tenant', 'returns', 2);
    const told = nodeWorker('narrow', 'refunds', { WORKER_ACCOUNT: 'TENANT' });
    const unsure = nodeWorker('narrow', 'returns');
    await told.waitFor((e) => e['ready'] === true);
    const why = await unsure.waitFor((e) => 'reportError' in e);
    assert.match(
      String(why['reportError']),
      /^watchPending: the connection did not say which JetStream account its user is in \(.*Permissions Violation.*\$SYS\.REQ\.USER\.INFO.*\), so its queues are reported without an account label: let the user publish to \$SYS\.REQ\.USER\.INFO, or pass jetstream\(consumer, \{ account: "NAME" \}\)$/,
    );
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(find(s, 'queue_client_msgs_pending', { subject: 'returns' })[0]?.value, 2);
      assert.equal(find(s, 'queue_client_msgs_pending', { subject: 'refunds' })[0]?.value, 2);
      return s;
    });
    assert.deepEqual(labelsOf(samples, 'queue_client_msgs_pending', 'refunds'), labelsOf(samples, 'queue_msgs_unacked', 'refunds'));
    assert.deepEqual(labelsOf(samples, 'queue_client_msgs_pending', 'returns'), { server: 'js', subject: 'returns', group: '', durable: 'billing' });
    assert.equal(labelsOf(samples, 'queue_msgs_unacked', 'returns')['account'], 'TENANT');
  });
});
