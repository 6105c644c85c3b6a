import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { DETAILED_FAMILIES, PER_OBJECT_FAMILIES } from '../../src/metrics/server-metrics.js';
import { eventually, parseSamples, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, fetchWithoutAck, type JsClient, publish as publishJs } from '../../harness/jetstream-client.js';
import { startLoggedExporter } from '../../harness/logged-exporter.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

/** Every per-object family, default and detailed. */
const PER_OBJECT = new Set(Object.values(PER_OBJECT_FAMILIES).flatMap((level) => [...level.default, ...level.detailed]));
const DEFAULTS = Object.values(PER_OBJECT_FAMILIES).flatMap((level) => level.default);

const familiesOf = (samples: Sample[]): string[] => [...new Set(samples.map((s) => s.name))].sort();
const perObjectFamiliesOf = (samples: Sample[]): string[] => familiesOf(samples).filter((name) => PER_OBJECT.has(name));
/** Each per-object series as its name and labels, values left out (they move between two exporters' scrapes). */
const perObjectSeries = (samples: Sample[]): string[] =>
  samples
    .filter((s) => PER_OBJECT.has(s.name))
    .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
    .sort();

describe('/metrics, /metrics/detailed and --detailed-metrics, with a NATS Streaming server and a JetStream one', () => {
  let stan: StanServer;
  let sc: Stan;
  let nats: NatsServer;
  let js: JsClient;
  let exporter: RunningExporter;
  let withDetailed: RunningExporter;

  before(async () => {
    stan = await startStan({ clusterId: 'budget' });
    sc = await connectStan(stan.natsUrl, stan.clusterId, 'member-a');
    await publishMany(sc, 'orders', 10);
    // A queue group and a durable: queue, channel and subscription series.
    const group = sc.subscribe('orders', 'workers', sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setDeliverAllAvailable());
    group.on('message', () => undefined);
    const durable = sc.subscribe('orders', sc.subscriptionOptions().setDurableName('audit').setManualAckMode(true).setMaxInFlight(3).setDeliverAllAvailable());
    durable.on('message', () => undefined);
    await Promise.all([ready(group), ready(durable)]);

    nats = await startNatsServer();
    js = await connectJs(nats.natsUrl);
    await addStream(js.jsm, { name: 'jobs', subjects: ['jobs'] });
    await publishJs(js.js, 'jobs', 8);
    await addConsumer(js.jsm, 'jobs', { durable_name: 'crunch', max_ack_pending: 4 });
    await fetchWithoutAck(js.js, 'jobs', 'crunch', 4);

    const servers = ['--server', `old=${stan.monitorUrl}`, '--jetstream', `new=${nats.monitorUrl}`];
    exporter = await startTestExporter(servers);
    withDetailed = await startTestExporter([...servers, '--detailed-metrics']);
    // Both backends' queues are read, with the messages out to the members.
    await eventually(async () => {
      const samples = await scrape(exporter);
      assert.equal(valueOf(samples, 'queue_msgs_unacked', { server: 'old', subject: 'orders', group: 'workers', durable: '' }), 2);
      assert.equal(valueOf(samples, 'queue_msgs_unacked', { server: 'new', subject: 'jobs', group: '', durable: 'crunch' }), 4);
    });
  });
  after(async () => {
    await withDetailed?.close();
    await exporter?.close();
    await js?.close();
    await nats?.stop();
    if (sc) await closeStan(sc).catch(() => undefined);
    await stan?.stop();
  });

  test('/metrics has exactly the default per-object families, none of the detailed ones', async () => {
    const samples = await scrape(exporter);
    assert.deepEqual(perObjectFamiliesOf(samples), [...DEFAULTS].sort());
    for (const name of DETAILED_FAMILIES) assert.equal(samples.filter((s) => s.name === name).length, 0, name);
    // The per node and per server families, and the exporter's own, stay.
    for (const name of ['stan_up', 'jetstream_up', 'stan_server_info', 'jetstream_server_streams', 'queue_server_owner_up', 'nats_queue_exporter_build_info'])
      assert.ok(
        samples.some((s) => s.name === name),
        name,
      );
  });

  test('/metrics/detailed has exactly the detailed families, with their HELP and TYPE, and nothing else', async () => {
    const res = await fetch(`${exporter.url}/metrics/detailed`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const samples = parseSamples(text);
    assert.deepEqual(familiesOf(samples), [...DETAILED_FAMILIES].sort());
    assert.deepEqual([...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]).sort(), [...DETAILED_FAMILIES].sort());
    const member = { server: 'old', subject: 'orders', group: 'workers', durable: '', client_id: 'member-a', sub_index: '0' };
    assert.equal(valueOf(samples, 'stan_subscription_unacked_messages', member), 2);
    assert.equal(valueOf(samples, 'stan_subscription_stalled', member), 1);
    assert.equal(valueOf(samples, 'stan_subscription_max_inflight', { ...member, group: '', durable: 'audit' }), 3);
    assert.equal(valueOf(samples, 'stan_channel_subscriptions', { server: 'old', subject: 'orders' }), 2);
    assert.equal(valueOf(samples, 'jetstream_stream_messages', { server: 'new', subject: 'jobs' }), 8);
    assert.equal(valueOf(samples, 'queue_msgs_redelivered', { server: 'new', subject: 'jobs', group: '', durable: 'crunch' }), 0);
    assert.equal(
      valueOf(samples, 'queue_oldest_unacked_age_lower_bound', { server: 'new', subject: 'jobs', group: '', durable: 'crunch' }) !== undefined,
      true,
    );
  });

  test('family=NAME keeps only the named detailed families', async () => {
    const one = parseSamples(await (await fetch(`${exporter.url}/metrics/detailed?family=stan_subscription_stalled`)).text());
    assert.deepEqual(familiesOf(one), ['stan_subscription_stalled']);
    assert.equal(one.length, 2, 'the queue member and the durable');
    const res = await fetch(
      `${exporter.url}/metrics/detailed?family=jetstream_stream_messages&family=stan_subscription_unacked_messages&family=jetstream_stream_messages`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(familiesOf(parseSamples(await res.text())), ['jetstream_stream_messages', 'stan_subscription_unacked_messages']);
  });

  test('an unknown family is refused with 400, naming it and listing the detailed families', async () => {
    for (const [query, named] of [
      ['family=nope', '"nope"'],
      // A default family is not on /metrics/detailed.
      ['family=stan_channel_messages', '"stan_channel_messages"'],
      ['family=stan_subscription_stalled&family=x%20y&family=', '"x y", ""'],
    ] as const) {
      const res = await fetch(`${exporter.url}/metrics/detailed?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      const text = await res.text();
      assert.ok(text.startsWith(`family=${named}: no such family on /metrics/detailed; family= takes one of `), text);
      for (const name of DETAILED_FAMILIES) assert.ok(text.includes(name), `${query}: the answer lists ${name}`);
      assert.doesNotMatch(text, /stan_channel_last_sequence/);
    }
  });

  test('--detailed-metrics: /metrics is the default families and the detailed ones together, the defaults before the split', async () => {
    const [metrics, detailed] = await Promise.all([scrape(exporter), scrape(exporter, '/metrics/detailed')]);
    const union = await scrape(withDetailed);
    assert.deepEqual(perObjectSeries(union), [...perObjectSeries(metrics), ...perObjectSeries(detailed)].sort());
    assert.deepEqual(perObjectFamiliesOf(union), [...PER_OBJECT].sort());
    // /metrics/detailed answers the same with the flag.
    assert.deepEqual(perObjectSeries(await scrape(withDetailed, '/metrics/detailed')), perObjectSeries(detailed));
  });
});

test('--no-subscription-metrics and NQE_NO_SUBSCRIPTION_METRICS still start the exporter, change nothing and log one warning', async () => {
  const server = await startStan({ clusterId: 'old-flag' });
  try {
    for (const [args, env, from] of [
      [['--no-subscription-metrics'], {}, '--no-subscription-metrics'],
      [[], { NQE_NO_SUBSCRIPTION_METRICS: 'true' }, 'NQE_NO_SUBSCRIPTION_METRICS'],
    ] as const) {
      const logged = await startLoggedExporter(['--server', `main=${server.monitorUrl}`, ...args], env);
      try {
        const warnings = logged
          .logs()
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as { level: number; msg: string })
          .filter((line) => line.level === 40);
        assert.equal(warnings.length, 1, from);
        assert.match(
          warnings[0]!.msg,
          new RegExp(`^${from} has no effect and can be removed: leaving the per-subscription stan_subscription_\\* series out of /metrics is the default now`),
        );
        assert.match(warnings[0]!.msg, /--detailed-metrics puts them back on \/metrics/);
        assert.equal(valueOf(await scrape(logged.exporter), 'stan_up', { server: 'main' }), 1);
      } finally {
        await logged.exporter.close();
      }
    }
  } finally {
    await server.stop();
  }
});
