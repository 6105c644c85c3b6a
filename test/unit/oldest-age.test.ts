import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildChannel } from '../../src/model/consumers.js';
import { firstUndelivered, type MessageTimes, OldestAges } from '../../src/model/oldest-age.js';
import { POINTS_PER_CHANNEL, PublishHistory } from '../../src/model/publish-history.js';
import type { Subscription } from '../../src/model/types.js';

const member = (over: Partial<Subscription>): Subscription => ({
  clientId: 'c1',
  inbox: '',
  group: 'g',
  durable: 'd',
  unacked: 0,
  lastSent: 0,
  maxInflight: 10,
  ackWaitSeconds: 30,
  stalled: false,
  offline: false,
  index: 0,
  ...over,
});
const channel = (lastSeq: number, cursor: number, firstSeq = 1) =>
  buildChannel({ name: 'jobs', messages: lastSeq - firstSeq + 1, bytes: 0, firstSeq, lastSeq, subscriptionCount: 1 }, [member({ lastSent: cursor })]);
const never = new AbortController().signal;

test('a message published between two scrapes is placed between them by its sequence', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 10, 1000);
  h.record('s', 'c', 10, 2000);
  h.record('s', 'c', 20, 3000);
  // 11..20 were published after 2000 (last seen at 10) and by 3000 (first seen at 20).
  assert.deepEqual(h.publishTime('s', 'c', 20), { kind: 'estimated', atMs: 3000 });
  assert.deepEqual(h.publishTime('s', 'c', 15), { kind: 'estimated', atMs: 2500 });
  // 10 and older were there when the history began: only "no later than".
  assert.deepEqual(h.publishTime('s', 'c', 10), { kind: 'at_least', atMs: 1000 });
  assert.equal(h.publishTime('s', 'other', 1), undefined);
});

test('a full history thins its densest inner points and keeps its first and last', () => {
  const h = new PublishHistory();
  for (let i = 0; i < POINTS_PER_CHANNEL * 4; i++) h.record('s', 'c', (i + 1) * 10, i * 1000);
  const last = POINTS_PER_CHANNEL * 4 - 1;
  assert.deepEqual(h.publishTime('s', 'c', 10), { kind: 'at_least', atMs: 0 }, 'the first point stays');
  assert.deepEqual(h.publishTime('s', 'c', (last + 1) * 10), { kind: 'estimated', atMs: last * 1000 }, 'the newest point stays exact');
  // Every estimate stays inside the true bracket (published after the scrape before it, by the one after).
  for (let seq = 11; seq <= (last + 1) * 10; seq++) {
    const t = h.publishTime('s', 'c', seq);
    assert.equal(t?.kind, 'estimated');
    const truthAfter = (Math.ceil(seq / 10) - 2) * 1000;
    const truthBy = (Math.ceil(seq / 10) - 1) * 1000;
    assert.ok(t.atMs > truthAfter && t.atMs <= truthBy, `seq ${seq} estimated at ${t.atMs}, published in (${truthAfter}, ${truthBy}]`);
  }
});

test('a channel made again (its sequence went back) starts a new history', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 50, 1000);
  h.record('s', 'c', 60, 2000);
  h.record('s', 'c', 3, 3000);
  assert.deepEqual(h.publishTime('s', 'c', 2), { kind: 'at_least', atMs: 3000 });
});

