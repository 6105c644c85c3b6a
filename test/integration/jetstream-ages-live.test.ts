import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { RunningExporter } from '../../src/exporter.js';
import { createTestCa } from '../../harness/certs.js';
import { eventually, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, fetchWithoutAck, type JsClient } from '../../harness/jetstream-client.js';
import { startLoggedExporter } from '../../harness/logged-exporter.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes one message and gives the stream's sequence for it and when the publish was acknowledged. */
async function publishOne(js: JetStreamClient, subject: string): Promise<{ seq: number; at: number }> {
  const ack = await js.publish(subject, 'job');
  return { seq: ack.seq, at: Date.now() };
}

/** Fetches `count` messages of a pull consumer and acks each: its cursor and ack floor move past them. */
async function fetchAndAck(js: JetStreamClient, stream: string, consumer: string, count: number): Promise<void> {
  const c = await js.consumers.get(stream, consumer);
  const messages = await c.fetch({ max_messages: count, expires: 2_000 });
  let received = 0;
  for await (const m of messages) {
    await m.ackAck();
    if (++received === count) break;
  }
  assert.equal(received, count);
}

/** The unacked ages are detailed families: on /metrics with --detailed-metrics, read in the same scrape as the undelivered ones. */
const DETAILED = ['--detailed-metrics'];

interface Ages {
  undelivered: number | undefined;
  undeliveredLowerBound: number | undefined;
  unacked: number | undefined;
  unackedLowerBound: number | undefined;
}

function ages(samples: Sample[], subject: string, durable: string): Ages {
  const queue = { server: 'js', subject, group: '', durable };
  return {
    undelivered: valueOf(samples, 'queue_oldest_undelivered_age_seconds', queue),
    undeliveredLowerBound: valueOf(samples, 'queue_oldest_undelivered_age_lower_bound', queue),
    unacked: valueOf(samples, 'queue_oldest_unacked_age_seconds', queue),
    unackedLowerBound: valueOf(samples, 'queue_oldest_unacked_age_lower_bound', queue),
  };
}

function near(seconds: number | undefined, publishedAt: number, within: number, what: string): void {
  const truth = (Date.now() - publishedAt) / 1000;
  assert.ok(seconds !== undefined && Math.abs(seconds - truth) <= within, `${what}: ${seconds} s, published ${truth.toFixed(2)} s ago`);
}

