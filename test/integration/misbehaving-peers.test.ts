import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { find, parseSamples, type Sample, valueOf } from '../../harness/exporter.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';
import { type MisbehavingPeer, type Misbehaviour, startMisbehavingPeer } from '../../harness/misbehaving-peer.js';
import { addConsumer, addStream, connectJs, fetchWithoutAck, publish } from '../../harness/jetstream-client.js';
import { startNatsServer } from '../../harness/nats-server.js';
import { closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { startStan } from '../../harness/stan-server.js';

const SERVERZ = '/streaming/serverz';
const STOREZ = '/streaming/storez';
const CHANNELSZ = '/streaming/channelsz';

/**
 * A real server read directly (server "good") and through the peer (server "bad"), with one
 * queue holding messages; `assertFigures` checks that queue's full figures under a server label.
 */
interface Healthy {
  flag: '--server' | '--jetstream';
  up: 'stan_up' | 'jetstream_up';
  monitorUrl: string;
  assertFigures(samples: Sample[], server: string): void;
  stop(): Promise<void>;
}

/** NATS Streaming: queue group "workers" on "orders", 5 published, 2 in flight unacked. */
async function startHealthyStan(clusterId: string): Promise<Healthy> {
  const stan = await startStan({ clusterId });
  const sc = await connectStan(stan.natsUrl, clusterId, 'worker');
  const sub = sc.subscribe('orders', 'workers', sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable());
  sub.on('message', () => undefined);
  await ready(sub);
  await publishMany(sc, 'orders', 5);
  return {
    flag: '--server',
    up: 'stan_up',
    monitorUrl: stan.monitorUrl,
    assertFigures(samples, server) {
      assert.equal(valueOf(samples, 'stan_channel_messages', { server, subject: 'orders' }), 5, server);
      assert.equal(valueOf(samples, 'queue_msgs_pending', { server, subject: 'orders', group: 'workers' }), 5, server);
      assert.equal(valueOf(samples, 'queue_msgs_unacked', { server, subject: 'orders', group: 'workers' }), 2, server);
    },
    async stop() {
      await closeStan(sc);
      await stan.stop();
    },
  };
}

/** JetStream: stream "orders" with 25 messages, durable "billing" holding 5 of them unacked. */
async function startHealthyJetStream(): Promise<Healthy> {
  const nats = await startNatsServer();
  const js = await connectJs(nats.natsUrl);
  await addStream(js.jsm, { name: 'orders', subjects: ['orders'] });
  await publish(js.js, 'orders', 25);
  await addConsumer(js.jsm, 'orders', { durable_name: 'billing', max_ack_pending: 5 });
  await fetchWithoutAck(js.js, 'orders', 'billing', 5);
  return {
    flag: '--jetstream',
    up: 'jetstream_up',
    monitorUrl: nats.monitorUrl,
    assertFigures(samples, server) {
      assert.equal(valueOf(samples, 'queue_msgs_pending', { server, subject: 'orders', group: '', durable: 'billing' }), 25, server);
      assert.equal(valueOf(samples, 'queue_msgs_unacked', { server, subject: 'orders', group: '', durable: 'billing' }), 5, server);
    },
    async stop() {
      await js.close();
      await nats.stop();
    },
  };
}

async function scrape(logged: LoggedExporter): Promise<Sample[]> {
  const res = await fetch(`${logged.exporter.url}/metrics`);
  assert.equal(res.status, 200);
  return parseSamples(await res.text());
}

function errors(samples: Sample[], reason: string): number {
  return valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'bad', reason })!;
}

interface Peers {
  healthy: Healthy;
  peer: MisbehavingPeer;
  logged: LoggedExporter;
  /** The healthy server's full figures: it must not notice its neighbour. */
  assertGoodIntact(samples: Sample[]): void;
  /**
   * One scrape while the peer misbehaves on `path`: the bad server is down with `reason`, its
   * failure in /api/v1/queues and in the log matches `message`, the good one keeps all its figures; then
   * the peer behaves again and the bad server is back with the same figures.
   */
  expectDown(path: string, how: Misbehaviour, reason: string, message: RegExp): Promise<void>;
}

