import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LookupPlace, type MessageTimes, OldestAges } from '../../src/model/oldest-age.js';
import { POINTS_PER_CHANNEL, PublishHistory } from '../../src/model/publish-history.js';
import { QuietCursors } from '../../src/model/quiet-cursors.js';
import type { Channel, Consumer } from '../../src/model/types.js';
import { JszNodeReader } from '../../src/sources/jetstream/node-reader.js';
import { logicalServerChannels } from '../../src/sources/jetstream/queues.js';
import { recordedServer } from '../../harness/jsz-fixtures.js';

// The publish history's exact points (JetStream's first_ts and last_ts), and JetStream ages
// from the recorded standalone answer (nats-server v2.12.15, test/fixtures/jetstream/README.md).

const never = new AbortController().signal;

test('last_ts pins the last point to its publish time: exact there, a tighter bound below', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 10, 5000, 1200);
  assert.deepEqual(h.publishTime('s', 'c', 10), { kind: 'exact', atMs: 1200 });
  assert.deepEqual(h.publishTime('s', 'c', 9), { kind: 'at_least', atMs: 1200 }, 'older than the exact last message, not only than the first scrape');
  h.record('s', 'c', 20, 9000, 8000);
  // 11..20 were published after 5000 (10 still last then) and by 8000 (20 published then).
  assert.deepEqual(h.publishTime('s', 'c', 15), { kind: 'estimated', atMs: 5000 + (5 / 10) * 3000 });
  assert.deepEqual(h.publishTime('s', 'c', 20), { kind: 'exact', atMs: 8000 });
});

test('first_ts places messages published before the first scrape between the two anchors', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 21, 100_000, 60_000);
  h.anchorFirst('s', 'c', 1, 20_000);
  assert.deepEqual(h.publishTime('s', 'c', 1), { kind: 'exact', atMs: 20_000 });
  assert.deepEqual(h.publishTime('s', 'c', 11), { kind: 'estimated', atMs: 40_000 });
  assert.deepEqual(h.publishTime('s', 'c', 21), { kind: 'exact', atMs: 60_000 });
  // Messages 1..5 went (limits): the first anchor moves up and the points below it go.
  h.anchorFirst('s', 'c', 6, 30_000);
  assert.deepEqual(h.publishTime('s', 'c', 6), { kind: 'exact', atMs: 30_000 });
  assert.deepEqual(h.publishTime('s', 'c', 3), { kind: 'at_least', atMs: 30_000 });
  assert.deepEqual(h.publishTime('s', 'c', 16), { kind: 'estimated', atMs: 30_000 + (10 / 15) * 30_000 });
});

test('an empty stream (first_seq above last_seq) anchors nothing; a full history still takes the first anchor', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 4, 1000, 900);
  h.anchorFirst('s', 'c', 5, 950);
  assert.deepEqual(h.publishTime('s', 'c', 4), { kind: 'exact', atMs: 900 });
  const full = new PublishHistory();
  for (let i = 0; i < POINTS_PER_CHANNEL; i++) full.record('s', 'c', 100 + i * 10, 10_000 + i * 1000);
  full.anchorFirst('s', 'c', 50, 2000);
  assert.deepEqual(full.publishTime('s', 'c', 50), { kind: 'exact', atMs: 2000 });
  assert.deepEqual(full.publishTime('s', 'c', 100), { kind: 'estimated', atMs: 10_000 }, 'between the anchor and the first scrape');
  const last = 100 + (POINTS_PER_CHANNEL - 1) * 10;
  assert.deepEqual(full.publishTime('s', 'c', last), { kind: 'estimated', atMs: 10_000 + (POINTS_PER_CHANNEL - 1) * 1000 }, 'the newest point stays');
});

test('a message known only to lie between two sequences: estimated within one span, else a lower bound from the later', () => {
  const h = new PublishHistory();
  h.record('s', 'c', 10, 1000);
  h.record('s', 'c', 20, 2000);
  h.record('s', 'c', 30, 3000);
  assert.deepEqual(h.publishTimeBetween('s', 'c', 22, 28), { kind: 'estimated', atMs: 2000 + (8 / 10) * 1000 });
  // 15..25: published after 1000 and no later than 25 was, that is by 3000.
  assert.deepEqual(h.publishTimeBetween('s', 'c', 15, 25), { kind: 'at_least', atMs: 3000 });
  assert.deepEqual(h.publishTimeBetween('s', 'c', 5, 8), { kind: 'at_least', atMs: 1000 });
  assert.deepEqual(h.publishTimeBetween('s', 'c', 25, 25), h.publishTime('s', 'c', 25));
  const anchored = new PublishHistory();
  anchored.record('s', 'c', 10, 9000, 8000);
  anchored.anchorFirst('s', 'c', 1, 4000);
  assert.deepEqual(anchored.publishTimeBetween('s', 'c', 2, 5), { kind: 'estimated', atMs: 4000 + (4 / 9) * 4000 });
  // 1..5 takes in the first message, which was published at 4000: the first of them may be any.
  assert.deepEqual(anchored.publishTimeBetween('s', 'c', 1, 5), { kind: 'at_least', atMs: 8000 });
});

