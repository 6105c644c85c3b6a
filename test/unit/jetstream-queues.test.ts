import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel, Consumer } from '../../src/model/types.js';
import { ledBy, type NodeStream, NodeStreams, nodeStreams } from '../../src/sources/jetstream/leaders.js';
import { JszNodeReader } from '../../src/sources/jetstream/node-reader.js';
import { type JszConsumer, parseJszPage } from '../../src/sources/jetstream/parse.js';
import { LogicalChannels, logicalServerChannels, onlineMembers, PULL_ACTIVITY_WINDOW_MS, streamQueues } from '../../src/sources/jetstream/queues.js';
import { jszFixture, recordedServer } from '../../harness/jsz-fixtures.js';

// Recorded from nats-server v2.12.15 (see test/fixtures/jetstream/README.md).

async function readNode(prefix: string): Promise<NodeStream[]> {
  return (await new JszNodeReader(1024).read(recordedServer(prefix).get)).streams;
}

function queues(channels: readonly Channel[], stream: string): Map<string, Consumer> {
  const channel = channels.find((c) => c.name === stream);
  assert.ok(channel, `stream ${stream}`);
  return new Map(channel.consumers.map((c) => [`${c.group}|${c.durable}`, c]));
}

function recordedConsumer(name: string): JszConsumer {
  const page = parseJszPage(jszFixture('standalone/jsz-offset-0-limit-1024.json'), 'jsz');
  return page.accounts[0]!.streams.flatMap((s) => s.consumers).find((c) => c.name === name)!;
}

test("standalone: each durable is a queue with the figures of the issue's mapping", async () => {
  const channels = logicalServerChannels([await readNode('standalone/')]);
  assert.deepEqual(channels.map((c) => [c.name, c.account, c.messages, c.firstSeq, c.lastSeq, c.subscriptionCount]).sort(), [
    ['jobs', undefined, 10, 1, 10, 5],
    ['orders', undefined, 25, 1, 25, 2],
  ]);

  const orders = queues(channels, 'orders');
  // 25 published, 5 fetched and not acked; no pull request waits, but it delivered a second ago.
  assert.deepEqual(orders.get('|billing'), {
    group: '',
    durable: 'billing',
    lastSent: 5,
    undelivered: 20,
    unacked: 5,
    pending: 25,
    members: 1,
    stalledMembers: 0,
    maxInflight: 100,
    offline: false,
    evicted: 0,
    redelivered: 0,
    // Every message after the cursor is its own, and the ack floor is just below the first fetched.
    undeliveredRange: { from: 6, to: 6, firstOn: [] },
    oldestUnacked: { from: 1, to: 1, firstOn: [] },
  });
  // 3 fetched of max ack pending 3: the server sends nothing more although a pull request waits.
  assert.deepEqual(orders.get('|slow'), {
    group: '',
    durable: 'slow',
    lastSent: 3,
    undelivered: 22,
    unacked: 3,
    pending: 25,
    members: 1,
    stalledMembers: 1,
    maxInflight: 3,
    offline: false,
    evicted: 0,
    redelivered: 0,
    undeliveredRange: { from: 4, to: 4, firstOn: [] },
    oldestUnacked: { from: 1, to: 1, firstOn: [] },
  });

  const jobs = queues(channels, 'jobs');
  // A push durable in deliver group "workers" with no subscriber: offline, only jobs.a counts.
  assert.deepEqual(jobs.get('workers|a-ledger'), {
    group: 'workers',
    durable: 'a-ledger',
    lastSent: 0,
    undelivered: 6,
    unacked: 0,
    pending: 6,
    members: 0,
    stalledMembers: 0,
    maxInflight: 1000,
    offline: true,
    evicted: 0,
    redelivered: 0,
    // Its 6 messages lie among the stream's 10: the first of them is no later than 10 - 6 + 1.
    undeliveredRange: { from: 1, to: 5, firstOn: ['jobs.a'] },
    oldestUnacked: null,
  });
  // Bound to a queue subscriber that received jobs.b's 4 messages (stream sequences 7..10).
  assert.deepEqual(jobs.get('bworkers|b-bound'), {
    group: 'bworkers',
    durable: 'b-bound',
    lastSent: 10,
    undelivered: 0,
    unacked: 4,
    pending: 4,
    members: 1,
    stalledMembers: 0,
    maxInflight: 1000,
    offline: false,
    evicted: 0,
    redelivered: 0,
    // Its 4 unacked messages lie at or below its cursor 10: the oldest is no later than 7.
    oldestUnacked: { from: 1, to: 7, firstOn: ['jobs.b'] },
  });
  // Two ephemeral push consumers of group "eph" (jobs.a: 6, jobs.b: 4) are one queue, never offline.
  assert.deepEqual(jobs.get('eph|'), {
    group: 'eph',
    durable: '',
    lastSent: 0,
    undelivered: 10,
    unacked: 0,
    pending: 10,
    members: 0,
    stalledMembers: 0,
    maxInflight: 2000,
    offline: false,
    evicted: 0,
    redelivered: 0,
    // The first of the two consumers' ranges (1..5 and 1..7), with no lookup that finds it.
    undeliveredRange: { from: 1, to: 5 },
    oldestUnacked: null,
  });
  assert.equal(jobs.size, 3, 'the ephemeral pull consumer without a group has no queue of its own');
});