/** Inside a describe: a healthy server, the peer in front of it and an exporter reading both, started before and stopped after its tests. */
function goodAndBad(start: () => Promise<Healthy>, args: string[] = []): Peers {
  const ctx = {
    assertGoodIntact(samples: Sample[]) {
      assert.equal(valueOf(samples, ctx.healthy.up, { server: 'good' }), 1);
      ctx.healthy.assertFigures(samples, 'good');
    },
    async expectDown(path: string, how: Misbehaviour, reason: string, message: RegExp) {
      const before = errors(await scrape(ctx.logged), reason);
      await ctx.peer.misbehave(path, how);
      const started = performance.now();
      const samples = await scrape(ctx.logged);
      assert.ok(performance.now() - started < 3000, 'the scrape ends within the timeout');
      assert.equal(valueOf(samples, ctx.healthy.up, { server: 'bad' }), 0);
      assert.deepEqual(find(samples, 'queue_msgs_pending', { server: 'bad' }), []);
      assert.equal(errors(samples, reason), before + 1);
      ctx.assertGoodIntact(samples);
      const landing = await (await fetch(`${ctx.logged.exporter.url}/api/v1/queues`)).text();
      assert.match(landing, message);
      assert.match(ctx.logged.logs(), message);

      await ctx.peer.misbehave(undefined);
      const back = await scrape(ctx.logged);
      assert.equal(valueOf(back, ctx.healthy.up, { server: 'bad' }), 1);
      ctx.healthy.assertFigures(back, 'bad');
      ctx.assertGoodIntact(back);
    },
  } as Peers;
  before(async () => {
    ctx.healthy = await start();
    ctx.peer = await startMisbehavingPeer(ctx.healthy.monitorUrl);
    ctx.logged = await startLoggedExporter([ctx.healthy.flag, `good=${ctx.healthy.monitorUrl}`, ctx.healthy.flag, `bad=${ctx.peer.url}`, ...args]);
  });
  after(async () => {
    await ctx.logged.exporter.close();
    await ctx.peer.close();
    await ctx.healthy.stop();
  });
  return ctx;
}

describe('a misbehaving monitoring endpoint beside a real nats-streaming-server', () => {
  const ctx = goodAndBad(() => startHealthyStan('peers'), ['--timeout', '1']);

  for (const [path, sizedFor] of [
    [SERVERZ, 'serverz is 64\\.0 KiB'],
    [STOREZ, 'storez is 256\\.0 KiB'],
    [CHANNELSZ, 'a channelsz page of at most 257 channels and 257 subscriptions \\(serverz counted 1 and 1; --page-size 1024\\) is 646\\.5 KiB'],
  ] as const) {
    const capMessage = new RegExp(
      `GET http://127\\.0\\.0\\.1:\\d+${path}[^"]* sent more than its cap and was cut off; the cap for ${sizedFor}: raise it with --answer-cap-factor 2`,
    );

    test(`${path}: a body that never ends is cut off at its cap`, async () => {
      await ctx.expectDown(path, { kind: 'endless' }, 'invalid_response', capMessage);
    });

    test(`${path}: the real answer padded with 8 MiB of spaces is cut off at its cap`, async () => {
      await ctx.expectDown(path, { kind: 'padded', bytes: 8 * 1024 * 1024 }, 'invalid_response', capMessage);
    });

    test(`${path}: an answer that stalls mid-body ends at the timeout`, async () => {
      await ctx.expectDown(path, { kind: 'stall' }, 'timeout', new RegExp(`GET http://127\\.0\\.0\\.1:\\d+${path}[^"]* did not answer within the timeout`));
    });
  }

  test('a valid-looking channelsz page of 40 MB (the real channel repeated) is cut off at its cap', async () => {
    await ctx.expectDown(
      CHANNELSZ,
      { kind: 'oversized', bytes: 40 * 1024 * 1024 },
      'invalid_response',
      /channelsz\?subs=1(&|&#38;)offset=0(&|&#38;)limit=1024 sent more than its cap and was cut off; the cap for a channelsz page .* is 646\.5 KiB: raise it with --answer-cap-factor 2/,
    );
  });

  test('padding well within the cap is still an answer: the caps refuse size, not whitespace', async () => {
    await ctx.peer.misbehave(STOREZ, { kind: 'padded', bytes: 200 * 1024 });
    const samples = await scrape(ctx.logged);
    await ctx.peer.misbehave(undefined);
    assert.equal(valueOf(samples, 'stan_up', { server: 'bad' }), 1);
    ctx.assertGoodIntact(samples);
  });
});

describe('--answer-cap-factor raises the caps', () => {
  const ctx = goodAndBad(() => startHealthyStan('cap-factor'), ['--answer-cap-factor', '4']);

  test('storez padded by 768 KiB passes a cap of 1 MiB, and by 2 MiB does not', async () => {
    await ctx.peer.misbehave(STOREZ, { kind: 'padded', bytes: 768 * 1024 });
    assert.equal(valueOf(await scrape(ctx.logged), 'stan_up', { server: 'bad' }), 1);
    await ctx.peer.misbehave(STOREZ, { kind: 'padded', bytes: 2 * 1024 * 1024 });
    const samples = await scrape(ctx.logged);
    assert.equal(valueOf(samples, 'stan_up', { server: 'bad' }), 0);
    ctx.assertGoodIntact(samples);
    assert.match(ctx.logged.logs(), /the cap for storez is 1\.0 MiB: raise it with --answer-cap-factor 8/);
  });
});

describe('--subjects auto: a misbehaving channelsz?channel= answer', () => {
  const ctx = goodAndBad(() => startHealthyStan('peers-auto'), ['--timeout', '1', '--subjects', 'auto', '--probe-listen', '127.0.0.1:0']);

  before(async () => {
    const res = await fetch(`${ctx.logged.exporter.probeUrl}/v1/pending`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'pod-worker',
        subscriptions: ['good', 'bad'].map((server) => ({ server, subject: 'orders', group: 'workers', durable: '', msgs: 0, bytes: 0 })),
      }),
    });
    assert.equal(res.status, 200);
  });

  for (const how of [{ kind: 'endless' }, { kind: 'padded', bytes: 8 * 1024 * 1024 }] as const) {
    test(`${how.kind}: the channel answer is cut off at its cap, the other server keeps its figures`, async () => {
      await ctx.peer.misbehave(CHANNELSZ, how);
      const samples = await scrape(ctx.logged);
      await ctx.peer.misbehave(undefined);
      assert.equal(valueOf(samples, 'stan_up', { server: 'bad' }), 0);
      ctx.assertGoodIntact(samples);
      assert.match(
        ctx.logged.logs(),
        /channelsz\?channel=orders&subs=1 sent more than its cap and was cut off; the cap for one channel with at most 257 subscriptions \(serverz counted 1\) is 518\.5 KiB: raise it with --answer-cap-factor 2/,
      );
      assert.equal(valueOf(await scrape(ctx.logged), 'stan_up', { server: 'bad' }), 1);
    });
  }
});