describe('JetStream: how long the oldest waiting message has waited, on a real v2.12.15 server', () => {
  let server: NatsServer;
  let client: JsClient;
  const exporters: RunningExporter[] = [];
  /** The interior message the exact test is about, published 3 s after the stream's first. */
  let target: { seq: number; at: number };

  before(async () => {
    server = await startNatsServer();
    client = await connectJs(server.natsUrl);
    await addStream(client.jsm, { name: 'exact', subjects: ['exact.>'] });
    await addConsumer(client.jsm, 'exact', { durable_name: 'all' });
    await addConsumer(client.jsm, 'exact', { durable_name: 'onlyb', filter_subject: 'exact.b' });
    // 1 at t0, the target (the only exact.b) 3 s later, then ten more at once: placing the
    // target between first_ts and last_ts by its sequence would put it near t0, 2.7 s off.
    await publishOne(client.js, 'exact.a');
    await sleep(3000);
    target = await publishOne(client.js, 'exact.b');
    for (let i = 0; i < 10; i++) await publishOne(client.js, 'exact.a');
    await fetchAndAck(client.js, 'exact', 'all', 1);
  });
  after(async () => {
    await Promise.all(exporters.map((e) => e.close()));
    await client?.close();
    await server?.stop();
  });

  test('with --nats-url: exact within 1 s for an exporter started long after the publish, filtered consumers too', async () => {
    await sleep(3000);
    const exporter = await startTestExporter([...DETAILED, '--jetstream', `js=${server.monitorUrl}`, '--nats-url', `js=${server.natsUrl}`]);
    exporters.push(exporter);
    const samples = await scrape(exporter);
    const all = ages(samples, 'exact', 'all');
    assert.equal(all.undeliveredLowerBound, 0);
    near(all.undelivered, target.at, 1, 'the next message of "all" (sequence 2)');
    assert.ok(all.undelivered! >= 2.5);
    assert.deepEqual([all.unacked, all.unackedLowerBound], [0, 0], 'nothing unacked');
    // "onlyb" takes exact.b only: its first message is found as the next on exact.b from its cursor.
    const onlyb = ages(samples, 'exact', 'onlyb');
    assert.equal(onlyb.undeliveredLowerBound, 0);
    near(onlyb.undelivered, target.at, 1, 'the first exact.b message');
    assert.ok(valueOf(samples, 'nats_queue_exporter_age_lookups_total', { server: 'js' })! >= 2);
  });

  test('without --nats-url, started after the publish: between the anchors an estimate, for a filtered consumer a lower bound', async () => {
    const exporter = await startTestExporter([...DETAILED, '--jetstream', `js=${server.monitorUrl}`]);
    exporters.push(exporter);
    const samples = await scrape(exporter);
    const all = ages(samples, 'exact', 'all');
    assert.equal(all.undeliveredLowerBound, 0, 'sequence 2 lies between first_ts and last_ts');
    assert.ok(all.undelivered! > (Date.now() - target.at) / 1000, 'placed by its sequence, nearer the first message than the truth');
    const onlyb = ages(samples, 'exact', 'onlyb');
    assert.equal(onlyb.undeliveredLowerBound, 1, 'its message is one of 1..12, which the exporter cannot tell apart');
    assert.ok(onlyb.undelivered! <= (Date.now() - target.at) / 1000, `a lower bound ${onlyb.undelivered} s above the truth`);
  });

  test('without --nats-url: estimated within 2 s for an exporter that watched the publish, filtered or not', async () => {
    await addStream(client.jsm, { name: 'watched', subjects: ['watched.>'] });
    await addConsumer(client.jsm, 'watched', { durable_name: 'all' });
    await addConsumer(client.jsm, 'watched', { durable_name: 'onlyb', filter_subject: 'watched.b' });
    await publishOne(client.js, 'watched.a');
    await fetchAndAck(client.js, 'watched', 'all', 1);
    const exporter = await startTestExporter([...DETAILED, '--jetstream', `js=${server.monitorUrl}`]);
    exporters.push(exporter);
    assert.equal(ages(await scrape(exporter), 'watched', 'all').undelivered, 0, 'nothing waits yet');
    await sleep(1000);
    // Two at once between scrapes: the first is neither the stream's first nor its last message.
    const watched = await publishOne(client.js, 'watched.b');
    await publishOne(client.js, 'watched.a');
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      await scrape(exporter);
    }
    const samples = await scrape(exporter);
    for (const durable of ['all', 'onlyb']) {
      const a = ages(samples, 'watched', durable);
      assert.equal(a.undeliveredLowerBound, 0, durable);
      near(a.undelivered, watched.at, 2, `estimated age of ${durable}`);
    }
  });

  test('with --nats-url: a consumer that drains shows the age falling to the next message; the unacked age follows the ack floor', async () => {
    await addStream(client.jsm, { name: 'drain', subjects: ['drain'] });
    await addConsumer(client.jsm, 'drain', { durable_name: 'd' });
    const first = await publishOne(client.js, 'drain');
    await sleep(2000);
    const second = await publishOne(client.js, 'drain');
    await publishOne(client.js, 'drain');
    const exporter = exporters[0]!;
    const before = ages(await scrape(exporter), 'drain', 'd');
    near(before.undelivered, first.at, 1, 'first message waiting');
    assert.equal(before.unacked, 0);
    // A worker takes the first message and holds it unacked: the next waiting is the second.
    assert.equal(await fetchWithoutAck(client.js, 'drain', 'd', 1), 1);
    const held = await eventually(async () => {
      const a = ages(await scrape(exporter), 'drain', 'd');
      assert.ok(a.undelivered! < before.undelivered! - 1, `age ${a.undelivered} did not fall from ${before.undelivered}`);
      return a;
    });
    near(held.undelivered, second.at, 1, 'the second message, next after the cursor');
    assert.equal(held.undeliveredLowerBound, 0);
    near(held.unacked, first.at, 1, 'the first message, delivered and not acked');
    assert.equal(held.unackedLowerBound, 0);
  });
});