test('ages: exact from a looked-up timestamp, estimated from the history, lower bound before that', async () => {
  const looked: Array<[string, number]> = [];
  const times: MessageTimes = { lookup: async (ch, seq) => (looked.push([ch, seq]), seq === 5 ? 10_000 : undefined) };
  const exact = new OldestAges({ lookupsPerScrape: 10, concurrency: 2 });
  const c = channel(8, 4);
  assert.equal(firstUndelivered(c, c.consumers[0]!), 5);
  assert.equal(await exact.annotate('s', [c], 70_000, times, never), 1);
  assert.deepEqual(c.consumers[0]!.oldestUndeliveredAge, { seconds: 60, kind: 'exact' });
  // Cached: the same cursor is not looked up again.
  const again = channel(9, 4);
  assert.equal(await exact.annotate('s', [again], 80_000, times, never), 0);
  assert.deepEqual(again.consumers[0]!.oldestUndeliveredAge, { seconds: 70, kind: 'exact' });
  assert.deepEqual(looked, [['jobs', 5]]);

  const watched = new OldestAges({ lookupsPerScrape: 10, concurrency: 2 });
  const before = channel(4, 4);
  await watched.annotate('s', [before], 1000, undefined, never);
  assert.deepEqual(before.consumers[0]!.oldestUndeliveredAge, { seconds: 0, kind: 'exact' }, 'nothing waits: 0');
  const after = channel(5, 4);
  await watched.annotate('s', [after], 3000, undefined, never);
  assert.deepEqual(after.consumers[0]!.oldestUndeliveredAge, { seconds: 0, kind: 'estimated' });
  const later = channel(5, 4);
  await watched.annotate('s', [later], 63_000, undefined, never);
  assert.deepEqual(later.consumers[0]!.oldestUndeliveredAge, { seconds: 60, kind: 'estimated' });

  const fresh = new OldestAges({ lookupsPerScrape: 10, concurrency: 2 });
  const old = channel(5, 4);
  await fresh.annotate('s', [old], 100_000, undefined, never);
  assert.deepEqual(old.consumers[0]!.oldestUndeliveredAge, { seconds: 0, kind: 'at_least' }, 'never a precise young age');
  const older = channel(5, 4);
  await fresh.annotate('s', [older], 130_000, undefined, never);
  assert.deepEqual(older.consumers[0]!.oldestUndeliveredAge, { seconds: 30, kind: 'at_least' });
});

test('ages: at most lookupsPerScrape lookups; a cursor past its last exact message keeps that age until looked up', async () => {
  let calls = 0;
  const times: MessageTimes = { lookup: async (_ch, seq) => (calls++, seq * 1000) };
  const ages = new OldestAges({ lookupsPerScrape: 1, concurrency: 1 });
  const channels = ['a', 'b', 'c'].map((name) =>
    buildChannel({ name, messages: 9, bytes: 0, firstSeq: 1, lastSeq: 9, subscriptionCount: 1 }, [member({ lastSent: 2 })]),
  );
  assert.equal(await ages.annotate('s', channels, 100_000, times, never), 1);
  assert.equal(calls, 1);
  assert.deepEqual(
    channels.map((c) => c.consumers[0]!.oldestUndeliveredAge?.kind),
    ['exact', 'at_least', 'at_least'],
  );
  // The cursor of "a" moves past its looked-up message; with no lookup left it keeps that message's age, which is older.
  const none = new OldestAges({ lookupsPerScrape: 1, concurrency: 1 });
  await none.annotate('s', [channels[0]!], 100_000, times, never);
  const moved = buildChannel({ name: 'a', messages: 9, bytes: 0, firstSeq: 1, lastSeq: 9, subscriptionCount: 1 }, [member({ lastSent: 5 })]);
  await none.annotate('s', [moved], 110_000, { lookup: async () => undefined }, never);
  assert.deepEqual(moved.consumers[0]!.oldestUndeliveredAge, { seconds: 107, kind: 'estimated' });
});

test('ages: lookups go first to messages the history cannot place (a stuck queue older than it), then to the rest', async () => {
  const looked: Array<[string, number]> = [];
  const times: MessageTimes = { lookup: async (ch, seq) => (looked.push([ch, seq]), 500) };
  const ages = new OldestAges({ lookupsPerScrape: 1, concurrency: 1 });
  const make = (name: string, lastSeq: number, cursor: number) =>
    buildChannel({ name, messages: lastSeq, bytes: 0, firstSeq: 1, lastSeq, subscriptionCount: 1 }, [member({ lastSent: cursor })]);
  await ages.annotate('s', [make('moving', 5, 5), make('stuck', 5, 2)], 1000, undefined, never);
  // "moving" got message 6 since the last scrape: the history places it. "stuck" waits on 3, older than the history.
  const now = [make('moving', 6, 5), make('stuck', 5, 2)];
  await ages.annotate('s', now, 2000, times, never);
  assert.deepEqual(looked, [['stuck', 3]]);
  assert.deepEqual(
    now.map((c) => c.consumers[0]!.oldestUndeliveredAge?.kind),
    ['estimated', 'exact'],
  );
});