async function recordedChannels(): Promise<Channel[]> {
  const read = await new JszNodeReader(1024).read(recordedServer('standalone/').get);
  return logicalServerChannels([read.streams]);
}

function queue(channels: readonly Channel[], stream: string, group: string, durable: string): Consumer {
  const q = channels.find((c) => c.name === stream)?.consumers.find((c) => c.group === group && c.durable === durable);
  assert.ok(q, `${stream} ${group}|${durable}`);
  return q;
}

test('recorded stream: an exporter that just started places its messages between first_ts and last_ts, and says "at least" where it cannot tell which is next', async () => {
  const channels = await recordedChannels();
  const orders = channels.find((c) => c.name === 'orders')!;
  const first = Date.parse('2026-12-01T18:55:45.90292343Z');
  const last = Date.parse('2026-12-01T18:55:45.92395315Z');
  assert.deepEqual([orders.firstPublishedMs, orders.lastPublishedMs], [first, last]);
  const now = last + 60_000;
  await new OldestAges({ lookupsPerScrape: 10, concurrency: 1 }).annotate('js', channels, now, undefined, never);
  const billing = queue(channels, 'orders', '', 'billing');
  // Its next message is 6 of 1..25; its oldest unacked is 1, published at first_ts.
  assert.deepEqual(billing.oldestUndeliveredAge, { seconds: (now - (first + (5 / 24) * (last - first))) / 1000, kind: 'estimated' });
  assert.deepEqual(billing.oldestUnackedAge, { seconds: (now - first) / 1000, kind: 'exact' });
  // a-ledger takes jobs.a only: its first message is one of 1..5, published by last_ts at the latest.
  const jobsLast = Date.parse('2026-12-01T18:55:45.94841387Z');
  const ledger = queue(channels, 'jobs', 'workers', 'a-ledger');
  assert.deepEqual(ledger.oldestUndeliveredAge, { seconds: (now - jobsLast) / 1000, kind: 'at_least' });
  assert.deepEqual(ledger.oldestUnackedAge, { seconds: 0, kind: 'exact' }, 'nothing unacked: 0');
  // b-bound got all of jobs.b; its 4 unacked lie in 1..7 of 1..10.
  const bound = queue(channels, 'jobs', 'bworkers', 'b-bound');
  assert.deepEqual(bound.oldestUndeliveredAge, { seconds: 0, kind: 'exact' });
  assert.deepEqual(bound.oldestUnackedAge, { seconds: (now - jobsLast) / 1000, kind: 'at_least' });
});

test('recorded stream with lookups: a filtered consumer is looked up as the next message on its subjects, a summed group only when its message is known', async () => {
  const channels = await recordedChannels();
  const asked: Array<[string, number, LookupPlace | undefined]> = [];
  const times: MessageTimes = { lookup: async (channel, seq, _signal, where) => (asked.push([channel, seq, where]), 1_000_000 + seq) };
  const ages = new OldestAges({ lookupsPerScrape: 20, concurrency: 1 });
  const looked = await ages.annotate('js', channels, 2_000_000, times, never);
  assert.deepEqual(
    asked.sort((a, b) => (a[0] + a[1] + JSON.stringify(a[2])).localeCompare(b[0] + b[1] + JSON.stringify(b[2]))),
    [
      ['jobs', 1, { firstOn: ['jobs.a'] }],
      ['jobs', 1, { firstOn: ['jobs.b'] }],
      ['orders', 1, undefined],
      ['orders', 4, undefined],
      ['orders', 6, undefined],
    ],
  );
  assert.equal(looked, asked.length);
  assert.deepEqual(queue(channels, 'jobs', 'workers', 'a-ledger').oldestUndeliveredAge, { seconds: (2_000_000 - 1_000_001) / 1000, kind: 'exact' });
  assert.deepEqual(queue(channels, 'orders', '', 'slow').oldestUndeliveredAge, { seconds: (2_000_000 - 1_000_004) / 1000, kind: 'exact' });
  // The ephemeral group "eph" (two consumers, jobs.a and jobs.b) is not looked up: a search from
  // the first cursor on its subjects could find a message one of them already had.
  assert.notEqual(queue(channels, 'jobs', 'eph', '').oldestUndeliveredAge?.kind, 'exact');
});

