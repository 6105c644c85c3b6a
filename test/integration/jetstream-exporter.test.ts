import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, fetchWithoutAck, type JsClient, moveLeader, publish, stepDownConsumer } from '../../harness/jetstream-client.js';
import { jetstreamAccountsConfig, type NatsCluster, type NatsServer, startNatsCluster, startNatsServer } from '../../harness/nats-server.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

describe('one exporter with a NATS Streaming server and its JetStream twin', () => {
  let stan: StanServer;
  let sc: Stan;
  let nats: NatsServer;
  let js: JsClient;
  let exporter: RunningExporter;

  before(async () => {
    stan = await startStan({ clusterId: 'twin' });
    sc = await connectStan(stan.natsUrl, stan.clusterId, 'old-worker');
    await publishMany(sc, 'orders', 25);
    // The queue before migration: durable "billing", 5 messages received and never acked.
    const sub = sc.subscribe('orders', sc.subscriptionOptions().setDurableName('billing').setManualAckMode(true).setMaxInFlight(5).setDeliverAllAvailable());
    sub.on('message', () => undefined);
    await ready(sub);

    nats = await startNatsServer();
    js = await connectJs(nats.natsUrl);
    // Its twin as stan2js makes it: a stream named after the channel, a consumer named after the durable.
    await addStream(js.jsm, { name: 'orders', subjects: ['orders'] });
    await publish(js.js, 'orders', 25);
    await addConsumer(js.jsm, 'orders', { durable_name: 'billing', max_ack_pending: 5 });
    await fetchWithoutAck(js.js, 'orders', 'billing', 5);
    exporter = await startTestExporter(['--server', `old=${stan.monitorUrl}`, '--jetstream', `new=${nats.monitorUrl}`]);
  });
  after(async () => {
    await exporter?.close();
    await js?.close();
    await nats?.stop();
    if (sc) await closeStan(sc);
    await stan?.stop();
  });

  test("the status page's data shows both servers by backend and the queue and its twin with the same figures", async () => {
    const doc = await eventually(async () => {
      const d = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as {
        servers: Array<{ name: string; backend: string; nodes: Array<{ up: boolean; state: string; channels: number }> }>;
        queues: Array<{ server: string; subject: string; durable: string; pending: number; unacked: number }>;
      };
      assert.equal(d.queues.find((q) => q.server === 'old')?.unacked, 5);
      return d;
    });
    assert.deepEqual(
      doc.servers.map((s) => [s.name, s.backend, s.nodes.map((n) => [n.up, n.state, n.channels])]),
      [
        ['old', 'stan', [[true, 'STANDALONE', 1]]],
        ['new', 'jetstream', [[true, 'standalone', 1]]],
      ],
    );
    assert.deepEqual(doc.queues.map((q) => [q.server, q.subject, q.durable, q.pending, q.unacked]).sort(), [
      ['new', 'orders', 'billing', 25, 5],
      ['old', 'orders', 'billing', 25, 5],
    ]);
  });

  test('the old queue and its twin carry the same labels but server, and the same figures', async () => {
    const queue = { subject: 'orders', group: '', durable: 'billing' };
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_unacked', { server: 'old', ...queue }), 5);
      return s;
    });
    for (const server of ['old', 'new']) {
      assert.equal(valueOf(samples, 'queue_msgs_pending', { server, ...queue }), 25, server);
      assert.equal(valueOf(samples, 'queue_msgs_undelivered', { server, ...queue }), 20, server);
      assert.equal(valueOf(samples, 'queue_msgs_unacked', { server, ...queue }), 5, server);
      assert.equal(valueOf(samples, 'queue_last_sent_sequence', { server, ...queue }), 5, server);
      assert.equal(valueOf(samples, 'queue_max_inflight', { server, ...queue }), 5, server);
      assert.equal(valueOf(samples, 'queue_consumers_stalled', { server, ...queue }), 1, `${server}: 5 unacked of 5 in flight`);
      assert.equal(valueOf(samples, 'queue_offline', { server, ...queue }), 0, server);
      assert.equal(valueOf(samples, 'queue_server_owner_up', { server }), 1, server);
    }
    const twin = find(samples, 'queue_msgs_pending', { server: 'new' })[0]!;
    assert.deepEqual(Object.keys(twin.labels).sort(), ['durable', 'group', 'server', 'subject'], 'no account label in the default account');
    // Detailed families: on /metrics/detailed, not on /metrics.
    const detailed = await scrape(exporter, '/metrics/detailed');
    assert.equal(valueOf(samples, 'queue_msgs_redelivered', { server: 'new', ...queue }), undefined);
    assert.equal(valueOf(detailed, 'queue_msgs_redelivered', { server: 'new', ...queue }), 0);
    assert.equal(valueOf(detailed, 'queue_msgs_redelivered', { server: 'old', ...queue }), undefined, 'NATS Streaming does not count redeliveries');

    assert.equal(valueOf(samples, 'stan_up', { server: 'old' }), 1);
    assert.equal(valueOf(samples, 'jetstream_up', { server: 'new' }), 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'new' }), undefined);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'old', subject: 'orders' }), 25);
    assert.equal(valueOf(samples, 'jetstream_stream_last_sequence', { server: 'new', subject: 'orders' }), 25);
    assert.equal(valueOf(samples, 'jetstream_stream_last_sequence', { server: 'old' }), undefined);
    assert.equal(valueOf(detailed, 'jetstream_stream_messages', { server: 'new', subject: 'orders' }), 25);
    assert.equal(valueOf(detailed, 'jetstream_stream_messages', { server: 'old' }), undefined);
    assert.equal(valueOf(samples, 'jetstream_server_streams', { server: 'new' }), 1);
    assert.equal(find(samples, 'jetstream_server_info', { server: 'new', version: '2.12.15' }).length, 1);
    assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'new', reason: 'invalid_response' }), 0);
  });
});

