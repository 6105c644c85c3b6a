import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { ConsumerConfig } from '@nats-io/jetstream';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, type JsClient, publish } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { startWorker, type WorkerProcess } from '../../harness/workers.js';

const JETSTREAM_WORKER = fileURLToPath(new URL('../../harness/workers/jetstream-worker.js', import.meta.url));
const INTERVAL_MS = 300;

test('the probe library loads nothing but Node and its own modules, so a worker needs no @nats-io/jetstream for it', () => {
  const dir = new URL('../../src/probe/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(files.includes('jetstream.js'));
  for (const file of files) {
    const specifiers = [...readFileSync(new URL(file, dir), 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
    for (const s of specifiers) assert.match(s, /^(node:|\.\/)/, `${file} imports "${s}"`);
  }
});

describe('JetStream workers with the probe library, against a real nats-server and a real exporter', () => {
  let server: NatsServer;
  let client: JsClient;
  let exporter: RunningExporter;
  const workers: WorkerProcess[] = [];

  before(async () => {
    server = await startNatsServer();
    client = await connectJs(server.natsUrl);
    exporter = await startTestExporter(['--jetstream', `js=${server.monitorUrl}`, '--probe-ttl', '5']);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await client.close();
    await exporter.close();
    await server.stop();
  });

  /** A stream named `stream` with one consumer, and a worker taking its messages in `mode`. */
  async function worker(stream: string, consumer: Partial<ConsumerConfig>, settings: Record<string, string>): Promise<WorkerProcess> {
    await addStream(client.jsm, { name: stream, subjects: [stream] });
    const name = await addConsumer(client.jsm, stream, consumer);
    const w = startWorker(process.execPath, [JETSTREAM_WORKER], {
      WORKER_NATS_URL: server.natsUrl,
      WORKER_SERVER: 'js',
      WORKER_PROBE_URL: exporter.probeUrl!,
      WORKER_INTERVAL_MS: String(INTERVAL_MS),
      WORKER_CLIENT_ID: `${stream}-worker`,
      WORKER_STREAM: stream,
      WORKER_CONSUMER: name,
      ...settings,
    });
    workers.push(w);
    await w.waitFor((e) => e['ready'] === true);
    return w;
  }

  /** Scrapes until the worker's count and the server's unacked of the queue both say `held`. */
  function bothHold(labels: Record<string, string>, held: number): Promise<Sample[]> {
    return eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), held);
      assert.equal(valueOf(s, 'queue_msgs_unacked', labels), held);
      return s;
    });
  }

  /** Opens the worker's gate and waits until it handled `count` and both sides show nothing left. */
  async function drains(w: WorkerProcess, labels: Record<string, string>, count: number): Promise<void> {
    w.send('open');
    await w.waitFor((e) => e['handled'] === count);
    await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 0);
      assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 0);
      assert.equal(valueOf(s, 'queue_msgs_pending', labels), 0);
    });
  }

  test("consume(), iterated: the message in the handler plus what the library buffers, equal to the server's unacked; drains to 0", async () => {
    const w = await worker('orders', { durable_name: 'billing' }, { WORKER_MODE: 'consume' });
    await publish(client.js, 'orders', 12);
    const labels = { server: 'js', subject: 'orders', group: '', durable: 'billing' };
    const s = await bothHold(labels, 12);
    // Only the message handed out has a known size ("message 0"); the 11 buffered count in msgs only.
    assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 9);
    assert.equal(valueOf(s, 'queue_client_reports', labels), 1);
    assert.equal(valueOf(s, 'queue_msgs_undelivered', labels), 0);

    await drains(w, labels, 12);
  });

  test('consume() with a callback: concurrent handlers count until they acked; max_ack_pending bounds both sides', async () => {
    const w = await worker('invoices', { durable_name: 'ledger', max_ack_pending: 4 }, { WORKER_MODE: 'callback' });
    await publish(client.js, 'invoices', 10);
    const labels = { server: 'js', subject: 'invoices', group: '', durable: 'ledger' };
    const s = await bothHold(labels, 4);
    assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 36);
    assert.equal(valueOf(s, 'queue_msgs_undelivered', labels), 6);
    assert.equal(valueOf(s, 'queue_consumers_stalled', labels), 1);
    await drains(w, labels, 10);
  });

  test('fetch(): a batch handed out to concurrent handlers counts until each is acked', async () => {
    const w = await worker('refunds', { durable_name: 'payer' }, { WORKER_MODE: 'fetch', WORKER_BATCH: '5' });
    await publish(client.js, 'refunds', 8);
    const labels = { server: 'js', subject: 'refunds', group: '', durable: 'payer' };
    // The first batch of 5 sits in its handlers while the next fetch() takes the other 3.
    const s = await bothHold(labels, 8);
    assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 72);
    await drains(w, labels, 8);
  });

  test('next() with a handler that never acks: redeliveries after the ack wait replace the count instead of adding to it', async () => {
    const w = await worker(
      'reminders',
      { durable_name: 'mailer', ack_wait: 1_000_000_000 },
      { WORKER_MODE: 'next', WORKER_ACKS: 'never', WORKER_GATE: 'open' },
    );
    await publish(client.js, 'reminders', 3);
    const labels = { server: 'js', subject: 'reminders', group: '', durable: 'mailer' };
    await w.waitFor((e) => e['redelivered'] === true && e['sequence'] === 3, 15_000);
    await w.waitFor((e) => e['handled'] === 9, 15_000);
    // Without the replacement the count would grow by 3 a second; an expired copy may leave it
    // at 0 for a moment before its redelivery arrives.
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      const client = valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels)!;
      assert.ok(client <= 3, `the worker holds at most the 3 messages (${client})`);
      seen.push(client);
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    assert.ok(
      seen.some((n) => n > 0),
      `held messages show (${seen.join(', ')})`,
    );
  });

  test('a push consumer with a deliver group: group and durable as the exporter labels the queue; SIGTERM sends zeros', async () => {
    const w = await worker('shipments', { durable_name: 'packers', deliver_group: 'packing', deliver_subject: 'deliver.shipments' }, { WORKER_MODE: 'push' });
    await publish(client.js, 'shipments', 6);
    const labels = { server: 'js', subject: 'shipments', group: 'packing', durable: 'packers' };
    assert.equal(valueOf(await bothHold(labels, 6), 'queue_consumers', labels), 1);
    assert.equal(await w.kill('SIGTERM'), 0);
    assert.ok(w.events.some((e) => e['closed'] === true));
    assert.equal(valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels), 0);
  });
});