test('channels of two accounts with one name keep their own history', async () => {
  const h = new OldestAges({ lookupsPerScrape: 0, concurrency: 1 });
  const channel = (account: string, lastSeq: number, lastPublishedMs: number): Channel => ({
    account,
    name: 'orders',
    messages: lastSeq,
    bytes: 0,
    firstSeq: 1,
    lastSeq,
    firstPublishedMs: 0.5,
    lastPublishedMs,
    subscriptionCount: 1,
    subscriptions: [],
    consumers: [
      {
        group: '',
        durable: 'd',
        lastSent: lastSeq - 1,
        undelivered: 1,
        unacked: 0,
        pending: 1,
        members: 1,
        stalledMembers: 0,
        maxInflight: 0,
        offline: false,
        evicted: 0,
      },
    ],
  });
  const a = channel('A', 5, 1000);
  const b = channel('B', 5, 3000);
  await h.annotate('js', [a, b], 4000, undefined, never);
  assert.deepEqual(
    [a.consumers[0]!.oldestUndeliveredAge, b.consumers[0]!.oldestUndeliveredAge],
    [
      { seconds: 3, kind: 'exact' },
      { seconds: 1, kind: 'exact' },
    ],
  );
  // A connection that sees account B only is asked for B's streams only, with the account named.
  const asked: Array<[string, number, LookupPlace | undefined]> = [];
  const onlyB: MessageTimes = { lookup: async (ch, seq, _signal, where) => (asked.push([ch, seq, where]), 3500), reaches: (account) => account === 'B' };
  const looking = new OldestAges({ lookupsPerScrape: 1, concurrency: 1 });
  const [a2, b2] = [channel('A', 9, 1000), channel('B', 9, 3000)];
  assert.equal(await looking.annotate('js', [a2, b2], 4000, onlyB, never), 1);
  assert.deepEqual(asked, [['orders', 9, { account: 'B' }]]);
});

test('a filtered consumer that had nothing waiting: what waits now came after, so it is placed from there', async () => {
  const ages = new OldestAges({ lookupsPerScrape: 0, concurrency: 1 });
  const channel = (lastSeq: number, undelivered: number): Channel => ({
    name: 'jobs',
    messages: lastSeq,
    bytes: 0,
    firstSeq: 1,
    lastSeq,
    subscriptionCount: 1,
    subscriptions: [],
    consumers: [
      {
        group: '',
        durable: 'onlyb',
        lastSent: 0,
        undelivered,
        unacked: 0,
        pending: undelivered,
        members: 1,
        stalledMembers: 0,
        maxInflight: 0,
        offline: false,
        evicted: 0,
        ...(undelivered > 0 ? { undeliveredRange: { from: 1, to: lastSeq - undelivered + 1, firstOn: ['jobs.b'] } } : {}),
      },
    ],
  });
  const quiet = new QuietCursors();
  const scrape = async (c: Channel, nowMs: number) => {
    quiet.narrow([c]);
    await ages.annotate('js', [c], nowMs, undefined, never);
  };
  await scrape(channel(5, 0), 10_000);
  const later = channel(8, 1);
  await scrape(later, 20_000);
  assert.deepEqual(later.consumers[0]!.undeliveredRange, { from: 6, to: 8, firstOn: ['jobs.b'] });
  // Once its cursor moves, what was quiet says nothing more.
  const moved = channel(9, 1);
  moved.consumers[0]!.lastSent = 2;
  quiet.narrow([moved]);
  assert.deepEqual(moved.consumers[0]!.undeliveredRange, { from: 1, to: 9, firstOn: ['jobs.b'] });
  // Its message is one of 6..8, all published between the two scrapes.
  assert.equal(later.consumers[0]!.oldestUndeliveredAge?.kind, 'estimated');
  const fresh = channel(8, 1);
  await new OldestAges({ lookupsPerScrape: 0, concurrency: 1 }).annotate('js', [fresh], 20_000, undefined, never);
  assert.equal(fresh.consumers[0]!.oldestUndeliveredAge?.kind, 'at_least', 'one of 1..8 for an exporter that saw nothing before');
});
