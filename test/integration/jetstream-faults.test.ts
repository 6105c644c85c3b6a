import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { startBadMonitor } from '../../harness/bad-monitor.js';
import { scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, publish } from '../../harness/jetstream-client.js';
import { jszFixture } from '../../harness/jsz-fixtures.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';

/**
 * Answers /varz and /jsz with the recorded standalone answers (test/fixtures/jetstream), the
 * consumer "billing" without its num_pending: a server whose answer has the wrong shape.
 */
async function startShapeShifter(): Promise<{ url: string; close(): Promise<void> }> {
  const jsz = jszFixture('standalone/jsz-offset-0-limit-1024.json') as {
    account_details: Array<{ stream_detail: Array<{ consumer_detail: Array<Record<string, unknown>> }> }>;
  };
  delete jsz.account_details[0]!.stream_detail.flatMap((s) => s.consumer_detail).find((c) => c['name'] === 'billing')!['num_pending'];
  const varz = jszFixture('standalone/varz.json');
  const server: Server = createServer((req, res) => {
    const body = req.url?.startsWith('/varz') ? varz : jsz;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('JetStream servers that fail never break the others', () => {
  let good: NatsServer;
  let disabled: NatsServer;
  let bad: Awaited<ReturnType<typeof startBadMonitor>>;
  let shapeShifter: Awaited<ReturnType<typeof startShapeShifter>>;
  let exporter: RunningExporter;
  const timeoutSeconds = 1;

  before(async () => {
    [good, disabled, bad, shapeShifter] = await Promise.all([startNatsServer(), startNatsServer({ jetstream: false }), startBadMonitor(), startShapeShifter()]);
    const c = await connectJs(good.natsUrl);
    await addStream(c.jsm, { name: 'orders', subjects: ['orders'] });
    await publish(c.js, 'orders', 3);
    await addConsumer(c.jsm, 'orders', { durable_name: 'billing' });
    await c.close();
    exporter = await startTestExporter([
      '--timeout',
      String(timeoutSeconds),
      '--jetstream',
      `good=${good.monitorUrl}`,
      '--jetstream',
      `disabled=${disabled.monitorUrl}`,
      '--jetstream',
      `shape=${shapeShifter.url}`,
      '--jetstream',
      `notfound=${bad.url}/404`,
      '--jetstream',
      `html=${bad.url}/html`,
      '--jetstream',
      `truncated=${bad.url}/truncated`,
      '--jetstream',
      `silent=${bad.url}/silent`,
      '--jetstream',
      'refused=http://127.0.0.1:1',
    ]);
  });
  after(async () => {
    await exporter?.close();
    await Promise.all([good?.stop(), disabled?.stop(), bad?.close(), shapeShifter?.close()]);
  });

  test('each gives jetstream_up 0 and its reason; the good server keeps its figures', async () => {
    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'jetstream_up', { server: 'good' }), 1);
    assert.equal(valueOf(samples, 'queue_msgs_undelivered', { server: 'good', subject: 'orders', group: '', durable: 'billing' }), 3);
    const expected: Record<string, string> = {
      disabled: 'invalid_response',
      shape: 'invalid_response',
      notfound: 'http_status',
      html: 'invalid_response',
      truncated: 'invalid_response',
      silent: 'timeout',
      refused: 'connect',
    };
    const nodeSeries = [
      'jetstream_up',
      'nats_queue_exporter_scrape_errors_total',
      'nats_queue_exporter_scrape_duration_seconds',
      'nats_queue_exporter_checked_parser_pages_total',
    ];
    for (const [server, reason] of Object.entries(expected)) {
      assert.equal(valueOf(samples, 'jetstream_up', { server }), 0, server);
      assert.equal(valueOf(samples, 'queue_server_owner_up', { server }), 0, server);
      assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server, reason }), 1, `${server} counts one ${reason} error`);
      const others = samples.filter((s) => s.labels['server'] === server && !nodeSeries.includes(s.name) && !s.name.startsWith('queue_server_'));
      assert.deepEqual(others, [], `${server} has no other series`);
    }
  });

  test("/api/v1/queues (the status page's data) says why, naming the field of a wrong answer and how to turn JetStream on", async () => {
    const doc = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as { servers: Array<{ nodes: Array<{ error?: { message: string } }> }> };
    const errors = doc.servers.flatMap((s) => s.nodes.map((n) => n.error?.message ?? '')).join('\n');
    assert.match(errors, /stream "orders"\) consumer_detail\[0\] \(consumer "billing"\): field "num_pending" is missing/);
    assert.match(errors, /JetStream is disabled on this server/);
  });
});
