import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildChannel } from '../../src/model/consumers.js';
import type { Channel } from '../../src/model/types.js';
import { ChannelRecords } from '../../src/sources/stan/channel-records.js';
import { NameTable, readChannelsPage } from '../../src/sources/stan/channelsz-reader.js';

// Recorded from nats-streaming-server v0.25.6 (see test/fixtures/README.md): "jobs" has a durable,
// two plain subscriptions of one client and a durable queue group; "orders" a queue group of two.
const RECORDED = readFileSync(new URL('../../../test/fixtures/standalone/channelsz-subs.json', import.meta.url));

type Page = { channels: Array<{ name: string; subscriptions: Array<Record<string, unknown>> } & Record<string, unknown>> };

/** The recorded page changed through JSON and written as the server writes it (json.MarshalIndent, two spaces). */
function edited(edit: (page: Page) => void): Buffer {
  const page = JSON.parse(RECORDED.toString('utf8')) as Page;
  edit(page);
  return Buffer.from(JSON.stringify(page, null, 2));
}

/** Reads a page as the source does, with the node's records: which channels were reused, and the channels. */
function warm(records: ChannelRecords, body: Buffer, select?: (name: string) => boolean): { reused: string[]; channels: Channel[] } {
  records.beginScrape();
  const page = readChannelsPage(body, new NameTable(), undefined, records, select);
  assert.ok(page, 'the reader read the page');
  const reused: string[] = [];
  const channels = page.channels.map((read) => {
    if (read.built) {
      reused.push(read.facts.name);
      return read.built;
    }
    const channel = buildChannel(read.facts, read.subscriptions);
    if (read.record) records.keep(read.record.key, read.record.bytes, channel, read.record.consumerOf);
    return channel;
  });
  records.endScrape();
  return { reused, channels };
}

