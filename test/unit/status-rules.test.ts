import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxCollectionAgeMs } from '../../src/http/status/routes.js';
import { explain, judge, type QueueSample, queueRates, timeToDrain } from '../../src/http/status/rules.js';

// Figures of one queue as the model gives them, at t seconds.
function sample(t: number, figures: Partial<QueueSample>): QueueSample {
  return { at: t * 1000, pending: 0, undelivered: 0, lastSent: 0, channelLastSeq: 0, members: 2, stalledMembers: 0, offline: false, ...figures };
}

test('stuck: pending, and since the previous collection neither delivery nor an ack', () => {
  const before = sample(0, { pending: 10, lastSent: 50, channelLastSeq: 55 });
  const now = sample(15, { pending: 12, undelivered: 4, lastSent: 50, channelLastSeq: 57, stalledMembers: 2 });
  assert.equal(judge(now, before, before), 'stuck');
  assert.match(explain('stuck', now, before, before), /cursor unmoved at 50 and nothing acked for 15 s; all 2 member\(s\) stalled/);
});

test('not stuck while acks bring pending down, though nothing new is sent', () => {
  const before = sample(0, { pending: 10, lastSent: 50, channelLastSeq: 50 });
  assert.equal(judge(sample(15, { pending: 6, lastSent: 50, channelLastSeq: 50 }), before, before), 'healthy');
});

test('offline wins over stuck, idle needs nothing pending, a first look has no motion to judge', () => {
  const before = sample(0, { pending: 3, lastSent: 7 });
  assert.equal(judge(sample(15, { pending: 3, lastSent: 7, members: 0, offline: true }), before, before), 'offline');
  assert.equal(judge(sample(15, { lastSent: 9 }), before, before), 'idle');
  assert.equal(judge(sample(15, { pending: 3, lastSent: 7 }), undefined, undefined), 'healthy');
});

test('a first look is never better than its figures: every member stalled with messages waiting is slow, not healthy', () => {
  const now = sample(0, { pending: 118, undelivered: 117, lastSent: 1, channelLastSeq: 118, members: 1, stalledMembers: 1 });
  assert.equal(judge(now, undefined, undefined), 'slow');
  assert.match(
    explain('slow', now, undefined, undefined),
    /^all 1 member\(s\) stalled at their in-flight limit with 117 undelivered waiting: the handlers are the bottleneck; first collection/,
  );
  assert.equal(judge({ ...now, stalledMembers: 0 }, undefined, undefined), 'healthy', 'a member with room takes the next message');
  assert.equal(judge({ ...now, undelivered: 0, pending: 1 }, undefined, undefined), 'healthy', 'all that is pending is in flight');
  const later = sample(15, { pending: 118, undelivered: 117, lastSent: 1, channelLastSeq: 118, members: 1, stalledMembers: 1 });
  assert.equal(judge(later, now, now), 'stuck', 'the next collection shows nothing acked');
});

test('growing over the window: more than 100 pending and more than at its start, members online', () => {
  const start = sample(0, { pending: 90, lastSent: 100, channelLastSeq: 190 });
  const previous = sample(240, { pending: 140, lastSent: 150, channelLastSeq: 290 });
  const now = sample(255, { pending: 150, undelivered: 140, lastSent: 160, channelLastSeq: 310 });
  assert.equal(judge(now, previous, start), 'growing');
  assert.match(explain('growing', now, previous, start), /from 90 to 150 in 255 s/);
  assert.equal(judge({ ...now, members: 0 }, previous, start), 'slow', 'without members it is not growing');
});

test('slow: delivery moves, publishing moves more, messages wait undelivered', () => {
  const start = sample(0, { pending: 5, lastSent: 100, channelLastSeq: 105 });
  const now = sample(60, { pending: 40, undelivered: 38, lastSent: 130, channelLastSeq: 170 });
  assert.equal(judge(now, start, start), 'slow');
  assert.equal(judge({ ...now, channelLastSeq: 130 + 2, undelivered: 2, pending: 4 }, start, start), 'healthy');
});

test('the page reuses a collection for 1.5 scrape intervals while /metrics is scraped, else for 15 s', () => {
  assert.equal(maxCollectionAgeMs(undefined), 15_000, 'never scraped');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 5_000, intervalMs: undefined }), 15_000, 'scraped once');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 20_000, intervalMs: 30_000 }), 45_000, 'scraped every 30 s');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 50_000, intervalMs: 30_000 }), 15_000, 'the scrapes stopped');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 1_000, intervalMs: 2_000 }), 15_000, 'fast scrapes: 15 s');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 100_000, intervalMs: 300_000 }), 120_000, 'scraped every 5 min: at most 120 s');
  assert.equal(maxCollectionAgeMs({ sinceLastMs: 130_000, intervalMs: 300_000 }), 15_000, 'and after that the page collects itself');
});

test('time to drain: the backlog over acked minus published per second, over the window', () => {
  // 300 published and 600 acked in 300 s: 1 net a second, 400 pending left.
  const start = sample(0, { pending: 700, lastSent: 1000, channelLastSeq: 1500 });
  const now = sample(300, { pending: 400, lastSent: 1500, channelLastSeq: 1800 });
  const rates = queueRates(now, start)!;
  assert.deepEqual(rates, { published: 1, acked: 2, windowSeconds: 300 });
  assert.equal(timeToDrain(now.pending, rates), 400);
  // Acks only as fast as publishing, or slower: it does not drain.
  const flat = sample(300, { pending: 700, lastSent: 1500, channelLastSeq: 1800 });
  assert.equal(timeToDrain(flat.pending, queueRates(flat, start)), 'growing');
  const growing = sample(300, { pending: 900, lastSent: 1500, channelLastSeq: 1800 });
  assert.deepEqual(queueRates(growing, start), { published: 1, acked: 1 / 3, windowSeconds: 300 });
  assert.equal(timeToDrain(growing.pending, queueRates(growing, start)), 'growing');
  // Empty is 0 with or without rates; a first collection has none.
  assert.equal(timeToDrain(0, undefined), 0);
  assert.equal(timeToDrain(0, queueRates(sample(300, { channelLastSeq: 1800 }), start)), 0);
  assert.equal(timeToDrain(5, undefined), undefined);
  // No window, or a sequence that went back (a server that lost its messages): no rates.
  assert.equal(queueRates(start, start), undefined);
  assert.equal(queueRates(sample(300, { pending: 10, channelLastSeq: 20 }), start), undefined);
});