describe('a misbehaving monitoring endpoint beside a real nats-server with JetStream', () => {
  const ctx = goodAndBad(startHealthyJetStream, ['--timeout', '1']);

  // /varz is read once per server process: its test comes first, before the exporter knows the node.
  test('/varz: a body that never ends is cut off at its cap', async () => {
    await ctx.peer.misbehave('/varz', { kind: 'endless' });
    const samples = await scrape(ctx.logged);
    await ctx.peer.misbehave(undefined);
    assert.equal(valueOf(samples, 'jetstream_up', { server: 'bad' }), 0);
    ctx.assertGoodIntact(samples);
    assert.match(
      ctx.logged.logs(),
      /GET http:\/\/127\.0\.0\.1:\d+\/varz sent more than its cap and was cut off; the cap for varz is 256\.0 KiB: raise it with --answer-cap-factor 2/,
    );
    const back = await scrape(ctx.logged);
    assert.equal(valueOf(back, 'jetstream_up', { server: 'bad' }), 1);
    ctx.healthy.assertFigures(back, 'bad');
  });

  test('/jsz: a body that never ends, with no counts at its start, is cut off at 64 KiB', async () => {
    await ctx.expectDown(
      '/jsz',
      { kind: 'endless' },
      'invalid_response',
      /\/jsz\?[^"]* sent more than its cap and was cut off; the cap for a \/jsz page whose start gives no stream and consumer counts is 64\.0 KiB: raise it with --answer-cap-factor 2/,
    );
  });

  test('/jsz: the real page padded with 8 MiB of spaces is held to what its own counts allow', async () => {
    await ctx.expectDown(
      '/jsz',
      { kind: 'padded', bytes: 8 * 1024 * 1024 },
      'invalid_response',
      /\/jsz\?[^"]* sent more than its cap and was cut off; the cap for a \/jsz page of at most 257 accounts, 257 streams and 257 consumers \(the page counted 1 and 1; --page-size 1024\) is 2\.0 MiB: raise it with --answer-cap-factor 2/,
    );
  });

  test('/jsz: a page that stalls mid-body ends at the timeout', async () => {
    await ctx.expectDown('/jsz', { kind: 'stall' }, 'timeout', /\/jsz\?[^"]* did not answer within the timeout/);
  });
});

/** Opens a connection and sends a POST /v1/pending head; the body is the caller's to send. */
function openReport(probeUrl: string, head: Record<string, string>): Promise<{ socket: Socket; answer: Promise<string> }> {
  const { hostname, port } = new URL(probeUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = Object.entries({ host: 'x', 'content-type': 'application/json', ...head })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST /v1/pending HTTP/1.1\r\n${lines}\r\n`);
      const answer = new Promise<string>((done) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\r\n\r\n')) done(text);
        });
        socket.on('close', () => done(text));
        socket.on('error', () => undefined);
      });
      resolve({ socket, answer });
    });
    socket.once('error', reject);
  });
}

function report(id: string, server = 'good'): string {
  return JSON.stringify({ client_id: id, subscriptions: [{ server, subject: 'orders', group: 'workers', durable: '', msgs: 1, bytes: 10 }] });
}

describe('workers that send more than the probe memory bound', () => {
  let healthy: Healthy;
  let logged: LoggedExporter;
  let probeUrl: string;

  before(async () => {
    healthy = await startHealthyStan('probe-bound');
    logged = await startLoggedExporter([
      '--server',
      `good=${healthy.monitorUrl}`,
      '--probe-listen',
      '127.0.0.1:0',
      '--probe-max-bytes',
      String(8 * 1024 * 1024),
    ]);
    probeUrl = logged.exporter.probeUrl!;
  });
  after(async () => {
    await logged.exporter.close();
    await healthy.stop();
  });

  function assertServerIntact(samples: Sample[]): void {
    assert.equal(valueOf(samples, 'stan_up', { server: 'good' }), 1);
    healthy.assertFigures(samples, 'good');
  }

  test('a second 1 MiB body while one is being read gets 429 before a byte of it is read; small reports still fit; the room comes back when the first hangs up', async () => {
    const first = await openReport(probeUrl, { 'content-length': String(1024 * 1024) });
    first.socket.write('{"client_id": "slow", ');
    const second = await openReport(probeUrl, { 'content-length': String(1024 * 1024) });
    const refused = await second.answer;
    assert.match(refused, /^HTTP\/1\.1 429 /);
    assert.match(refused, /retry-after: 1/i);
    second.socket.destroy();

    const small = await fetch(`${probeUrl}/v1/pending`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: report('small') });
    assert.equal(small.status, 200);

    first.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const big = await openReport(probeUrl, { 'content-length': String(1024 * 1024) });
    big.socket.write(report('big').padEnd(1024 * 1024, ' '));
    assert.match(await big.answer, /^HTTP\/1\.1 200 /);
    big.socket.destroy();

    const samples = await scrape(logged);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'memory_bound' }), 1);
    assert.equal(valueOf(samples, 'queue_client_reports', { server: 'good', subject: 'orders', group: 'workers' }), 2);
    assertServerIntact(samples);
  });

  test('streamed bodies without a length are refused as the next part would pass the bound, and the exporter keeps answering', async () => {
    const before = valueOf(await scrape(logged), 'nats_queue_exporter_probe_reports_total', { result: 'memory_bound' })!;
    const part = Buffer.alloc(256 * 1024, 0x20);
    const streams = await Promise.all(Array.from({ length: 8 }, () => openReport(probeUrl, { 'transfer-encoding': 'chunked' })));
    // 8 streams of up to 1 MiB each cost 40 MiB to parse: far over the bound of 8 MiB.
    for (let round = 0; round < 4; round++) {
      for (const s of streams) if (!s.socket.destroyed) s.socket.write(`${part.length.toString(16)}\r\n${part.toString()}\r\n`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const answers = await Promise.all(streams.map((s) => Promise.race([s.answer, new Promise<string>((r) => setTimeout(() => r('no answer yet'), 500))])));
    const refusals = answers.filter((a) => /^HTTP\/1\.1 429 /.test(a)).length;
    assert.ok(refusals >= 4, `${refusals} of 8 streams refused with 429: ${answers.map((a) => a.split('\r\n')[0]).join(' | ')}`);
    for (const s of streams) s.socket.destroy();

    // Every refusal is counted, once: those seen above, and any whose answer came after the wait.
    const samples = await scrape(logged);
    const counted = valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'memory_bound' })! - before;
    assert.ok(
      counted >= refusals && counted <= streams.length,
      `${counted} counted as memory_bound; ${refusals} 429s seen within 500 ms, of ${streams.length} streams`,
    );
    assertServerIntact(samples);
    await new Promise((r) => setTimeout(r, 100));
    const after = await fetch(`${probeUrl}/v1/pending`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: report('after') });
    assert.equal(after.status, 200, 'every refused or dropped body gave its room back');
  });
});