describe('a 3-node JetStream cluster configured as one NAME', () => {
  let cluster: NatsCluster;
  let js: JsClient;
  let exporter: RunningExporter;

  before(async () => {
    cluster = await startNatsCluster();
    js = await connectJs(cluster.nodes.map((n) => n.natsUrl));
    await addStream(js.jsm, { name: 'cjobs', subjects: ['cjobs'], num_replicas: 3 });
    await publish(js.js, 'cjobs', 12);
    await addConsumer(js.jsm, 'cjobs', { durable_name: 'cpull' });
    await fetchWithoutAck(js.js, 'cjobs', 'cpull', 4);
    exporter = await startTestExporter(cluster.nodes.flatMap((n) => ['--jetstream', `prod/${n.name}=${n.monitorUrl}`]));
  });
  after(async () => {
    await exporter?.close();
    await js?.close();
    await cluster?.stop();
  });

  const queue = { server: 'prod', subject: 'cjobs', group: '', durable: 'cpull' };
  const countedOnce = async () =>
    eventually(async () => {
      const samples = await scrape(exporter);
      assert.deepEqual(
        find(samples, 'queue_msgs_undelivered', queue).map((s) => s.value),
        [8],
        "one series, the leader's num_pending",
      );
      assert.deepEqual(
        find(samples, 'queue_msgs_unacked', queue).map((s) => s.value),
        [4],
      );
      assert.deepEqual(
        find(samples, 'jetstream_stream_last_sequence', { server: 'prod', subject: 'cjobs' }).map((s) => s.value),
        [12],
      );
      return samples;
    });

  test('one series per consumer, with the same value through a consumer leader step-down', async () => {
    const samples = await countedOnce();
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'prod' }), 3);
    assert.deepEqual(
      find(samples, 'jetstream_up', { server: 'prod' })
        .map((s) => s.labels['node'])
        .sort(),
      ['n1', 'n2', 'n3'],
    );
    assert.equal(
      find(samples, 'jetstream_server_meta_leader', { server: 'prod' }).reduce((sum, s) => sum + s.value, 0),
      1,
    );
    const leader = async () => (await js.jsm.consumers.info('cjobs', 'cpull')).cluster?.leader;
    const first = (await leader())!;
    await moveLeader(
      leader,
      () => stepDownConsumer(js.nc, 'cjobs', 'cpull'),
      (n) => n !== first,
    );
    await countedOnce();
  });
});

test('streams of an account other than the default carry account on queue and stream series', async () => {
  const server = await startNatsServer({ config: jetstreamAccountsConfig(['TEAM_A']) });
  const c = await connectJs(server.natsUrl, { user: 'team_a', pass: 'team_a' });
  const exporter = await startTestExporter(['--jetstream', `acc=${server.monitorUrl}`]);
  try {
    await addStream(c.jsm, { name: 'orders', subjects: ['orders'] });
    await publish(c.js, 'orders', 2);
    await addConsumer(c.jsm, 'orders', { durable_name: 'billing' });
    const samples = await scrape(exporter);
    assert.deepEqual(
      find(samples, 'queue_msgs_undelivered', { server: 'acc' }).map((s) => [s.labels, s.value]),
      [[{ server: 'acc', account: 'TEAM_A', subject: 'orders', group: '', durable: 'billing' }, 2]],
    );
    assert.equal(valueOf(samples, 'jetstream_stream_last_sequence', { server: 'acc', account: 'TEAM_A', subject: 'orders' }), 2);
    assert.equal(valueOf(await scrape(exporter, '/metrics/detailed'), 'jetstream_stream_messages', { server: 'acc', account: 'TEAM_A', subject: 'orders' }), 2);
  } finally {
    await exporter.close();
    await c.close();
    await server.stop();
  }
});
