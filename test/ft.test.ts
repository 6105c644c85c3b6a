import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../src/exporter.js';
import { eventually, find, scrape, startTestExporter, valueOf } from './helpers/exporter.js';
import { freePort } from './helpers/ports.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from './helpers/stan-client.js';
import { type StanServer, startStan } from './helpers/stan-server.js';

describe('a fault-tolerant pair on a shared FILE store', () => {
  let dir: string;
  let active: StanServer;
  let standby: StanServer;
  let exporter: RunningExporter;
  let sc: Stan;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-ft-'));
    const [routeA, routeB] = [await freePort(), await freePort()];
    const ft = (own: number, peer: number) => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`];
    active = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeA, routeB), waitForStates: ['FT_ACTIVE'] });
    standby = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeB, routeA), waitForStates: ['FT_STANDBY'] });
    // Connected through the standby's NATS port, so that the client outlives the active server.
    // The pair's NATS route forms a moment after the standby starts: retry until it carries the connect.
    sc = await eventually(() => connectStan(standby.natsUrl, 'ftc', 'ft-worker'), 20_000);
    const sub = sc.subscribe('ft.orders', 'workers', sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable().setDurableName('d'));
    sub.on('message', () => undefined);
    await ready(sub);
    await publishMany(sc, 'ft.orders', 5);
    exporter = await startTestExporter(['--server', `a=${active.monitorUrl}`, '--server', `b=${standby.monitorUrl}`]);
  });
  after(async () => {
    if (sc) await closeStan(sc).catch(() => undefined);
    await exporter?.close();
    await Promise.all([active?.stop(), standby?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the standby is up, says FT_STANDBY and lists no channels; the figures come from the active only', async () => {
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_unacked', { server: 'a', subject: 'ft.orders' }), 2);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_pending', { server: 'a', subject: 'ft.orders', group: 'workers', durable: 'd' }), 5);
    assert.deepEqual(find(samples, 'queue_msgs_pending', { server: 'b' }), []);
    assert.equal(valueOf(samples, 'stan_up', { server: 'a' }), 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'b' }), 1, 'a standby is not an error');
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'a', state: 'FT_ACTIVE' }), 1);
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'b', state: 'FT_STANDBY' }), 1);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'a', subject: 'ft.orders' }), 5);
    assert.deepEqual(find(samples, 'stan_channel_messages', { server: 'b' }), []);
    assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'b', reason: 'invalid_response' }), 0);
  });

  test('when the active dies the standby takes over and the figures continue under its name', async () => {
    await active.kill();
    const takeover = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'stan_server_info', { server: 'b', state: 'FT_ACTIVE' }), 1);
      return s;
    }, 30_000);
    // The same durable state, read back from the shared store by the new active server.
    assert.equal(valueOf(takeover, 'queue_msgs_pending', { server: 'b', subject: 'ft.orders', group: 'workers', durable: 'd' }), 5);
    await publishMany(sc, 'ft.orders', 3);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', { server: 'b', subject: 'ft.orders', group: 'workers', durable: 'd' }), 8);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_unacked', { server: 'b', subject: 'ft.orders' }), 2);
    assert.equal(valueOf(samples, 'stan_channel_last_sequence', { server: 'b', subject: 'ft.orders' }), 8);
    assert.equal(valueOf(samples, 'stan_up', { server: 'a' }), 0);
    assert.deepEqual(find(samples, 'queue_msgs_pending', { server: 'a' }), []);
  });
});
