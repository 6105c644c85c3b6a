import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJszPage } from '../../src/sources/jetstream/parse.js';
import { jszPath, readAllAccounts } from '../../src/sources/jetstream/read-accounts.js';
import { jszFixture, recordedServer } from '../../harness/jsz-fixtures.js';

// Three accounts TEAM_C, TEAM_A, TEAM_B, recorded from v2.12.15 (accounts/) and v2.10.27 (v2.10/).

test('v2.12 pages through accounts one at a time until total, each account once', async () => {
  const server = recordedServer('accounts/');
  const read = await readAllAccounts(server.get, 1);
  assert.deepEqual(server.asked, [jszPath(0, 1), jszPath(1, 1), jszPath(2, 1)], 'stops at total, not at an empty page');
  assert.deepEqual(read.accounts.map((a) => a.id).sort(), ['TEAM_A', 'TEAM_B', 'TEAM_C']);
  assert.equal(read.pages, 3);
  assert.equal(read.first.total, 3);
});

test('v2.12 reads everything in one request when the page is large enough', async () => {
  const server = recordedServer('accounts/');
  const read = await readAllAccounts(server.get, 3);
  assert.deepEqual(server.asked, [jszPath(0, 3)]);
  assert.equal(read.accounts.length, 3);
});

test('v2.10.27: no total and an unsorted first page, so paging on would miss an account', () => {
  const first = parseJszPage(jszFixture('v2.10/jsz-offset-0-limit-1.json'), 'jsz');
  const second = parseJszPage(jszFixture('v2.10/jsz-offset-1-limit-1.json'), 'jsz');
  const third = parseJszPage(jszFixture('v2.10/jsz-offset-2-limit-1.json'), 'jsz');
  const naive = [first, second, third].flatMap((p) => p.accounts.map((a) => a.id));
  assert.deepEqual(naive, ['TEAM_B', 'TEAM_B', 'TEAM_C'], 'the recorded fact the reader works around');
});

test('v2.10.27: when the first page does not hold every account, all are asked for in one request', async () => {
  const server = recordedServer('v2.10/');
  const read = await readAllAccounts(server.get, 1);
  assert.deepEqual(server.asked, [jszPath(0, 1), jszPath(0, 3)], 'the top-level accounts count (3) sizes the second request');
  assert.deepEqual(read.accounts.map((a) => a.id).sort(), ['TEAM_A', 'TEAM_B', 'TEAM_C']);
  assert.equal(read.first.total, undefined);
});

test('v2.10.27: a first page that holds every account is the only request', async () => {
  const server = recordedServer('v2.10/');
  const read = await readAllAccounts(server.get, 3);
  assert.deepEqual(server.asked, [jszPath(0, 3)]);
  assert.equal(read.accounts.length, 3);
});
