import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { startBadMonitor } from '../../harness/bad-monitor.js';
import { eventually, find, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { closeStan, connectStan, publishMany } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

describe('servers that fail never break the others', () => {
  let good: StanServer;
  let other: StanServer;
  let bad: Awaited<ReturnType<typeof startBadMonitor>>;
  let exporter: RunningExporter;
  const timeoutSeconds = 1;

  before(async () => {
    [good, other, bad] = await Promise.all([startStan({ clusterId: 'good' }), startStan({ clusterId: 'other' }), startBadMonitor()]);
    const sc = await connectStan(good.natsUrl, good.clusterId, 'pub');
    await publishMany(sc, 'orders', 3);
    await closeStan(sc);
    const sc2 = await connectStan(other.natsUrl, other.clusterId, 'pub');
    await publishMany(sc2, 'payments', 2);
    await closeStan(sc2);
    exporter = await startTestExporter([
      '--timeout',
      String(timeoutSeconds),
      '--server',
      `good=${good.monitorUrl}`,
      '--server',
      `other=${other.monitorUrl}`,
      '--server',
      `notfound=${bad.url}/404`,
      '--server',
      `html=${bad.url}/html`,
      '--server',
      `truncated=${bad.url}/truncated`,
      '--server',
      `silent=${bad.url}/silent`,
      '--server',
      'refused=http://127.0.0.1:1',
    ]);
  });
  after(async () => {
    await exporter.close();
    await Promise.all([good.stop(), other.stop(), bad.close()]);
  });

  test('each bad answer gives stan_up 0, its own error reason, and no other series of that server', async () => {
    const started = performance.now();
    const samples = await scrape(exporter);
    const elapsed = (performance.now() - started) / 1000;
    assert.ok(elapsed < timeoutSeconds + 1, `a silent server held /metrics for ${elapsed.toFixed(2)} s with --timeout ${timeoutSeconds}`);

    assert.equal(valueOf(samples, 'stan_up', { server: 'good' }), 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'other' }), 1);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'good', subject: 'orders' }), 3);
    assert.equal(valueOf(samples, 'stan_channel_messages', { server: 'other', subject: 'payments' }), 2);
    const expected: Record<string, string> = {
      notfound: 'http_status',
      html: 'invalid_response',
      truncated: 'invalid_response',
      silent: 'timeout',
      refused: 'connect',
    };
    for (const [server, reason] of Object.entries(expected)) {
      assert.equal(valueOf(samples, 'stan_up', { server }), 0, server);
      assert.equal(valueOf(samples, 'queue_server_owner_up', { server }), 0, `${server} has no owner that answered`);
      assert.equal(valueOf(samples, 'queue_server_nodes_up', { server }), 0, server);
      assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server, reason }), 1, `${server} counts one ${reason} error`);
      const others = samples.filter(
        (s) =>
          s.labels['server'] === server &&
          ![
            'stan_up',
            'nats_queue_exporter_scrape_errors_total',
            'nats_queue_exporter_scrape_duration_seconds',
            'nats_queue_exporter_checked_parser_pages_total',
          ].includes(s.name) &&
          !s.name.startsWith('queue_server_'),
      );
      assert.deepEqual(others, [], `${server} has no other series`);
    }
    assert.ok(valueOf(samples, 'nats_queue_exporter_scrape_duration_seconds', { server: 'silent' })! >= timeoutSeconds * 0.9);
  });

  test('the status page and /api/v1/queues show each server with its last result and no credentials', async () => {
    const html = await (await fetch(`${exporter.url}/`)).text();
    assert.match(html, /nats-queue-exporter <span class="version">\d+\.\d+\.\d+/);
    assert.match(html, /href="metrics"/);
    const doc = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as {
      servers: Array<{ name: string; owner: string | null; nodes: Array<Record<string, unknown>> }>;
    };
    const server = (name: string) => doc.servers.find((s) => s.name === name);
    const good = server('good')!;
    assert.match(String(good.nodes[0]!['node']), /^127\.0\.0\.1:\d+$/);
    assert.equal(good.owner, good.nodes[0]!['node']);
    assert.match(String(good.nodes[0]!['url']), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual([good.nodes[0]!['up'], good.nodes[0]!['state'], good.nodes[0]!['owner'], good.nodes[0]!['channels']], [true, 'STANDALONE', true, 1]);
    assert.equal(server('notfound')!.owner, null);
    assert.equal(server('notfound')!.nodes[0]!['up'], false);
    assert.match(JSON.stringify(server('notfound')!.nodes[0]!['error']), /"reason":"http_status","message":"GET .* answered HTTP 404/);
    assert.match(JSON.stringify(server('silent')!.nodes[0]!['error']), /"reason":"timeout"/);
  });

  test('a server stopped mid-test goes to stan_up 0, and comes back with its figures after a restart', async () => {
    const { natsPort, monitorPort } = other;
    await other.stop();
    const down = await scrape(exporter);
    assert.equal(valueOf(down, 'stan_up', { server: 'other' }), 0);
    assert.deepEqual(find(down, 'stan_channel_messages', { server: 'other' }), []);
    assert.equal(valueOf(down, 'stan_up', { server: 'good' }), 1);
    assert.equal(valueOf(down, 'stan_channel_messages', { server: 'good', subject: 'orders' }), 3);

    other = await startStan({ clusterId: 'other', natsPort, monitorPort });
    const sc = await connectStan(other.natsUrl, other.clusterId, 'pub');
    await publishMany(sc, 'refunds', 4);
    await closeStan(sc);
    await eventually(async () => {
      const up = await scrape(exporter);
      assert.equal(valueOf(up, 'stan_up', { server: 'other' }), 1);
      assert.equal(valueOf(up, 'stan_channel_messages', { server: 'other', subject: 'refunds' }), 4);
    });
  });
});
