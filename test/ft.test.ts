import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../src/exporter.js';
import { find, scrape, startTestExporter, valueOf } from './helpers/exporter.js';
import { freePort } from './helpers/ports.js';
import { closeStan, connectStan, publishMany } from './helpers/stan-client.js';
import { type StanServer, startStan } from './helpers/stan-server.js';

describe('a fault-tolerant pair on a shared FILE store', () => {
  let dir: string;
  let active: StanServer;
  let standby: StanServer;
  let exporter: RunningExporter;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-ft-'));
    const [routeA, routeB] = [await freePort(), await freePort()];
    const ft = (own: number, peer: number) => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`];
    active = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeA, routeB), waitForStates: ['FT_ACTIVE'] });
    standby = await startStan({ clusterId: 'ftc', store: 'FILE', dir, args: ft(routeB, routeA), waitForStates: ['FT_STANDBY'] });
    const sc = await connectStan(active.natsUrl, 'ftc', 'ft-pub');
    await publishMany(sc, 'ft.orders', 5);
    await closeStan(sc);
    exporter = await startTestExporter(['--server', `a=${active.monitorUrl}`, '--server', `b=${standby.monitorUrl}`]);
  });
  after(async () => {
    await exporter.close();
    await Promise.all([active.stop(), standby.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the standby is up, says FT_STANDBY and lists no channels; the figures come from the active only', async () => {
    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'stan_up', { server: 'a' }), 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'b' }), 1, 'a standby is not an error');
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'a', state: 'FT_ACTIVE' }), 1);
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'b', state: 'FT_STANDBY' }), 1);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'a', subject: 'ft.orders' }), 5);
    assert.deepEqual(find(samples, 'stan_channel_messages', { server: 'b' }), []);
    assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'b', reason: 'invalid_response' }), 0);
  });
});