describe('JetStream: a --nats-url the server refuses', () => {
  let server: NatsServer;
  let dir: string;
  let first: { seq: number; at: number };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-jsage-'));
    writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
    server = await startNatsServer({ config: 'authorization { user: worker, password: s3cret }\n' });
    const client = await connectJs(server.natsUrl, { user: 'worker', pass: 's3cret' });
    await addStream(client.jsm, { name: 'refused', subjects: ['refused'] });
    await addConsumer(client.jsm, 'refused', { durable_name: 'd' });
    first = await publishOne(client.js, 'refused');
    await publishOne(client.js, 'refused');
    await client.close();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('wrong credentials: a clear error in the log, the estimate, and the scrape succeeds', async () => {
    const natsUrl = server.natsUrl.replace('nats://', 'nats://worker@');
    const logged = await startLoggedExporter([
      ...DETAILED,
      '--jetstream',
      `js=${server.monitorUrl}`,
      '--nats-url',
      `js=${natsUrl}`,
      '--nats-password-file',
      `js=${join(dir, 'wrong')}`,
    ]);
    try {
      const started = performance.now();
      const samples = await scrape(logged.exporter);
      assert.ok(performance.now() - started < 2500, 'the failing connection holds the scrape no longer than the lookup budget');
      assert.equal(valueOf(samples, 'jetstream_up', { server: 'js' }), 1);
      // Its next message is the stream's first: first_ts says when it was published.
      const a = ages(samples, 'refused', 'd');
      assert.equal(a.undeliveredLowerBound, 0);
      near(a.undelivered, first.at, 1, 'the age from first_ts');
      await eventually(async () => {
        await scrape(logged.exporter);
        assert.match(
          logged.logs(),
          /"reason":"nats:\/\/127\.0\.0\.1:\d+: Authorization Violation: check the user, --nats-password-file or --nats-token-file for this server","msg":"the --nats-url connection for exact message ages failed; ages are estimated"/,
        );
      });
      assert.doesNotMatch(logged.logs(), /s3cret|not-the-password/);
    } finally {
      await logged.exporter.close();
    }
  });
});

describe('JetStream: a tls:// --nats-url', () => {
  let server: NatsServer;
  let dir: string;
  let caFile: string;
  let target: { seq: number; at: number };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-jsage-tls-'));
    const ca = createTestCa(dir, 'nats');
    caFile = ca.caFile;
    const { certFile, keyFile } = ca.issue('nats', 'server');
    server = await startNatsServer({ config: `tls { cert_file: "${certFile}", key_file: "${keyFile}" }\n` });
    const client = await connectJs(server.natsUrl, { tls: { caFile } });
    await addStream(client.jsm, { name: 'secure', subjects: ['secure'] });
    await addConsumer(client.jsm, 'secure', { durable_name: 'd' });
    await publishOne(client.js, 'secure');
    await sleep(3000);
    target = await publishOne(client.js, 'secure');
    for (let i = 0; i < 10; i++) await publishOne(client.js, 'secure');
    await fetchAndAck(client.js, 'secure', 'd', 1);
    await client.close();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with --nats-ca-file: the exact age of a message between the anchors', async () => {
    const natsUrl = server.natsUrl.replace('nats://', 'tls://');
    const exporter = await startTestExporter([...DETAILED, '--jetstream', `js=${server.monitorUrl}`, '--nats-url', `js=${natsUrl}`, '--nats-ca-file', caFile]);
    try {
      const a = ages(await scrape(exporter), 'secure', 'd');
      assert.equal(a.undeliveredLowerBound, 0);
      // Placed between first_ts and last_ts by its sequence it would be 2.7 s younger.
      near(a.undelivered, target.at, 1, 'sequence 2 over TLS');
    } finally {
      await exporter.close();
    }
  });
});
