import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUS_RULES } from '../../src/http/status/rules.js';
import { WatchedCollections } from '../../src/http/status/watched-collections.js';
import type { Snapshot } from '../../src/model/types.js';

// One logical server with one queue, as sources give it to the collector.
const snapshot = (seconds: number): Snapshot => ({
  startedAt: seconds * 1000,
  clientPending: [],
  servers: [
    {
      name: 'a',
      backend: 'stan',
      nodes: [{ node: 'n1', url: 'http://n1:8222', durationSeconds: 0.01, checkedPages: 0 }],
      owner: 'n1',
      claimers: ['n1'],
      ageLookups: 0,
      channels: [
        {
          name: 'orders',
          messages: 5,
          bytes: 50,
          firstSeq: 1,
          lastSeq: 5,
          subscriptionCount: 1,
          subscriptions: [],
          consumers: [
            {
              group: 'g',
              durable: '',
              lastSent: 5,
              undelivered: 0,
              unacked: 0,
              pending: 0,
              members: 1,
              stalledMembers: 0,
              maxInflight: 10,
              offline: false,
              evicted: 0,
            },
          ],
        },
      ],
    },
  ],
});

test('nothing is recorded before the first look; then every collection; after an hour unviewed the history goes', () => {
  const watched = new WatchedCollections();
  watched.record(snapshot(0), 0);
  const history = watched.view(1_000);
  assert.equal(history.collectedAt, undefined, 'a collection before anyone looked was not kept');
  watched.record(snapshot(15), 15_000);
  watched.record(snapshot(30), 30_000);
  assert.deepEqual(
    [...watched.view(31_000).rows()].map((r) => r.pendingHistory),
    [[0, 0]],
  );
  const unviewed = 31_000 + STATUS_RULES.keepUnviewedSeconds * 1000 + 1;
  watched.record(snapshot(45), unviewed);
  const fresh = watched.view(unviewed);
  assert.notEqual(fresh, history);
  assert.equal(fresh.collectedAt, undefined, 'the next look starts afresh');
});
