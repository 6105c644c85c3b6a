import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readJszPage } from '../../src/sources/jetstream/jsz-reader.js';
import { StreamRecords } from '../../src/sources/jetstream/stream-records.js';
import { StringTable } from '../../src/sources/json-bytes.js';
import { jszFixtureBytes } from '../../harness/jsz-fixtures.js';

// Recorded from nats-server v2.12.15 (see test/fixtures/jetstream/README.md): one account, the
// streams "orders" and "jobs", with durable and filtered consumers.
const RECORDED = jszFixtureBytes('standalone/jsz-offset-0-limit-1024.json');

type Consumer = Record<string, unknown>;
type Page = { account_details: Array<{ stream_detail: Array<Record<string, unknown> & { name: string; consumer_detail: Consumer[] }> }> };

/** The recorded page changed through JSON and written as nats-server writes it (json.MarshalIndent, two spaces). */
function edited(edit: (page: Page) => void): Buffer {
  const page = JSON.parse(RECORDED.toString('utf8')) as Page;
  edit(page);
  return Buffer.from(JSON.stringify(page, null, 2));
}

/** Every consumer's `ts` set anew, as the server does on every request. */
function later(page: Page, at: string): void {
  for (const account of page.account_details) for (const stream of account.stream_detail) for (const c of stream.consumer_detail) c['ts'] = at;
}

function warm(records: StreamRecords, body: Buffer) {
  records.beginSweep();
  const page = readJszPage(body, new StringTable(), records);
  assert.ok(page, 'the reader read the page');
  records.endSweep();
  return page;
}

const cold = (body: Buffer) => readJszPage(body)!;

test('a stream whose record comes back the same but for its consumers’ ts is not read again, and takes the new ts', () => {
  const records = new StreamRecords();
  const first = edited((page) => later(page, '2026-12-07T10:00:00.123456789Z'));
  assert.deepEqual(warm(records, first), cold(first));
  assert.equal(records.size, 2);
  assert.equal(records.reused, 0);
  const second = edited((page) => later(page, '2026-12-07T10:00:15.5Z'));
  const read = warm(records, second);
  assert.equal(records.reused, 2);
  assert.deepEqual(read, cold(second));
  const readAt = read.accounts.flatMap((a) => a.streams.flatMap((s) => s.consumers.map((c) => c.readAtMs)));
  assert.ok(readAt.length > 0);
  for (const ms of readAt) assert.equal(ms, Date.parse('2026-12-07T10:00:15.500Z'));
});

test('a stream whose record changed is read again, and only that one; streams in another order are found by name', () => {
  const records = new StreamRecords();
  // Written again as the edited pages are (JSON.parse rounds the recorded 2^64-1 limits).
  const before = edited(() => undefined);
  warm(records, before);
  const changed = edited((page) => {
    const streams = page.account_details[0]!.stream_detail;
    const orders = streams.find((s) => s.name === 'orders')!;
    orders.consumer_detail[0]!['num_pending'] = (orders.consumer_detail[0]!['num_pending'] as number) + 1;
    // The server lists an account's streams in another order on every request.
    streams.reverse();
    later(page, '2026-12-07T10:00:30Z');
  });
  const read = warm(records, changed);
  assert.equal(records.reused, 1);
  assert.deepEqual(read, cold(changed));
  assert.notDeepEqual(read, cold(before));
});

test('a page laid out otherwise than nats-server lays it out keeps nothing and is read whole every time', () => {
  const compact = Buffer.from(JSON.stringify(JSON.parse(RECORDED.toString('utf8'))));
  const records = new StreamRecords();
  for (let round = 0; round < 3; round++) assert.deepEqual(warm(records, compact), cold(compact));
  assert.equal(records.size, 0);
  assert.equal(records.reused, 0);
});

test('after any sequence of changes, what the records give is what a cold read gives', () => {
  const records = new StreamRecords();
  let seed = 11;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  let page = JSON.parse(RECORDED.toString('utf8')) as Page;
  for (let round = 0; round < 200; round++) {
    const streams = page.account_details[0]!.stream_detail;
    const stream = streams[random(streams.length)]!;
    const consumer = stream.consumer_detail[random(stream.consumer_detail.length)];
    switch (random(4)) {
      case 0:
        if (consumer) consumer['num_pending'] = random(30);
        break;
      case 1:
        if (consumer) consumer['num_ack_pending'] = random(5);
        break;
      case 2:
        streams.reverse();
        break;
      default:
        break;
    }
    later(page, new Date(Date.UTC(2026, 11, 7, 10, 0, round)).toISOString());
    const body = Buffer.from(JSON.stringify(page, null, 2));
    assert.deepEqual(warm(records, body), cold(body), `round ${round}`);
    page = JSON.parse(body.toString('utf8')) as Page;
  }
  assert.ok(records.reused > 0);
});