test('a pull consumer without a waiting request counts as online only while it was active lately', () => {
  const billing = recordedConsumer('billing');
  assert.equal(billing.numWaiting, 0);
  assert.equal(onlineMembers(billing), 1);
  const idle = { ...billing, readAtMs: billing.lastDeliveryMs! + PULL_ACTIVITY_WINDOW_MS + 1 };
  assert.equal(onlineMembers(idle), 0);
  assert.deepEqual(
    streamQueues([idle], 1, 25).map((q) => [q.members, q.offline]),
    [[0, true]],
  );
  const ackedLately = { ...idle, lastAckMs: idle.readAtMs - 1_000 };
  assert.equal(onlineMembers(ackedLately), 1);
  const waiting = { ...idle, numWaiting: 2 };
  assert.equal(onlineMembers(waiting), 2, 'each waiting pull request is a member');
});

test('a push consumer is online while bound, whatever its activity', () => {
  const bound = recordedConsumer('b-bound');
  assert.equal(onlineMembers({ ...bound, readAtMs: bound.readAtMs + 3_600_000 }), 1);
  assert.equal(onlineMembers({ ...bound, pushBound: false }), 0);
});

test("leader filter: only the record whose cluster.leader is the node's own name counts", () => {
  assert.equal(ledBy(undefined, 'n1'), true, 'standalone consumers have no cluster');
  assert.equal(ledBy({ leader: 'n1' }, 'n1'), true);
  assert.equal(ledBy({ leader: 'n1' }, 'n2'), false);
  assert.equal(ledBy({ leader: '' }, 'n1'), false, 'no leader (an election): nobody counts');
});

const CPULL = {
  group: '',
  durable: 'cpull',
  lastSent: 4,
  undelivered: 8,
  unacked: 4,
  pending: 12,
  members: 1,
  stalledMembers: 0,
  maxInflight: 1000,
  offline: false,
  evicted: 0,
  redelivered: 0,
  undeliveredRange: { from: 5, to: 5, firstOn: [] },
  oldestUnacked: { from: 1, to: 1, firstOn: [] },
};

test('3-node cluster: the R3 consumer is counted once, from its leader, in any node order', async () => {
  const [n1, n2, n3] = await Promise.all(['n1', 'n2', 'n3'].map((n) => readNode(`cluster/${n}-`)));
  assert.deepEqual(
    [n1!, n2!, n3!].map((s) => s[0]!.stream.consumers.length),
    [1, 0, 0],
    'n1 leads cpull; n2 and n3 only replicate it',
  );
  assert.deepEqual(
    [n1!, n2!, n3!].map((s) => s[0]!.led),
    [false, false, true],
    'n3 leads the stream',
  );
  for (const order of [
    [n1!, n2!, n3!],
    [n3!, n2!, n1!],
    [n2!, n1!, n3!],
  ]) {
    const channels = logicalServerChannels(order);
    assert.equal(channels.length, 1);
    assert.deepEqual(channels[0]!.consumers, [CPULL]);
    assert.equal(channels[0]!.lastSeq, 12);
  }
});

