import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JszConsumer, parseJszPage, parseVarz } from '../../src/sources/jetstream/parse.js';
import { readAllAccounts } from '../../src/sources/jetstream/read-accounts.js';
import { ScrapeError } from '../../src/sources/scrape-error.js';
import { jszFixture, recordedServer } from '../../harness/jsz-fixtures.js';

// Recorded from nats-server v2.12.15 and v2.10.27 (see test/fixtures/jetstream/README.md).
const STANDALONE = 'standalone/jsz-offset-0-limit-1024.json';

function consumer(page: ReturnType<typeof parseJszPage>, stream: string, name: string): JszConsumer {
  const found = page.accounts
    .flatMap((a) => a.streams)
    .find((s) => s.name === stream)
    ?.consumers.find((c) => c.name === name);
  assert.ok(found, `consumer ${stream}/${name} in the page`);
  return found;
}

test('a standalone page: server figures, the default account, streams and their consumers', () => {
  const page = parseJszPage(jszFixture(STANDALONE), 'jsz');
  assert.equal(page.disabled, false);
  assert.equal(page.total, 1);
  assert.equal(page.metaLeader, undefined, 'a standalone server has no meta cluster');
  assert.deepEqual(
    { accounts: page.totals.accounts, streams: page.totals.streams, consumers: page.totals.consumers, messages: page.totals.messages },
    { accounts: 1, streams: 2, consumers: 7, messages: 35 },
  );
  assert.deepEqual(
    page.accounts.map((a) => [a.id, a.name]),
    [['$G', '$G']],
  );
  const orders = page.accounts[0]!.streams.find((s) => s.name === 'orders')!;
  assert.deepEqual(
    { ...orders, consumers: orders.consumers.length },
    {
      name: 'orders',
      cluster: { leader: page.serverId },
      messages: 25,
      bytes: orders.bytes,
      firstSeq: 1,
      lastSeq: 25,
      firstPublishedMs: Date.parse('2026-12-01T18:55:45.902Z'),
      lastPublishedMs: Date.parse('2026-12-01T18:55:45.923Z'),
      consumerCount: 2,
      consumers: 2,
    },
  );

  const billing = consumer(page, 'orders', 'billing');
  assert.equal(billing.cluster, undefined, "a standalone server's consumers have no cluster");
  assert.deepEqual(
    { ...billing, lastDeliveryMs: typeof billing.lastDeliveryMs, readAtMs: typeof billing.readAtMs },
    {
      name: 'billing',
      durableName: 'billing',
      deliverSubject: '',
      deliverGroup: '',
      maxAckPending: 100,
      filterSubjects: [],
      cluster: undefined,
      deliveredStreamSeq: 5,
      ackFloorStreamSeq: 0,
      lastDeliveryMs: 'number',
      lastAckMs: undefined,
      numPending: 20,
      numAckPending: 5,
      numRedelivered: 0,
      numWaiting: 0,
      pushBound: false,
      paused: false,
      readAtMs: 'number',
    },
  );
  assert.equal(consumer(page, 'orders', 'slow').numWaiting, 1);
  const bound = consumer(page, 'jobs', 'b-bound');
  assert.deepEqual(
    [bound.deliverSubject, bound.deliverGroup, bound.pushBound, bound.numAckPending, bound.deliveredStreamSeq],
    ['deliver.b', 'bworkers', true, 4, 10],
  );
  const unbound = consumer(page, 'jobs', 'a-ledger');
  assert.deepEqual([unbound.pushBound, unbound.numPending, unbound.lastDeliveryMs], [false, 6, undefined], 'num_pending counts only its filter subject');
});

test('varz names the server; without -n the name is the server id', () => {
  const standalone = parseVarz(jszFixture('standalone/varz.json'));
  assert.equal(standalone.serverName, standalone.serverId);
  assert.equal(standalone.version, '2.12.15');
  assert.equal(standalone.cluster, '');
  const n1 = parseVarz(jszFixture('cluster/n1-varz.json'));
  assert.deepEqual([n1.serverName, n1.cluster], ['n1', 'nqe']);
});

test('servers before 2.10.28 send no total', () => {
  const page = parseJszPage(jszFixture('v2.10/jsz-offset-0-limit-1.json'), 'jsz');
  assert.equal(page.total, undefined);
  assert.equal(page.totals.accounts, 3);
});

test('{"disabled": true} is a clear error that says how to enable JetStream', async () => {
  const page = parseJszPage(jszFixture('disabled/jsz-offset-0-limit-1024.json'), 'jsz');
  assert.equal(page.disabled, true);
  await assert.rejects(readAllAccounts(recordedServer('disabled/').get, 1024), (err: unknown) => {
    assert.ok(err instanceof ScrapeError);
    assert.equal(err.reason, 'invalid_response');
    assert.match(err.message, /JetStream is disabled on this server .*-js/);
    return true;
  });
});

/** The recorded standalone page with `change` applied to consumer `billing`'s record. */
function brokenPage(change: (record: Record<string, unknown>) => void): unknown {
  const body = jszFixture(STANDALONE) as { account_details: Array<{ stream_detail: Array<{ consumer_detail: Array<Record<string, unknown>> }> }> };
  const record = body.account_details[0]!.stream_detail.flatMap((s) => s.consumer_detail).find((c) => c['name'] === 'billing')!;
  change(record);
  return body;
}

test('a broken answer names the account, stream, consumer and field', () => {
  const cases: Array<[string, (r: Record<string, unknown>) => void, RegExp]> = [
    ['missing num_pending', (r) => delete r['num_pending'], /account "\$G".*stream "orders".*consumer "billing".*field "num_pending" is missing/],
    ['num_ack_pending as text', (r) => (r['num_ack_pending'] = '5'), /consumer "billing"\): field "num_ack_pending" is not a number/],
    ['no config (asked without config=true)', (r) => delete r['config'], /field "config" is missing: the exporter asks \/jsz with config=true/],
    ['delivered not an object', (r) => (r['delivered'] = 5), /field "delivered" is not an object/],
    ['a bad timestamp', (r) => (r['ts'] = 'yesterday'), /field "ts" is not a timestamp/],
  ];
  for (const [what, change, message] of cases) {
    assert.throws(
      () => parseJszPage(brokenPage(change), 'jsz offset 0'),
      (err: unknown) => {
        assert.ok(err instanceof ScrapeError, what);
        assert.equal(err.reason, 'invalid_response', what);
        assert.match(err.message, /^jsz offset 0 account_details\[0\]/, what);
        assert.match(err.message, message, what);
        return true;
      },
    );
  }
  assert.throws(() => parseJszPage([], 'jsz offset 0'), /jsz offset 0: expected a JSON object/);
});
