import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { freePort } from '../../harness/ports.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

describe('a fault-tolerant pair on a shared FILE store', () => {
  let dir: string;
  let active: StanServer;
  let standby: StanServer;
  let exporter: RunningExporter;
  let sc: Stan;
  let ftArgs: { a: string[]; b: string[] };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-ft-'));
    const [routeA, routeB] = [await freePort(), await freePort()];
    const ft = (own: number, peer: number) => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`];
    ftArgs = { a: ft(routeA, routeB), b: ft(routeB, routeA) };
    active = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ftArgs.a, waitForStates: ['FT_ACTIVE'] });
    standby = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ftArgs.b, waitForStates: ['FT_STANDBY'] });
    // Connected through the standby's NATS port, so that the client outlives the active server.
    // The pair's NATS route forms a moment after the standby starts: retry until it carries the connect.
    sc = await eventually(() => connectStan(standby.natsUrl, 'ftc', 'ft-worker'), 20_000);
    const sub = sc.subscribe(
      'ft.orders',
      'workers',
      sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable().setDurableName('d'),
    );
    sub.on('message', () => undefined);
    await ready(sub);
    await publishMany(sc, 'ft.orders', 5);
    // --detailed-metrics: the subscription series too keep their labels through a takeover.
    exporter = await startTestExporter(['--detailed-metrics', '--server', `ft/a=${active.monitorUrl}`, '--server', `ft/b=${standby.monitorUrl}`]);
  });
  after(async () => {
    if (sc) await closeStan(sc).catch(() => undefined);
    await exporter?.close();
    await Promise.all([active?.stop(), standby?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const queue = { server: 'ft', subject: 'ft.orders', group: 'workers', durable: 'd' };
  /** Every queue, channel and subscription series of the pair: name and full label set. */
  const queueSeries = (samples: Sample[]) =>
    samples
      .filter((x) => /^(queue_msgs|queue_last|queue_consumers|queue_max|queue_offline|stan_channel_|stan_subscription_)/.test(x.name))
      .map((x) => `${x.name}${JSON.stringify(x.labels)}`)
      .sort();
  let seriesBefore: string[];

  test('one NAME for the pair: the figures come from the active, the standby is up and says FT_STANDBY', async () => {
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_unacked', queue), 2);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_pending', queue), 5);
    assert.deepEqual(
      find(samples, 'queue_msgs_pending').map((x) => x.labels),
      [queue],
      'queue series carry server=NAME and no node',
    );
    assert.equal(valueOf(samples, 'stan_up', { server: 'ft', node: 'a' }), 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'ft', node: 'b' }), 1, 'a standby is not an error');
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'ft', node: 'a', state: 'FT_ACTIVE' }), 1);
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'ft', node: 'b', state: 'FT_STANDBY' }), 1);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'ft', subject: 'ft.orders' }), 5);
    assert.equal(valueOf(samples, 'queue_server_owner_up', { server: 'ft' }), 1);
    assert.equal(valueOf(samples, 'queue_server_nodes', { server: 'ft' }), 2);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'ft' }), 2);
    assert.equal(valueOf(samples, 'queue_server_owner_conflict', { server: 'ft' }), 0);
    assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'ft', node: 'b', reason: 'invalid_response' }), 0);
    seriesBefore = queueSeries(samples);
  });

  test("the status page's data names the pair once, with both nodes and the one its queue figures come from", async () => {
    const doc = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as {
      servers: Array<{ name: string; owner: string | null; nodes: Array<{ node: string; up: boolean; state: string; owner: boolean }> }>;
      queues: Array<{ server: string; subject: string; pending: number }>;
    };
    assert.deepEqual(
      doc.servers.map((s) => [s.name, s.owner, s.nodes.map((n) => [n.node, n.up, n.state, n.owner])]),
      [
        [
          'ft',
          'a',
          [
            ['a', true, 'FT_ACTIVE', true],
            ['b', true, 'FT_STANDBY', false],
          ],
        ],
      ],
    );
    assert.deepEqual(
      doc.queues.map((q) => [q.server, q.subject, q.pending]),
      [['ft', 'ft.orders', 5]],
    );
  });

  test('kill -9 of the active: the standby takes over and the same series carry the same values', async () => {
    await active.kill();
    const takeover = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'stan_server_info', { server: 'ft', node: 'b', state: 'FT_ACTIVE' }), 1);
      assert.equal(valueOf(s, 'queue_server_owner_up', { server: 'ft' }), 1);
      return s;
    }, 30_000);
    // The same durable state, read back from the shared store by the new active server.
    assert.equal(valueOf(takeover, 'queue_msgs_pending', queue), 5);
    assert.deepEqual(queueSeries(takeover), seriesBefore, 'a failover changes no label of any queue, channel or subscription series');
    assert.equal(valueOf(takeover, 'stan_up', { server: 'ft', node: 'a' }), 0);
    assert.equal(valueOf(takeover, 'queue_server_nodes_up', { server: 'ft' }), 1);
    await publishMany(sc, 'ft.orders', 3);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', queue), 8);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_unacked', queue), 2);
    assert.equal(valueOf(samples, 'stan_channel_last_sequence', { server: 'ft', subject: 'ft.orders' }), 8);
  });

  test('the killed node, restarted, becomes the standby; the queue series stay as they are', async () => {
    active = await startStan({
      clusterId: 'ftc',
      store: 'FILE',
      dir,
      natsPort: active.natsPort,
      monitorPort: active.monitorPort,
      args: ftArgs.a,
      waitForStates: ['FT_STANDBY'],
    });
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'stan_server_info', { server: 'ft', node: 'a', state: 'FT_STANDBY' }), 1);
      return s;
    }, 20_000);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'ft' }), 2);
    assert.equal(valueOf(samples, 'queue_msgs_pending', queue), 8);
    assert.deepEqual(queueSeries(samples), seriesBefore);
  });
});
