import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentCollections } from '../../src/http/status/recent-collections.js';
import type { Channel, Consumer, ServerSnapshot, Snapshot } from '../../src/model/types.js';

// Model objects (what sources hand the collector), not server JSON: only the figures the history reads.
function consumer(group: string, durable: string, figures: Partial<Consumer>): Consumer {
  return {
    group,
    durable,
    lastSent: 0,
    undelivered: 0,
    unacked: 0,
    pending: 0,
    members: 1,
    stalledMembers: 0,
    maxInflight: 10,
    offline: false,
    evicted: 0,
    ...figures,
  };
}

function channel(name: string, lastSeq: number, consumers: Consumer[]): Channel {
  return { name, messages: lastSeq, bytes: 0, firstSeq: 1, lastSeq, subscriptionCount: consumers.length, consumers, subscriptions: [] };
}

function server(name: string, channels: Channel[]): ServerSnapshot {
  return {
    name,
    backend: 'stan',
    nodes: [{ node: 'n1', url: 'http://n1:8222', durationSeconds: 0.01, checkedPages: 0 }],
    owner: 'n1',
    claimers: ['n1'],
    channels,
    ageLookups: 0,
  };
}

function at(seconds: number, servers: ServerSnapshot[], clientPending: Snapshot['clientPending'] = []): Snapshot {
  return { startedAt: Date.UTC(2026, 0, 1) + seconds * 1000, servers, clientPending };
}

test('a queue keeps its history and since while its verdict holds; one that vanishes is dropped and a new one starts afresh in its place', () => {
  const history = new RecentCollections();
  const stuck = (pending: number) =>
    channel('orders', 10 + pending, [consumer('workers', '', { pending, undelivered: pending, lastSent: 10, stalledMembers: 1 })]);
  history.record(at(0, [server('a', [stuck(5), channel('audit', 3, [consumer('', 'archive', { pending: 3, members: 0, offline: true })])])]));
  history.record(at(15, [server('a', [stuck(6), channel('audit', 3, [consumer('', 'archive', { pending: 3, members: 0, offline: true })])])]));
  history.record(at(30, [server('a', [stuck(7), channel('mail', 1, [consumer('senders', '', { oldestUndeliveredAge: { seconds: 0, kind: 'exact' } })])])]));
  const rows = [...history.rows()];
  assert.deepEqual(
    rows.map((r) => [r.subject, r.verdict, r.since, r.pendingHistory]),
    [
      ['orders', 'stuck', '2026-01-01T00:00:15.000Z', [5, 6, 7]],
      ['mail', 'idle', '2026-01-01T00:00:30.000Z', [null, null, 0]],
    ],
  );
  assert.match(rows[0]!.why, /7 pending, cursor unmoved at 10 and nothing acked for 15 s; all 1 member\(s\) stalled/);
  assert.deepEqual(
    rows.map((r) => r.oldestAge),
    [null, { seconds: 0, kind: 'exact' }],
  );
  assert.equal(history.queueCount, 2);
});

test('a server without an owner this time loses its queues, others keep theirs; client-side pending goes with its queue', () => {
  const history = new RecentCollections();
  const figures = (name: string) => server(name, [channel('orders', 20, [consumer('workers', '', { pending: 4, unacked: 4, lastSent: 20 })])]);
  history.record(at(0, [figures('a'), figures('b')]));
  const failed: ServerSnapshot = {
    name: 'b',
    backend: 'stan',
    nodes: [{ node: 'n1', url: 'http://n1:8222', durationSeconds: 5, failure: { reason: 'timeout', message: 'GET serverz took over 5 s' }, checkedPages: 0 }],
    claimers: [],
    channels: [],
    ageLookups: 0,
  };
  history.record(at(15, [figures('a'), failed], [{ server: 'a', subject: 'orders', group: 'workers', durable: '', messages: 4, bytes: 40, reports: 1 }]));
  assert.deepEqual(
    [...history.rows()].map((r) => [r.server, r.clientPending, r.unacked, r.oldestAge]),
    [['a', 4, 4, null]],
  );
});

test('the arrays grow past their first size without losing figures', () => {
  const history = new RecentCollections();
  const many = (n: number, pending: number) =>
    server(
      'a',
      Array.from({ length: n }, (_, i) => channel(`c.${i}`, pending, [consumer('g', '', { pending, lastSent: pending })])),
    );
  history.record(at(0, [many(10, 1)]));
  history.record(at(15, [many(1000, 2)]));
  const rows = [...history.rows()];
  assert.equal(rows.length, 1000);
  assert.deepEqual(rows.find((r) => r.subject === 'c.3')!.pendingHistory, [1, 2]);
  assert.deepEqual(rows.find((r) => r.subject === 'c.999')!.pendingHistory, [null, 2]);
});

test('queues of two JetStream accounts with the same stream, group and durable stay apart', () => {
  const history = new RecentCollections();
  const stream = (account: string | undefined, pending: number): Channel => ({
    ...channel('orders', pending, [consumer('', 'workers', { pending })]),
    ...(account ? { account } : {}),
  });
  history.record(at(0, [{ ...server('js', [stream(undefined, 1), stream('billing', 2)]), backend: 'jetstream' }]));
  assert.deepEqual(
    [...history.rows()].map((r) => [r.account, r.subject, r.pending]),
    [
      ['billing', 'orders', 2],
      [null, 'orders', 1],
    ],
  );
});

test('each row carries its time to drain and the rates it comes from', () => {
  const history = new RecentCollections();
  const queue = (pending: number, lastSent: number, lastSeq: number) =>
    server('a', [channel('orders', lastSeq, [consumer('workers', '', { pending, undelivered: pending, lastSent })])]);
  history.record(at(0, [queue(600, 100, 700)]));
  assert.deepEqual(
    [...history.rows()].map((r) => [r.drainSeconds, r.rates]),
    [[null, null]],
    'a first collection has no rates',
  );
  // 60 published and 120 acked in 60 s: 60 fewer pending, 540 left at 1 a second.
  history.record(at(60, [queue(540, 220, 760)]));
  assert.deepEqual(
    [...history.rows()].map((r) => [r.drainSeconds, r.rates]),
    [[540, { published: 1, acked: 2, windowSeconds: 60 }]],
  );
  history.record(at(120, [queue(600, 220, 880)]));
  assert.deepEqual(
    [...history.rows()].map((r) => r.drainSeconds),
    ['growing'],
    'pending is back where it was 120 s ago',
  );
  history.record(at(180, [queue(0, 880, 880)]));
  assert.deepEqual(
    [...history.rows()].map((r) => r.drainSeconds),
    [0],
  );
});
