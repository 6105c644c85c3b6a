import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { startMonitorProxy, type MonitorProxy } from '../../harness/monitor-proxy.js';
import { closeStan, connectStan, publishMany } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

async function exporterFor(args: string[]): Promise<RunningExporter> {
  const e = await startTestExporter(args);
  cleanup.push(() => e.close());
  return e;
}

async function server(opts: Parameters<typeof startStan>[0] = {}): Promise<StanServer> {
  const s = await startStan(opts);
  cleanup.push(() => s.stop());
  return s;
}

test('a server killed in the middle of a scrape is down at once and back with full figures after its restart', async () => {
  let stan = await server({ clusterId: 'mid' });
  const proxy: MonitorProxy = await startMonitorProxy(stan.monitorUrl, { delayMs: 300 });
  cleanup.push(() => proxy.close());
  const exporter = await exporterFor(['--server', `mid=${proxy.url}`]);
  const sc = await connectStan(stan.natsUrl, 'mid', 'pub');
  await publishMany(sc, 'mid.orders', 4);
  await closeStan(sc);
  assert.equal(valueOf(await scrape(exporter), 'stan_channel_messages', { subject: 'mid.orders' }), 4);

  const inflight = scrape(exporter);
  await new Promise((r) => setTimeout(r, 100));
  const { natsPort, monitorPort } = stan;
  await stan.kill();
  const during = await inflight;
  assert.equal(valueOf(during, 'stan_up', { server: 'mid' }), 0);
  assert.deepEqual(find(during, 'stan_channel_messages', { server: 'mid' }), []);
  assert.equal(valueOf(during, 'nats_queue_exporter_scrape_errors_total', { server: 'mid', reason: 'connect' }), 1);

  stan = await server({ clusterId: 'mid', natsPort, monitorPort });
  const again = await connectStan(stan.natsUrl, 'mid', 'pub');
  await publishMany(again, 'mid.orders', 2);
  await closeStan(again);
  const back = await scrape(exporter);
  assert.equal(valueOf(back, 'stan_up', { server: 'mid' }), 1);
  assert.equal(valueOf(back, 'stan_channel_messages', { subject: 'mid.orders' }), 2);
});

test('channels the server deletes for inactivity vanish from the output', async () => {
  const stan = await server({ clusterId: 'inactive', args: ['-mi', '1s'] });
  const exporter = await exporterFor(['--server', `gc=${stan.monitorUrl}`]);
  const sc = await connectStan(stan.natsUrl, 'inactive', 'pub');
  await publishMany(sc, 'short.lived', 2);
  await closeStan(sc);
  assert.equal(valueOf(await scrape(exporter), 'stan_channel_messages', { subject: 'short.lived' }), 2);
  await eventually(async () => {
    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'stan_server_channels', { server: 'gc' }), 0);
    assert.deepEqual(
      samples.filter((s) => s.labels['subject'] === 'short.lived'),
      [],
    );
  }, 15_000);
});
