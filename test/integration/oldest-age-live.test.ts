import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { startLoggedExporter } from '../../harness/logged-exporter.js';
import { closeStan, connectStan, publish, ready, type Stan } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Makes the durable `d` of queue group `workers` on `subject` and leaves it offline at its cursor. */
async function offlineDurable(sc: Stan, subject: string): Promise<void> {
  const sub = sc.subscribe(subject, 'workers', sc.subscriptionOptions().setDurableName('d').setDeliverAllAvailable().setManualAckMode(true));
  await ready(sub);
  await new Promise<void>((resolve) => {
    sub.once('closed', () => resolve());
    sub.close();
  });
}

function age(samples: Sample[], subject: string): { seconds: number | undefined; lowerBound: number | undefined } {
  const queue = { server: 'a', subject, group: 'workers', durable: 'd' };
  return {
    seconds: valueOf(samples, 'queue_oldest_undelivered_age_seconds', queue),
    lowerBound: valueOf(samples, 'queue_oldest_undelivered_age_lower_bound', queue),
  };
}

describe('how long the oldest waiting message has waited, on a real server', () => {
  let server: StanServer;
  let sc: Stan;
  const published = new Map<string, number>();
  const exporters: RunningExporter[] = [];

  before(async () => {
    server = await startStan({ clusterId: 'ages' });
    sc = await connectStan(server.natsUrl, 'ages', 'age-publisher');
    for (const subject of ['age.exact', 'age.watched', 'age.drain']) await offlineDurable(sc, subject);
    await publish(sc, 'age.exact', 'old');
    published.set('age.exact', Date.now());
    await publish(sc, 'age.drain', 'first');
    published.set('age.drain', Date.now());
  });
  after(async () => {
    await Promise.all(exporters.map((e) => e.close()));
    await closeStan(sc);
    await server?.stop();
  });

  test('with --nats-url: exact within 1 s for an exporter started long after the publish', async () => {
    await sleep(3000);
    const exporter = await startTestExporter(['--server', `a=${server.monitorUrl}`, '--nats-url', `a=${server.natsUrl}`]);
    exporters.push(exporter);
    const samples = await scrape(exporter);
    const truth = (Date.now() - published.get('age.exact')!) / 1000;
    const { seconds, lowerBound } = age(samples, 'age.exact');
    assert.equal(lowerBound, 0);
    assert.ok(Math.abs(seconds! - truth) <= 1, `age ${seconds} s, published ${truth.toFixed(2)} s ago`);
    assert.ok(seconds! >= 2.5, `${seconds}`);
    assert.ok(valueOf(samples, 'nats_queue_exporter_age_lookups_total', { server: 'a' })! >= 1);
  });

  test('with --nats-url: a queue that drains shows the age of the next message', async () => {
    await sleep(2000);
    await publish(sc, 'age.drain', 'second');
    const secondAt = Date.now();
    const exporter = exporters[0]!;
    const firstAge = age(await scrape(exporter), 'age.drain').seconds!;
    assert.ok(Math.abs(firstAge - (Date.now() - published.get('age.drain')!) / 1000) <= 1, `${firstAge}`);
    // The durable comes back and holds the first message unacked: its cursor moves to the second.
    const worker = await connectStan(server.natsUrl, 'ages', 'age-worker');
    const sub = worker.subscribe(
      'age.drain',
      'workers',
      worker.subscriptionOptions().setDurableName('d').setManualAckMode(true).setMaxInFlight(1).setDeliverAllAvailable(),
    );
    const got = new Promise<void>((resolve) => sub.once('message', () => resolve()));
    await got;
    const drained = await eventually(async () => {
      const a = age(await scrape(exporter), 'age.drain');
      assert.ok(a.seconds! < firstAge - 1, `age ${a.seconds} did not fall from ${firstAge}`);
      return a.seconds!;
    });
    assert.ok(Math.abs(drained - (Date.now() - secondAt) / 1000) <= 1, `age ${drained} s, second message published ${(Date.now() - secondAt) / 1000} s ago`);
    await closeStan(worker);
  });

  test('without --nats-url: estimated within 2 s for an exporter that watched the publish', async () => {
    const exporter = await startTestExporter(['--server', `a=${server.monitorUrl}`]);
    exporters.push(exporter);
    assert.equal(age(await scrape(exporter), 'age.watched').seconds, 0, 'nothing waits yet');
    await sleep(1000);
    await publish(sc, 'age.watched', 'watched');
    const at = Date.now();
    for (let i = 0; i < 4; i++) {
      await sleep(1000);
      await scrape(exporter);
    }
    const { seconds, lowerBound } = age(await scrape(exporter), 'age.watched');
    const truth = (Date.now() - at) / 1000;
    assert.equal(lowerBound, 0);
    assert.ok(Math.abs(seconds! - truth) <= 2, `estimated ${seconds} s, published ${truth.toFixed(2)} s ago`);
  });

  test('without --nats-url, started after the publish: a lower bound, marked as such, never an exact claim', async () => {
    const exporter = await startTestExporter(['--server', `a=${server.monitorUrl}`]);
    exporters.push(exporter);
    await scrape(exporter);
    await sleep(1000);
    const { seconds, lowerBound } = age(await scrape(exporter), 'age.exact');
    const truth = (Date.now() - published.get('age.exact')!) / 1000;
    assert.equal(lowerBound, 1);
    assert.ok(seconds! <= truth, `a lower bound ${seconds} s above the truth ${truth} s`);
    assert.ok(seconds! < truth - 2, 'the exporter cannot know the message is as old as it is');
  });
});

describe('a --nats-url the server refuses', () => {
  let guarded: StanServer;
  let other: StanServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nqe-age-'));
    writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
    guarded = await startStan({ clusterId: 'guarded', args: ['--user', 'worker', '--pass', 's3cret'] });
    other = await startStan({ clusterId: 'elsewhere' });
    const sc = await connectStan(guarded.natsUrl.replace('nats://', 'nats://worker:s3cret@'), 'guarded', 'guarded-publisher');
    await offlineDurable(sc, 'age.refused');
    await publish(sc, 'age.refused', 'x');
    await closeStan(sc);
  });
  after(async () => {
    await Promise.all([guarded?.stop(), other?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [why, natsUrl, extra, message] of [
    [
      'wrong credentials',
      () => guarded.natsUrl.replace('nats://', 'nats://worker@'),
      () => ['--nats-password-file', `a=${join(dir, 'wrong')}`],
      /authorization.*check the user, --nats-password-file or --nats-token-file/i,
    ],
    ['a server of another cluster id', () => other.natsUrl, () => [], /no NATS Streaming server with this cluster id answered/],
  ] as const) {
    test(`${why}: a clear error in the log, the estimate, and the scrape succeeds`, async () => {
      const logged = await startLoggedExporter(['--server', `a=${guarded.monitorUrl}`, '--nats-url', `a=${natsUrl()}`, ...extra()]);
      try {
        const started = performance.now();
        const samples = await scrape(logged.exporter);
        assert.ok(performance.now() - started < 2500, 'the failing connection holds the scrape no longer than the lookup budget');
        assert.equal(valueOf(samples, 'stan_up', { server: 'a' }), 1);
        assert.equal(age(samples, 'age.refused').lowerBound, 1);
        await eventually(async () => {
          await scrape(logged.exporter);
          assert.match(logged.logs(), message);
        });
        assert.doesNotMatch(logged.logs(), /s3cret|not-the-password/);
      } finally {
        await logged.exporter.close();
      }
    });
  }
});