test('3-node cluster after a consumer leader step-down: the same queue and figures, now from n2', async () => {
  const after = await Promise.all(
    ['n1', 'n2', 'n3'].map((n) => nodeStreams(parseJszPage(jszFixture(`cluster/after-stepdown/${n}-jsz-offset-0-limit-1024.json`), 'jsz').accounts, n)),
  );
  assert.deepEqual(
    after.map((s) => s[0]!.stream.consumers.length),
    [0, 1, 0],
  );
  assert.deepEqual(logicalServerChannels(after)[0]!.consumers, [CPULL]);
  // n1 lost: n2 still leads the consumer and n3 the stream.
  assert.deepEqual(logicalServerChannels([after[1]!, after[2]!])[0]!.consumers, [CPULL]);
});

test("3-node cluster with the consumer leader gone and none elected yet: no figures rather than a follower's 0", async () => {
  const [n2, n3] = await Promise.all(['n2', 'n3'].map((n) => readNode(`cluster/${n}-`)));
  const channels = logicalServerChannels([n2!, n3!]);
  assert.equal(channels.length, 1, 'the stream stays, from its leader n3');
  assert.deepEqual(channels[0]!.consumers, []);
});

test('accounts other than the default get their name as account; shared names fall back to ids', () => {
  const accounts = parseJszPage(jszFixture('accounts/jsz-offset-0-limit-3.json'), 'jsz').accounts;
  const serverName = 'irrelevant: standalone consumers have no cluster';
  const channels = logicalServerChannels([nodeStreams(accounts, serverName)]);
  assert.deepEqual(channels.map((c) => [c.account, c.name, c.consumers[0]!.undelivered]).sort(), [
    ['TEAM_A', 'orders', 3],
    ['TEAM_B', 'orders', 4],
    ['TEAM_C', 'orders', 2],
  ]);

  const sameName = accounts.map((a) => (a.id === 'TEAM_B' ? { ...a, name: 'TEAM_A' } : a));
  const relabelled = logicalServerChannels([nodeStreams(sameName, serverName)]);
  assert.deepEqual(relabelled.map((c) => c.account).sort(), ['TEAM_A', 'TEAM_B', 'TEAM_C'], 'the two accounts named TEAM_A are told apart by id');
});

test("evicted: what the stream discarded between a whole-stream consumer's cursor and its first sequence", () => {
  const billing = recordedConsumer('billing');
  assert.equal(billing.deliveredStreamSeq, 5);
  assert.deepEqual(
    streamQueues([billing], 1, 25).map((q) => q.evicted),
    [0],
  );
  assert.deepEqual(
    streamQueues([billing], 9, 25).map((q) => q.evicted),
    [3],
    'sequences 6, 7 and 8 went before it got them',
  );
  const filtered = recordedConsumer('a-ledger');
  assert.deepEqual(filtered.filterSubjects, ['jobs.a']);
  assert.deepEqual(
    streamQueues([filtered], 9, 10).map((q) => q.evicted),
    [0],
    "a filtered consumer's gap holds other subjects too",
  );
});

test('a URL whose /varz and /jsz come from different servers (a load balancer) is refused', async () => {
  const varzOf = recordedServer('cluster/n1-');
  const jszOf = recordedServer('cluster/n2-');
  const mixed = new JszNodeReader(1024);
  await assert.rejects(
    mixed.read({ body: (path, use) => (path === '/varz' ? varzOf : jszOf).get.body(path, use), json: jszOf.get.json }),
    /\/varz and \/jsz came from different servers .*: give each node's own monitoring URL, not one behind a load balancer/,
  );
  assert.deepEqual(varzOf.asked, ['/varz', '/varz'], '/varz is asked again before giving up: the server may just have restarted');
});

test('the server name is asked once per server process', async () => {
  const n1 = recordedServer('cluster/n1-');
  const reader = new JszNodeReader(1024);
  await reader.read(n1.get);
  await reader.read(n1.get);
  assert.deepEqual(
    n1.asked.filter((p) => p === '/varz'),
    ['/varz'],
  );
});

