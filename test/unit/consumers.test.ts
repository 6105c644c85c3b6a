import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildChannel, evictedMessages, undeliveredMessages } from '../../src/model/consumers.js';
import type { Subscription } from '../../src/model/types.js';

const facts = { name: 'c', messages: 0, bytes: 0, firstSeq: 1, lastSeq: 0, subscriptionCount: 0 };
const member = (over: Partial<Subscription>): Subscription => ({
  clientId: 'c1',
  inbox: '',
  group: 'g',
  durable: '',
  unacked: 0,
  lastSent: 0,
  maxInflight: 10,
  ackWaitSeconds: 30,
  stalled: false,
  offline: false,
  index: 0,
  ...over,
});

test('undelivered counts from the cursor, or from the oldest message still held when the cursor is behind it', () => {
  assert.equal(undeliveredMessages(100, 1, 40), 60);
  assert.equal(undeliveredMessages(100, 1, 100), 0);
  // Store limits evicted 1..50: a consumer at 10 can only still get 51..100.
  assert.equal(undeliveredMessages(100, 51, 10), 50);
  // A new-only subscriber starts at last_seq and never goes negative.
  assert.equal(undeliveredMessages(100, 1, 120), 0);
  // An empty channel (first_seq 1, last_seq 0).
  assert.equal(undeliveredMessages(0, 1, 0), 0);
});

test('evicted counts the messages store limits removed after the cursor, before the consumer got them', () => {
  // Limits evicted 1..50; a consumer at 10 never got 11..50.
  assert.equal(evictedMessages(51, 10), 40);
  assert.equal(evictedMessages(51, 50), 0);
  assert.equal(evictedMessages(51, 70), 0);
  // A channel that never held a message, and one whose first message is still held.
  assert.equal(evictedMessages(0, 0), 0);
  assert.equal(evictedMessages(1, 0), 0);
  const channel = buildChannel({ ...facts, firstSeq: 51, lastSeq: 100 }, [member({ durable: 'audit', lastSent: 10, offline: true })]);
  assert.deepEqual(
    channel.consumers.map((c) => [c.evicted, c.undelivered, c.offline]),
    [[40, 50, true]],
  );
});

test('a queue group shares one cursor: the highest last_sent of its members', () => {
  const channel = buildChannel({ ...facts, lastSeq: 50 }, [
    member({ clientId: 'a', lastSent: 30, unacked: 4 }),
    member({ clientId: 'b', lastSent: 42, unacked: 10, stalled: true }),
  ]);
  assert.deepEqual(channel.consumers, [
    {
      group: 'g',
      durable: '',
      lastSent: 42,
      undelivered: 8,
      unacked: 14,
      pending: 22,
      members: 2,
      stalledMembers: 1,
      maxInflight: 20,
      offline: false,
      evicted: 0,
    },
  ]);
});

test('groups with the same name but different durables are different consumers, ordered by group and durable', () => {
  const channel = buildChannel({ ...facts, lastSeq: 5 }, [
    member({ durable: 'd1', lastSent: 5 }),
    member({ durable: 'd2', lastSent: 1 }),
    member({ durable: '', lastSent: 3 }),
  ]);
  assert.deepEqual(
    channel.consumers.map((c) => [c.durable, c.undelivered]),
    [
      ['', 2],
      ['d1', 0],
      ['d2', 4],
    ],
  );
});

test("a channel's subscriptions in any server order make the same channel: members of one consumer keep their order", () => {
  const subs = [
    member({ clientId: 'a', group: 'g2' }),
    member({ clientId: 'b', group: 'g1', lastSent: 4 }),
    member({ clientId: 'a', group: '', durable: 'd' }),
    member({ clientId: 'c', group: 'g1', lastSent: 2 }),
    member({ clientId: 'a', group: '' }),
  ];
  // nats-streaming-server lists queue groups and offline durables from Go maps: the groups' order changes.
  const reordered = [subs[4]!, subs[1]!, subs[3]!, subs[0]!, subs[2]!].map((s) => ({ ...s }));
  const a = buildChannel(
    facts,
    subs.map((s) => ({ ...s })),
  );
  const b = buildChannel(facts, reordered);
  assert.deepEqual(b, a);
  assert.deepEqual(
    a.subscriptions.map((s) => `${s.clientId}/${s.group}/${s.durable}`),
    ['a//', 'a//d', 'b/g1/', 'c/g1/', 'a/g2/'],
  );
});

test('subscriptions sharing client, group and durable are numbered in server order', () => {
  const channel = buildChannel(facts, [
    member({ clientId: 'a', group: '' }),
    member({ clientId: 'a', group: '' }),
    member({ clientId: 'b', group: '' }),
    member({ clientId: 'a', group: 'g' }),
    member({ clientId: 'a', group: '' }),
  ]);
  assert.deepEqual(
    channel.subscriptions.map((s) => `${s.clientId}/${s.group}/${s.index}`),
    ['a//0', 'a//1', 'b//0', 'a//2', 'a/g/0'],
  );
  assert.deepEqual(
    channel.consumers.map((c) => c.group),
    ['g'],
  );
});

test('small channels (scanned) and large ones (keyed) number subscriptions and sum consumers alike', () => {
  for (const size of [10, 40, 400]) {
    const subs = Array.from({ length: size }, (_, k) =>
      member({
        clientId: `c${k % 3}`,
        group: k % 2 ? 'g' : '',
        durable: k % 5 === 0 ? 'd' : '',
        lastSent: k,
        unacked: 1,
        offline: k % 7 === 0,
        stalled: k % 4 === 0,
      }),
    );
    const same = (a: Subscription, b: Subscription) => a.clientId === b.clientId && a.group === b.group && a.durable === b.durable;
    // Subscriptions are ordered by group, then durable (stable: members keep the server's order).
    const ordered = [...subs].sort((a, b) => (a.group === b.group ? (a.durable < b.durable ? -1 : a.durable > b.durable ? 1 : 0) : a.group < b.group ? -1 : 1));
    const expectedIndexes = ordered.map((s, i) => ordered.slice(0, i).filter((o) => same(o, s)).length);
    const owners = ordered.filter((s) => s.group !== '' || s.durable !== '');
    const keys = [...new Set(owners.map((s) => `${s.group}/${s.durable}`))];
    const expectedConsumers = keys.map((key) => {
      const members = owners.filter((s) => `${s.group}/${s.durable}` === key);
      const online = members.filter((s) => !s.offline);
      return [key, Math.max(...members.map((s) => s.lastSent)), members.length, online.length, online.filter((s) => s.stalled).length];
    });
    const channel = buildChannel({ ...facts, lastSeq: size }, subs);
    assert.deepEqual(
      channel.subscriptions.map((s) => s.index),
      expectedIndexes,
      `${size} subscriptions`,
    );
    assert.deepEqual(
      channel.consumers.map((c) => [`${c.group}/${c.durable}`, c.lastSent, c.unacked, c.members, c.stalledMembers]),
      expectedConsumers,
      `${size} subscriptions`,
    );
  }
});
