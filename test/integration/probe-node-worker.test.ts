import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { freePort } from '../../harness/ports.js';
import { type Stan, closeStan, connectStan, publishMany } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { NODE_WORKER, type WorkerProcess, startWorker } from '../../harness/workers.js';

const INTERVAL_MS = 300;
const TTL_SECONDS = 2;

describe('Node workers with the probe library, against a real nats-streaming-server', () => {
  let server: StanServer;
  let exporter: RunningExporter;
  let publisher: Stan;
  const workers: WorkerProcess[] = [];

  before(async () => {
    server = await startStan({ clusterId: 'probes' });
    exporter = await startTestExporter(['--server', `main=${server.monitorUrl}`, '--probe-ttl', String(TTL_SECONDS)]);
    publisher = await connectStan(server.natsUrl, server.clusterId, 'publisher');
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await closeStan(publisher).catch(() => undefined);
    await exporter.close();
    await server.stop();
  });

  async function worker(settings: Record<string, string>, probeUrl = exporter.probeUrl!): Promise<WorkerProcess> {
    const w = startWorker(process.execPath, [NODE_WORKER], {
      WORKER_NATS_URL: server.natsUrl,
      WORKER_CLUSTER: server.clusterId,
      WORKER_SERVER: 'main',
      WORKER_PROBE_URL: probeUrl,
      WORKER_INTERVAL_MS: String(INTERVAL_MS),
      ...settings,
    });
    workers.push(w);
    await w.waitFor((e) => e['ready'] === true);
    return w;
  }

  test('a slow async handler builds a client-side backlog that shows within a push interval and drains to 0', async () => {
    const w = await worker({ WORKER_CLIENT_ID: 'slow-a', WORKER_SUBJECT: 'orders', WORKER_GROUP: 'workers' });
    await publishMany(publisher, 'orders', 12);
    const labels = { server: 'main', subject: 'orders', group: 'workers', durable: '' };
    const published = performance.now();
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 12);
      return s;
    }, INTERVAL_MS + 2000);
    assert.ok(performance.now() - published < INTERVAL_MS + 2000);
    // Payloads m0..m11: ten of 2 bytes, two of 3.
    assert.equal(valueOf(samples, 'queue_client_bytes_pending', labels), 26);
    assert.equal(valueOf(samples, 'queue_client_reports', labels), 1);
    assert.equal(valueOf(samples, 'queue_client_max_inflight', labels), 1000);
    // Auto-ack mode: node-nats-streaming acks when the listener returns, so the server sees nothing unacked.
    assert.equal(valueOf(samples, 'queue_msgs_unacked', labels), 0);
    assert.equal(valueOf(samples, 'queue_msgs_pending', labels), 0);

    w.send('open');
    await w.waitFor((e) => e['handled'] === 12);
    await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 0);
      assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 0);
    }, INTERVAL_MS + 2000);
  });

  test('two workers of one pod in one queue group are summed; a killed one vanishes after the TTL', async () => {
    const a = await worker({ WORKER_CLIENT_ID: 'pair-a', WORKER_SUBJECT: 'jobs', WORKER_GROUP: 'crunchers' });
    await worker({ WORKER_CLIENT_ID: 'pair-b', WORKER_SUBJECT: 'jobs', WORKER_GROUP: 'crunchers' });
    await publishMany(publisher, 'jobs', 10);
    const labels = { server: 'main', subject: 'jobs', group: 'crunchers', durable: '' };
    await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 10);
      assert.equal(valueOf(s, 'queue_client_reports', labels), 2);
    });

    await a.kill('SIGKILL');
    const killed = performance.now();
    const held = valueOf(await scrape(exporter), 'queue_client_reports', labels);
    assert.equal(held, 2, "the killed worker's last report still counts until the TTL");
    await eventually(async () => assert.equal(valueOf(await scrape(exporter), 'queue_client_reports', labels), 1), TTL_SECONDS * 1000 + 3000);
    const gone = (performance.now() - killed) / 1000;
    // Its last report came about one interval before the kill (more when a loaded machine delays
    // the worker's timer) and counts for the TTL after that: far longer than one scrape.
    assert.ok(gone >= TTL_SECONDS / 2, `vanished ${gone.toFixed(2)} s after the kill`);
    const remaining = valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels)!;
    assert.ok(remaining < 10, `the live worker holds its share only (${remaining})`);
  });

  test("manual-ack mode: client pending counts received and unacked, never more than the server's unacked", async () => {
    const w = await worker({
      WORKER_CLIENT_ID: 'biller',
      WORKER_SUBJECT: 'invoices',
      WORKER_GROUP: 'billing',
      WORKER_DURABLE: 'ledger',
      WORKER_MANUAL_ACK: 'true',
      WORKER_MAX_INFLIGHT: '4',
    });
    await publishMany(publisher, 'invoices', 10);
    const labels = { server: 'main', subject: 'invoices', group: 'billing', durable: 'ledger' };
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 4);
      assert.equal(valueOf(s, 'queue_msgs_unacked', labels), 4);
      return s;
    });
    assert.equal(valueOf(samples, 'queue_msgs_undelivered', labels), 6);
    assert.ok(valueOf(samples, 'queue_client_msgs_pending', labels)! <= valueOf(samples, 'queue_msgs_unacked', labels)!);

    w.send('open');
    await w.waitFor((e) => e['handled'] === 10);
    const drained = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', labels), 0);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 0);
      return s;
    });
    assert.equal(valueOf(drained, 'queue_last_sent_sequence', labels), 10);
  });

  test('manual-ack mode, a handler that never acks: redeliveries replace the count instead of adding to it', async () => {
    await worker({
      WORKER_CLIENT_ID: 'forgetful',
      WORKER_SUBJECT: 'unacked',
      WORKER_MANUAL_ACK: 'true',
      WORKER_ACKS: 'never',
      WORKER_ACK_WAIT_MS: '1000',
      WORKER_GATE: 'open',
    });
    await publishMany(publisher, 'unacked', 3);
    const labels = { server: 'main', subject: 'unacked', group: '', durable: '' };
    const w = workers.at(-1)!;
    // Each message comes back after the 1 s ack wait; the count stays at what the worker holds,
    // never the holdings plus the redeliveries. A report made after the ack wait ran out and
    // before the server's redelivery arrived leaves the three out (the worker holds nothing
    // then: tally.ts expire), which a busy machine makes long enough for a scrape to see.
    await w.waitFor((e) => e['redelivered'] === true && e['sequence'] === 3, 10_000);
    await w.waitFor((e) => e['handled'] === 9, 10_000);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await scrape(exporter);
      const msgs = valueOf(s, 'queue_client_msgs_pending', labels)!;
      seen.push(msgs);
      assert.ok(msgs === 3 || msgs === 0, `${msgs} pending: the worker holds 3 (0 between an ack wait and its redelivery)`);
      assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 2 * msgs, 'two bytes a message');
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
    }
    assert.ok(seen.includes(3), `the three held messages were counted in one of five scrapes: ${seen.join(', ')}`);
  });

  test('SIGTERM: the worker sends a final zero report before it exits', async () => {
    const w = await worker({ WORKER_CLIENT_ID: 'leaver', WORKER_SUBJECT: 'leaving', WORKER_GROUP: 'g' });
    await publishMany(publisher, 'leaving', 3);
    const labels = { server: 'main', subject: 'leaving', group: 'g', durable: '' };
    await eventually(async () => assert.equal(valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels), 3));
    const code = await w.kill('SIGTERM');
    assert.equal(code, 0);
    assert.ok(w.events.some((e) => e['closed'] === true));
    // Well before the TTL: the zero came from the final report, not from expiry.
    assert.equal(valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels), 0);
  });

  test('with the sidecar absent the worker keeps handling messages and reports once the sidecar is there', async () => {
    const port = await freePort();
    const w = await worker({ WORKER_CLIENT_ID: 'lonely', WORKER_SUBJECT: 'alone', WORKER_GATE: 'open' }, `http://127.0.0.1:${port}`);
    await publishMany(publisher, 'alone', 5);
    await w.waitFor((e) => e['handled'] === 5);
    await w.waitFor((e) => typeof e['reportError'] === 'string' && /did not take the report/.test(e['reportError']));
    assert.equal(w.process.exitCode, null, 'the worker is still running');

    const late = await startTestExporter(['--server', `main=${server.monitorUrl}`, '--probe-listen', `127.0.0.1:${port}`]);
    try {
      // A few failures back off to at most a few seconds at a 300 ms interval.
      await eventually(async () => {
        const s = await scrape(late);
        assert.equal(valueOf(s, 'queue_client_reports', { subject: 'alone', group: '', durable: '' }), 1);
        assert.equal(valueOf(s, 'queue_client_msgs_pending', { subject: 'alone' }), 0);
      }, 15_000);
      await publishMany(publisher, 'alone', 2);
      await w.waitFor((e) => e['handled'] === 7);
    } finally {
      await late.close();
    }
  });
});