test('a stream read the same again is the channel made last time, object for object; one that moved, or whose pull consumer went idle with time alone, is made again', async () => {
  const server = recordedServer('standalone/');
  const reader = new JszNodeReader(1024);
  const made = new LogicalChannels();
  const first = (await reader.read(server.get)).streams;
  const before = logicalServerChannels([first], made);
  const again = (await reader.read(server.get)).streams;
  assert.equal(again.length, first.length);
  again.forEach((s, i) => assert.equal(s, first[i], `stream ${s.stream.name}: the same record gives the same NodeStream`));
  const after = logicalServerChannels([again], made);
  assert.deepEqual(after, logicalServerChannels([again]), 'the channels kept are what a cold build makes');
  after.forEach((c, i) => assert.equal(c, before[i], `channel ${c.name}: the same object`));

  // Time alone: the next record's ts is past billing's activity window (reuse sets it in place).
  const orders = again.find((s) => s.stream.name === 'orders')!;
  const billing = orders.stream.consumers.find((c) => c.name === 'billing')!;
  billing.readAtMs = billing.lastDeliveryMs! + PULL_ACTIVITY_WINDOW_MS + 1;
  const idle = logicalServerChannels([again], made);
  assert.deepEqual(idle, logicalServerChannels([again]));
  assert.notEqual(
    idle.find((c) => c.name === 'orders'),
    before.find((c) => c.name === 'orders'),
    'orders is made again',
  );
  assert.deepEqual([queues(idle, 'orders').get('|billing')!.members, queues(idle, 'orders').get('|billing')!.offline], [0, true]);
  assert.equal(
    idle.find((c) => c.name === 'jobs'),
    before.find((c) => c.name === 'jobs'),
    'jobs is still the channel made first',
  );

  // A stream whose record changed is another object: made again, with its new figures.
  const moved = again.map((s) => (s === orders ? { ...s, stream: { ...s.stream, lastSeq: s.stream.lastSeq + 1, messages: s.stream.messages + 1 } } : s));
  const changed = logicalServerChannels([moved], made);
  assert.deepEqual(changed, logicalServerChannels([moved]));
  assert.equal(changed.find((c) => c.name === 'orders')!.lastSeq, 26);
});

test('3-node cluster: a consumer whose leader moved is counted from its new leader, not kept from the old one', async () => {
  const made = new LogicalChannels();
  const [n1, n2, n3] = await Promise.all(['n1', 'n2', 'n3'].map((n) => readNode(`cluster/${n}-`)));
  const before = logicalServerChannels([n1!, n2!, n3!], made);
  assert.equal(logicalServerChannels([n1!, n2!, n3!], made)[0], before[0], 'the same nodes: the same channel');
  const streams = new NodeStreams();
  const after = ['n1', 'n2', 'n3'].map((n) =>
    streams.of(parseJszPage(jszFixture(`cluster/after-stepdown/${n}-jsz-offset-0-limit-1024.json`), 'jsz').accounts, n),
  );
  const moved = logicalServerChannels(after, made);
  assert.notEqual(moved[0], before[0]);
  assert.deepEqual(moved[0]!.consumers, [CPULL]);
  assert.deepEqual(moved, logicalServerChannels(after));
});

test("NodeStreams: the same stream object gives the same NodeStream, unless the node's name changed (it decides which consumers it leads)", () => {
  const accounts = parseJszPage(jszFixture('cluster/n1-jsz-offset-0-limit-1024.json'), 'jsz').accounts;
  const streams = new NodeStreams();
  const asN1 = streams.of(accounts, 'n1');
  assert.equal(streams.of(accounts, 'n1')[0], asN1[0]);
  assert.equal(asN1[0]!.stream.consumers.length, 1, 'n1 leads cpull');
  const asN2 = streams.of(accounts, 'n2');
  assert.notEqual(asN2[0], asN1[0]);
  assert.equal(asN2[0]!.stream.consumers.length, 0);
  assert.deepEqual(asN2, nodeStreams(accounts, 'n2'));
});
