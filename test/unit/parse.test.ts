import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildChannel } from '../../src/model/consumers.js';
import { ScrapeError } from '../../src/sources/scrape-error.js';
import { parseChannel, parseChannelsPage, parseServerz, parseStorez, splitQueueName } from '../../src/sources/stan/parse.js';
import { ownsQueueState } from '../../src/sources/stan/source.js';

// Recorded from nats-streaming-server v0.25.6 (see test/fixtures/README.md).
const fixture = (path: string): unknown => JSON.parse(readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), 'utf8'));

test('serverz of a standalone server', () => {
  const info = parseServerz(fixture('standalone/serverz.json'));
  assert.equal(info.state, 'STANDALONE');
  assert.equal(info.role, '');
  assert.equal(info.clusterId, 'rec-cluster');
  assert.equal(info.clients, 2);
  assert.equal(info.subscriptions, 6);
  assert.equal(info.channels, 2);
  assert.equal(info.messages, 28);
  assert.equal(info.bytes, 716);
  assert.equal(info.receivedMessages, 28);
  assert.equal(info.receivedBytes, 2004);
  assert.equal(info.sentBytes, 672);
  assert.equal(info.maxFds, 20000);
  assert.equal(info.startTimeSeconds, Date.UTC(2026, 10, 26, 10, 31, 24, 566) / 1000);
});

test('storez limits: max_age is nanoseconds, 0 means unlimited', () => {
  const limits = parseStorez(fixture('standalone/storez.json'));
  assert.deepEqual(limits, { channels: 0, subscriptions: 1000, messages: 1000000, bytes: 1024000000, ageSeconds: 0 });
  const withAge = parseStorez({ limits: { max_age: 90_000_000_000 } });
  assert.equal(withAge.ageSeconds, 90);
});

test('an FT standby answers with no channels at all (the list is omitted), which is not an error', () => {
  const info = parseServerz(fixture('ft/standby-serverz.json'));
  assert.equal(info.state, 'FT_STANDBY');
  assert.equal(info.clusterId, '');
  const page = parseChannelsPage(fixture('ft/standby-channelsz-subs.json'), 'channelsz');
  assert.deepEqual(page, { total: 0, count: 0, channels: [] });
});

test('a channelsz page normalises into queue groups, durables and numbered subscriptions', () => {
  const page = parseChannelsPage(fixture('standalone/channelsz-subs.json'), 'channelsz');
  assert.equal(page.total, 2);
  const [jobs, orders] = page.channels.map((c) => parseChannel(c, 'channelsz')).map((p) => buildChannel(p.facts, p.subscriptions));
  assert.equal(orders!.name, 'orders');
  assert.deepEqual(orders!.consumers, [
    {
      group: 'workers',
      durable: '',
      lastSent: 6,
      undelivered: 14,
      unacked: 6,
      pending: 20,
      members: 2,
      stalledMembers: 2,
      maxInflight: 6,
      offline: false,
      evicted: 0,
    },
  ]);
  assert.equal(jobs!.name, 'jobs');
  const byKey = new Map(jobs!.consumers.map((c) => [`${c.group}|${c.durable}`, c]));
  // The durable queue group "dur:grp:with:colon" splits at the first colon; all its members left.
  assert.deepEqual(byKey.get('grp:with:colon|dur'), {
    group: 'grp:with:colon',
    durable: 'dur',
    lastSent: 3,
    undelivered: 5,
    unacked: 3,
    pending: 8,
    members: 0,
    stalledMembers: 0,
    maxInflight: 0,
    offline: true,
    evicted: 0,
  });
  assert.equal(byKey.get('|solo')?.pending, 8);
  assert.equal(byKey.size, 2, 'plain subscriptions are no consumers');
  const plain = jobs!.subscriptions.filter((s) => s.group === '' && s.durable === '');
  assert.deepEqual(
    plain.map((s) => s.index),
    [0, 1],
  );
});

test('one channel fetched by name has the same shape as a channelsz entry', () => {
  const one = parseChannel(fixture('standalone/channel-jobs.json'), 'channelsz?channel=jobs');
  assert.equal(one.facts.name, 'jobs');
  assert.equal(one.facts.lastSeq, 8);
  assert.equal(one.subscriptions.length, 4);
});

test('queue names split at the first colon only for durable queue groups', () => {
  assert.deepEqual(splitQueueName('dur:grp:with:colon', true), { durable: 'dur', group: 'grp:with:colon' });
  assert.deepEqual(splitQueueName('a:b', false), { durable: '', group: 'a:b' });
  assert.deepEqual(splitQueueName('plain', true), { durable: '', group: 'plain' });
});

test('wrong shapes are refused with the field that is wrong', () => {
  const bad = (fn: () => unknown, field: RegExp) => {
    assert.throws(fn, (err: unknown) => err instanceof ScrapeError && err.reason === 'invalid_response' && field.test(err.message));
  };
  const serverz = fixture('standalone/serverz.json') as Record<string, unknown>;
  bad(() => parseServerz({ ...serverz, clients: '2' }), /serverz: field "clients" is not a number/);
  bad(() => parseServerz({ ...serverz, start_time: 'yesterday' }), /start_time/);
  bad(() => parseServerz([]), /expected a JSON object/);
  bad(() => parseStorez({}), /storez: field "limits" is missing/);
  bad(() => parseChannelsPage({ total: 1, count: 1, channels: {} }, 'channelsz offset 0'), /channelsz offset 0: field "channels" is not a list/);
  const page = fixture('standalone/channelsz-subs.json') as { channels: Array<{ subscriptions: Array<Record<string, unknown>> }> };
  const { pending_count: _dropped, ...withoutPending } = page.channels[1]!.subscriptions[0]!;
  const channel = { ...page.channels[1]!, subscriptions: [withoutPending] };
  bad(() => parseChannel(channel, 'channelsz'), /channel "orders" subscription 0: field "pending_count" is missing/);
});

test('only a standalone server, an FT active and a Raft leader hold the queue figures to export', () => {
  const state = (path: string) => ownsQueueState(parseServerz(fixture(path)));
  assert.equal(state('standalone/serverz.json'), true);
  assert.equal(state('ft/active-serverz.json'), true);
  assert.equal(state('ft/standby-serverz.json'), false);
  assert.equal(state('clustered/n1-serverz.json'), true, 'n1 was the leader when recorded');
  assert.equal(state('clustered/n2-serverz.json'), false);
  assert.equal(state('clustered/n3-serverz.json'), false);
});

test('a Raft follower lists the same channels and subscriptions as the leader', () => {
  // Recorded one second after the leader sent 3 of 10 messages to a durable queue group with max in-flight 3.
  const figures = (path: string) =>
    parseChannelsPage(fixture(path), path)
      .channels.map((c) => parseChannel(c, path))
      .map((p) => buildChannel(p.facts, p.subscriptions).consumers);
  assert.deepEqual(figures('clustered/n2-channelsz-subs.json'), figures('clustered/n1-channelsz-subs.json'));
  assert.equal(figures('clustered/n1-channelsz-subs.json')[0]![0]!.pending, 10);
});
