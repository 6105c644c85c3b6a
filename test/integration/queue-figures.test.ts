import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { type Message, type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

describe('queue figures against a real nats-streaming-server', () => {
  let server: StanServer;
  let exporter: RunningExporter;
  const clients: Stan[] = [];

  before(async () => {
    server = await startStan({ clusterId: 'figures' });
    // --detailed-metrics: the per-subscription series beside the queue series, in one answer.
    exporter = await startTestExporter(['--detailed-metrics', '--server', `main=${server.monitorUrl}`]);
  });
  after(async () => {
    for (const c of clients) await closeStan(c).catch(() => undefined);
    await exporter.close();
    await server.stop();
  });

  async function client(id: string): Promise<Stan> {
    const sc = await connectStan(server.natsUrl, server.clusterId, id);
    clients.push(sc);
    return sc;
  }

  test('two manual-ack members with max in-flight 3 that never ack: 6 unacked, 14 undelivered, 20 pending', async () => {
    const received: Message[][] = [[], []];
    const members = [await client('member-a'), await client('member-b')];
    for (const [i, sc] of members.entries()) {
      const opts = sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(3).setDeliverAllAvailable();
      const sub = sc.subscribe('orders', 'workers', opts);
      sub.on('message', (m: Message) => received[i]!.push(m));
      await ready(sub);
    }
    await publishMany(await client('publisher'), 'orders', 20);
    const labels = { server: 'main', subject: 'orders', group: 'workers', durable: '' };
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_unacked', labels), 6);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_undelivered', labels), 14);
    assert.equal(valueOf(samples, 'queue_msgs_pending', labels), 20);
    assert.equal(valueOf(samples, 'queue_consumers', labels), 2);
    assert.equal(valueOf(samples, 'queue_consumers_stalled', labels), 2);
    assert.equal(valueOf(samples, 'queue_max_inflight', labels), 6);
    assert.equal(valueOf(samples, 'queue_offline', labels), 0);
    assert.equal(valueOf(samples, 'queue_last_sent_sequence', labels), 6);
    assert.equal(valueOf(samples, 'stan_channel_last_sequence', { server: 'main', subject: 'orders' }), 20);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'main', subject: 'orders' }), 20);
    const perSub = find(samples, 'stan_subscription_unacked_messages', { subject: 'orders' });
    assert.deepEqual(perSub.map((s) => [s.labels['client_id'], s.value]).sort(), [
      ['member-a', 3],
      ['member-b', 3],
    ]);

    // One member acks what it holds: the server refills its window, the backlog shrinks by 3.
    for (const m of received[0]!) m.ack();
    const afterAck = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', labels), 17);
      return s;
    });
    assert.equal(valueOf(afterAck, 'queue_msgs_unacked', labels), 6);
    assert.equal(valueOf(afterAck, 'queue_msgs_undelivered', labels), 11);
    assert.equal(valueOf(afterAck, 'queue_last_sent_sequence', labels), 9);
  });

  test('a durable queue group whose members all left keeps its backlog while publishing goes on', async () => {
    const sc = await client('durable-member');
    const opts = sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable().setDurableName('billing');
    const sub = sc.subscribe('invoices', 'pay:eu:west', opts);
    sub.on('message', () => undefined);
    await ready(sub);
    const publisher = await client('invoice-publisher');
    await publishMany(publisher, 'invoices', 5);
    const labels = { server: 'main', subject: 'invoices', group: 'pay:eu:west', durable: 'billing' };
    await eventually(async () => assert.equal(valueOf(await scrape(exporter), 'queue_msgs_unacked', labels), 2));
    // close() leaves a durable queue group in place with no member.
    await new Promise<void>((resolve) => {
      sub.once('closed', () => resolve());
      sub.close();
    });
    await publishMany(publisher, 'invoices', 7);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_offline', labels), 1);
      assert.equal(valueOf(s, 'stan_channel_last_sequence', { subject: 'invoices' }), 12);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_consumers', labels), 0);
    assert.equal(valueOf(samples, 'queue_msgs_unacked', labels), 2);
    assert.equal(valueOf(samples, 'queue_msgs_undelivered', labels), 10);
    assert.equal(valueOf(samples, 'queue_msgs_pending', labels), 12);
    assert.equal(valueOf(samples, 'stan_subscription_offline', { subject: 'invoices', client_id: 'durable-member' }), 1);
  });

  test('a durable subscription gives group "" and its durable name; plain subscriptions give no queue series', async () => {
    const sc = await client('solo-client');
    const durable = sc.subscribe('audit', sc.subscriptionOptions().setDurableName('auditor').setManualAckMode(true).setMaxInFlight(1).setDeliverAllAvailable());
    durable.on('message', () => undefined);
    await ready(durable);
    const plainA = sc.subscribe('audit');
    const plainB = sc.subscribe('audit');
    plainA.on('message', () => undefined);
    plainB.on('message', () => undefined);
    await Promise.all([ready(plainA), ready(plainB)]);
    await publishMany(sc, 'audit', 4);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', { subject: 'audit', group: '', durable: 'auditor' }), 4);
      return s;
    });
    assert.equal(find(samples, 'queue_msgs_pending', { subject: 'audit' }).length, 1);
    // Two plain subscriptions of one client on one channel: told apart by sub_index, never collide.
    const plain = find(samples, 'stan_subscription_last_sent_sequence', { subject: 'audit', durable: '', client_id: 'solo-client' });
    assert.deepEqual(plain.map((s) => s.labels['sub_index']).sort(), ['0', '1']);
    assert.deepEqual(
      plain.map((s) => s.value),
      [4, 4],
    );
  });
});
