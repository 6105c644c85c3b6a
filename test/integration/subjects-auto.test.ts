import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { find, scrape, startTestExporter, eventually, valueOf } from '../../harness/exporter.js';
import { type MonitorProxy, startMonitorProxy } from '../../harness/monitor-proxy.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { NODE_WORKER, type WorkerProcess, startWorker } from '../../harness/workers.js';

describe("--subjects auto: a sidecar reads only the channels its pod's probes report", () => {
  let server: StanServer;
  let proxy: MonitorProxy;
  let exporter: RunningExporter;
  let other: Stan;
  let worker: WorkerProcess;

  before(async () => {
    server = await startStan({ clusterId: 'auto' });
    proxy = await startMonitorProxy(server.monitorUrl);
    exporter = await startTestExporter(['--server', `main=${proxy.url}`, '--subjects', 'auto']);
    // Three channels with consumers; another deployment's queue group also reads "orders".
    other = await connectStan(server.natsUrl, server.clusterId, 'other-pod');
    for (const [subject, group] of [
      ['orders', 'auditors'],
      ['jobs', 'crunchers'],
      ['audit', 'archivers'],
    ] as const) {
      const s = other.subscribe(subject, group, other.subscriptionOptions().setManualAckMode(true).setMaxInFlight(1).setDeliverAllAvailable());
      s.on('message', () => undefined);
      await ready(s);
      await publishMany(other, subject, 3);
    }
  });
  after(async () => {
    await worker?.kill();
    await closeStan(other).catch(() => undefined);
    await exporter.close();
    await proxy.close();
    await server.stop();
  });

  function channelRequests(): string[] {
    return proxy.requests.filter((url) => url.startsWith('/streaming/channelsz'));
  }

  test('before any probe reports, a scrape reads serverz and storez and no channel', async () => {
    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'stan_up', { server: 'main' }), 1);
    assert.equal(valueOf(samples, 'stan_server_channels', { server: 'main' }), 3);
    assert.deepEqual(find(samples, 'stan_channel_last_sequence'), []);
    assert.deepEqual(channelRequests(), []);
    assert.equal(proxy.counts.get('/streaming/serverz'), 1);
    assert.equal(proxy.counts.get('/streaming/storez'), 1);
  });

  test('the pod\'s worker reports "orders": only that channel and its queue group appear, one channelsz?channel= per scrape', async () => {
    worker = startWorker(process.execPath, [NODE_WORKER], {
      WORKER_NATS_URL: server.natsUrl,
      WORKER_CLUSTER: server.clusterId,
      WORKER_CLIENT_ID: 'pod-worker',
      WORKER_SUBJECT: 'orders',
      WORKER_GROUP: 'workers',
      WORKER_SERVER: 'main',
      WORKER_PROBE_URL: exporter.probeUrl!,
      WORKER_INTERVAL_MS: '200',
    });
    await worker.waitFor((e) => e['ready'] === true);
    await eventually(async () => assert.equal(valueOf(await scrape(exporter), 'queue_client_reports', { subject: 'orders' }), 1));

    const before = channelRequests().length;
    // Asked for at once, /metrics and /metrics/detailed share one collection: one channelsz request.
    const [samples, detailed] = await Promise.all([scrape(exporter), scrape(exporter, '/metrics/detailed')]);
    assert.deepEqual(channelRequests().slice(before), ['/streaming/channelsz?channel=orders&subs=1']);
    assert.deepEqual(
      find(samples, 'stan_channel_last_sequence').map((s) => [s.labels['subject'], s.value]),
      [['orders', 3]],
    );
    // The worker joined with deliver-all and holds the 3 messages at its closed gate: nothing undelivered.
    assert.deepEqual(
      find(samples, 'queue_msgs_pending').map((s) => [s.labels['subject'], s.labels['group'], s.value]),
      [['orders', 'workers', 0]],
    );
    assert.equal(valueOf(samples, 'queue_client_msgs_pending', { subject: 'orders', group: 'workers' }), 3);
    assert.deepEqual(find(samples, 'stan_subscription_last_sent_sequence'), [], 'per-subscription series are detailed');
    assert.deepEqual(
      find(detailed, 'stan_subscription_last_sent_sequence').map((s) => s.labels['client_id']),
      ['pod-worker'],
    );

    for (let i = 0; i < 3; i++) await scrape(exporter);
    assert.equal(channelRequests().length - before, 4, 'one channelsz?channel=orders per collection');
    assert.equal(channelRequests().filter((url) => url.includes('offset=')).length, 0, 'no paging through all channels');
  });

  test('a reported channel the server does not have is left out without an error', async () => {
    const res = await fetch(`${exporter.probeUrl}/v1/pending`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'new-worker', subscriptions: [{ server: 'main', subject: 'not.yet', group: 'g', durable: '', msgs: 0, bytes: 0 }] }),
    });
    assert.equal(res.status, 200);
    const before = channelRequests().length;
    const samples = await scrape(exporter);
    assert.deepEqual(channelRequests().slice(before).sort(), ['/streaming/channelsz?channel=not.yet&subs=1', '/streaming/channelsz?channel=orders&subs=1']);
    assert.equal(valueOf(samples, 'stan_up', { server: 'main' }), 1);
    assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server: 'main', reason: 'http_status' }), 0);
    assert.deepEqual(
      find(samples, 'stan_channel_last_sequence').map((s) => s.labels['subject']),
      ['orders'],
    );
    assert.equal(valueOf(samples, 'queue_client_reports', { subject: 'not.yet' }), 1);
  });
});