/** The bytes of the channel records of a page laid out as the server lays it out, by name, found by their text. */
function recordBytes(body: Buffer): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const m of body.toString('latin1').matchAll(/\n {4}(\{\n {6}"name": "([^"]*)"[\s\S]*?\n {4}\})/g)) sizes.set(m[2]!, m[1]!.length);
  return sizes;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** What a reader with nothing kept makes of the page. */
function cold(body: Buffer): Channel[] {
  const page = readChannelsPage(body)!;
  return page.channels.map((read) => buildChannel(read.facts, read.subscriptions));
}

test('a page that comes back the same is not read again, and makes the same channels', () => {
  const records = new ChannelRecords();
  assert.deepEqual(warm(records, RECORDED).reused, []);
  assert.equal(records.size, 2);
  const again = warm(records, Buffer.from(RECORDED));
  assert.deepEqual(again.reused, ['jobs', 'orders']);
  assert.deepEqual(again.channels, cold(RECORDED));
  assert.equal(recordBytes(RECORDED).size, 2);
  assert.equal(records.bytes, sum(recordBytes(RECORDED).values()), 'the bytes kept are the two records');
});

test('a channel whose record changed is read again, and only that one', () => {
  const records = new ChannelRecords();
  warm(records, RECORDED);
  // One more message, and one member's cursor moved: the lengths stay the same.
  const changed = edited((page) => {
    const orders = page.channels.find((c) => c.name === 'orders')!;
    orders['last_seq'] = (orders['last_seq'] as number) + 1;
    orders.subscriptions[0]!['last_sent'] = (orders.subscriptions[0]!['last_sent'] as number) + 1;
  });
  const read = warm(records, changed);
  assert.deepEqual(read.reused, ['jobs']);
  assert.deepEqual(read.channels, cold(changed));
  assert.notDeepEqual(read.channels, cold(RECORDED));
  // And the changed record is what is kept now, in place of the old one.
  assert.deepEqual(warm(records, changed).reused, ['jobs', 'orders']);
  assert.equal(records.bytes, sum(recordBytes(changed).values()));
});

test("the server's other order of a channel's consumers is the same channel; its members' other order is not", () => {
  const records = new ChannelRecords();
  warm(records, RECORDED);
  // nats-streaming-server lists queue groups and offline durables from Go maps: their order changes.
  const consumersMoved = edited((page) => {
    const jobs = page.channels.find((c) => c.name === 'jobs')!;
    // The queue group's record first: the two plain subscriptions of worker-a keep their order.
    jobs.subscriptions.unshift(jobs.subscriptions.pop()!);
  });
  assert.notDeepEqual(consumersMoved, RECORDED);
  const moved = warm(records, consumersMoved);
  assert.deepEqual(moved.reused, ['jobs', 'orders']);
  assert.deepEqual(moved.channels, cold(consumersMoved));
  assert.deepEqual(moved.channels, cold(RECORDED));
  // The other order is kept beside the first: the jobs record twice, and orders.
  const sizes = recordBytes(RECORDED);
  assert.equal(records.bytes, sum(sizes.values()) + sizes.get('jobs')!);

  // Two members of one queue group swapped: members keep the server's order in the model, so it is read again.
  const membersSwapped = edited((page) => {
    const orders = page.channels.find((c) => c.name === 'orders')!;
    orders.subscriptions.reverse();
  });
  const swapped = warm(records, membersSwapped);
  assert.deepEqual(swapped.reused, ['jobs']);
  assert.deepEqual(swapped.channels, cold(membersSwapped));
});

test('a page laid out otherwise than the server lays it out keeps nothing and is read whole every time', () => {
  const compact = Buffer.from(JSON.stringify(JSON.parse(RECORDED.toString('utf8'))));
  const records = new ChannelRecords();
  for (let round = 0; round < 3; round++) {
    const read = warm(records, compact);
    assert.deepEqual(read.reused, []);
    assert.deepEqual(read.channels, cold(compact));
  }
  assert.equal(records.size, 0);
});

test('a channel the subject filter leaves out is passed over: neither read, nor kept, nor given', () => {
  const records = new ChannelRecords();
  const onlyJobs = (name: string) => name === 'jobs';
  const first = warm(records, RECORDED, onlyJobs);
  assert.deepEqual(
    first.channels.map((c) => c.name),
    ['jobs'],
  );
  assert.equal(records.size, 1);
  assert.equal(records.bytes, recordBytes(RECORDED).get('jobs'), 'only the jobs record is kept');
  // orders changes: still passed over, and jobs is still found the same.
  const ordersChanged = edited((page) => {
    page.channels.find((c) => c.name === 'orders')!['msgs'] = 999;
  });
  const again = warm(records, ordersChanged, onlyJobs);
  assert.deepEqual(again.reused, ['jobs']);
  assert.deepEqual(
    again.channels,
    cold(RECORDED).filter((c) => c.name === 'jobs'),
  );
  assert.equal(records.size, 1);
  // A name past ASCII is selected by its decoded text (new records: the filter is fixed while the exporter runs).
  const renamed = edited((page) => {
    page.channels.find((c) => c.name === 'orders')!.name = 'órdenes';
  });
  const fresh = new ChannelRecords();
  assert.deepEqual(
    warm(fresh, renamed, (name) => name === 'órdenes').channels.map((c) => c.name),
    ['órdenes'],
  );
  assert.equal(fresh.size, 1);
});

test('channels gone from the server are forgotten at the end of the scrape', () => {
  const records = new ChannelRecords();
  warm(records, RECORDED);
  const oneLeft = edited((page) => {
    page.channels = page.channels.filter((c) => c.name === 'jobs');
  });
  assert.deepEqual(warm(records, oneLeft).reused, ['jobs']);
  assert.equal(records.size, 1);
  assert.equal(records.bytes, recordBytes(RECORDED).get('jobs'), 'only the jobs record is kept');
});

test('after any sequence of changes, what the records give is what a cold read gives', () => {
  const records = new ChannelRecords();
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const numbers = ['last_sent', 'pending_count', 'max_inflight'];
  let page = JSON.parse(RECORDED.toString('utf8')) as Page;
  for (let round = 0; round < 300; round++) {
    const channel = page.channels[random(page.channels.length)]!;
    switch (random(4)) {
      case 0:
        channel['msgs'] = random(20);
        break;
      case 1: {
        const sub = channel.subscriptions[random(channel.subscriptions.length)];
        if (sub) sub[numbers[random(numbers.length)]!] = random(12);
        break;
      }
      case 2:
        channel.subscriptions.push(channel.subscriptions.shift()!);
        break;
      default:
        break;
    }
    const body = Buffer.from(JSON.stringify(page, null, 2));
    assert.deepEqual(warm(records, body).channels, cold(body), `round ${round}`);
    // Every channel stays kept, whatever came back (values return to earlier ones often here).
    assert.equal(records.size, page.channels.length, `round ${round}: channels kept`);
    const pageBytes = sum(recordBytes(body).values());
    assert.ok(records.bytes >= pageBytes && records.bytes <= 2 * pageBytes, `round ${round}: ${records.bytes} bytes kept for ${pageBytes} in the page`);
    page = JSON.parse(body.toString('utf8')) as Page;
  }
});
