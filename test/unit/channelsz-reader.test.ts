import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { NameTable, readChannelsPage } from '../../src/sources/stan/channelsz-reader.js';
import { parseChannel, parseChannelsPage } from '../../src/sources/stan/parse.js';
import { prefixesAndByteChanges } from '../../harness/reader-fuzz.js';

// Recorded from nats-streaming-server v0.25.6 (see test/fixtures/README.md).
const PAGES = [
  'standalone/channelsz-subs.json',
  'standalone/channelsz-subs-page2.json',
  'standalone/channelsz-subs-no-subscribers.json',
  'ft/standby-channelsz-subs.json',
  'clustered/n1-channelsz-subs.json',
  'clustered/n2-channelsz-subs.json',
  'clustered/n3-channelsz-subs.json',
];
const bytesOf = (path: string): Buffer => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url));

/** What the checked parser (JSON.parse, then parse.ts) makes of the same bytes. */
function checked(body: Buffer) {
  const page = parseChannelsPage(JSON.parse(body.toString('utf8')), 'test');
  return { total: page.total, count: page.count, channels: page.channels.map((c) => parseChannel(c, 'test')) };
}

/** A recorded page changed through JSON, then written as the server writes it (indented). */
function edited(path: string, edit: (page: { channels: Array<Record<string, unknown> & { subscriptions: Array<Record<string, unknown>> }> }) => void): Buffer {
  const page = JSON.parse(bytesOf(path).toString('utf8'));
  edit(page);
  return Buffer.from(JSON.stringify(page, null, 2));
}

test('every recorded channelsz page reads the same as through JSON.parse and the checked parser', () => {
  for (const path of PAGES) {
    const body = bytesOf(path);
    const fast = readChannelsPage(body);
    assert.ok(fast, `${path}: the reader gave up on a page the server wrote`);
    assert.deepEqual(fast, checked(body), path);
  }
  const subscriptions = readChannelsPage(bytesOf('standalone/channelsz-subs.json'))!.channels.flatMap((c) => c.subscriptions);
  assert.ok(
    subscriptions.some((s) => s.group !== '' && s.durable !== ''),
    'the fixture has a durable queue group',
  );
  assert.ok(
    subscriptions.some((s) => s.group === '' && s.durable !== ''),
    'the fixture has a durable',
  );
});

test('inboxes are read only when asked for (--nss-compat), and then as the checked parser reads them', () => {
  for (const path of [...PAGES, 'nss/standalone/server-channelsz-subs-offset-0.json', 'nss/clustered/n2-channelsz-subs-offset-0.json']) {
    const body = bytesOf(path);
    const page = parseChannelsPage(JSON.parse(body.toString('utf8')), 'test');
    assert.deepEqual(
      readChannelsPage(body, new NameTable(), new NameTable()),
      { total: page.total, count: page.count, channels: page.channels.map((c) => parseChannel(c, 'test', true)) },
      path,
    );
  }
  const inboxes = (inboxTable?: NameTable) =>
    readChannelsPage(bytesOf('standalone/channelsz-subs.json'), new NameTable(), inboxTable)!.channels.flatMap((c) => c.subscriptions.map((s) => s.inbox));
  assert.ok(inboxes(new NameTable()).every((inbox) => inbox.startsWith('_INBOX.')));
  assert.ok(inboxes().every((inbox) => inbox === ''));
  const noInbox = edited('standalone/channelsz-subs.json', (page) => delete page.channels[0]!.subscriptions[0]!['inbox']);
  assert.ok(readChannelsPage(noInbox), 'without inboxes asked for, a missing one does not matter');
  assert.equal(readChannelsPage(noInbox, new NameTable(), new NameTable()), undefined);
  assert.throws(() => parseChannel(JSON.parse(noInbox.toString('utf8')).channels[0], 'test', true), /field "inbox" is missing/);
});

test('names with escapes and non-ASCII letters, compact JSON and numbers in any JSON form read as JSON.parse reads them', () => {
  const bodies = [
    edited('standalone/channelsz-subs.json', (page) => {
      page.channels[0]!['name'] = 'orders.ü.\u00e9t\u00e9 "quoted" \\ back/slash \u2603';
      page.channels[0]!.subscriptions[0]!['client_id'] = 'worker\n1\t\u{1F600}';
    }),
    Buffer.from(JSON.stringify(JSON.parse(bytesOf('standalone/channelsz-subs.json').toString('utf8')))),
    Buffer.from(
      bytesOf('standalone/channelsz-subs.json')
        .toString('utf8')
        .replace('"msgs": 8,', '"msgs": 0.8e1,')
        .replace('"bytes": 186', '"bytes": 1.86E+2')
        .replace('"total": 2', '"total": 2.0'),
    ),
    Buffer.from(bytesOf('standalone/channelsz-subs.json').toString('utf8').replace('"msgs": 8,', '"msgs": 9007199254740993123,')),
  ];
  assert.ok(
    bodies[2]!.includes('0.8e1') && bodies[2]!.includes('1.86E+2') && bodies[2]!.includes('"total": 2.0') && bodies[3]!.includes('9007199254740993123'),
    'the fixture still has the figures these edits change',
  );
  for (const body of bodies) {
    const fast = readChannelsPage(body);
    assert.ok(fast, body.toString('utf8', 0, 200));
    assert.deepEqual(fast, checked(body));
  }
});

test('a key the reader does not know is skipped, whatever its value; the last of two equal keys wins, as in JSON.parse', () => {
  const body = edited('standalone/channelsz-subs.json', (page) => {
    page.channels[0]!['future_field'] = { nested: [1, -2.5e-3, 'x', true, false, null, { deeper: [] }], empty: {} };
    page.channels[0]!.subscriptions[0]!['another'] = [];
  });
  assert.deepEqual(readChannelsPage(body), checked(body));
  const twice = Buffer.from(
    bytesOf('standalone/channelsz-subs.json').toString('utf8').replace('"pending_count": ', '"pending_count": 99999, "pending_count": '),
  );
  assert.deepEqual(readChannelsPage(twice), checked(twice));
});

test('channels and subscriptions the server leaves out read as none', () => {
  const standby = readChannelsPage(bytesOf('ft/standby-channelsz-subs.json'));
  assert.deepEqual(standby, { total: 0, count: 0, channels: [] });
  const [audit] = readChannelsPage(bytesOf('standalone/channelsz-subs-no-subscribers.json'))!.channels;
  assert.equal(audit!.facts.name, 'audit.log');
  assert.equal(audit!.facts.messages, 3);
  assert.deepEqual(audit!.subscriptions, []);
});

test('anything the reader is not sure of is left to the checked parser, which names the fault', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'a missing field',
      edited('standalone/channelsz-subs.json', (page) => delete page.channels[1]!.subscriptions[0]!['pending_count']),
      /subscription 0: field "pending_count" is missing/,
    ],
    ['a number as a string', edited('standalone/channelsz-subs.json', (page) => (page.channels[0]!['last_seq'] = '28')), /field "last_seq" is not a number/],
    [
      'a boolean as a number',
      edited('standalone/channelsz-subs.json', (page) => (page.channels[0]!.subscriptions[0]!['is_stalled'] = 0)),
      /field "is_stalled" is not a boolean/,
    ],
    ['a channel that is not an object', edited('standalone/channelsz-subs.json', (page) => (page.channels[0] = [] as never)), /expected a JSON object/],
    ['trailing text', Buffer.concat([bytesOf('standalone/channelsz-subs.json'), Buffer.from('x')]), /JSON/],
    ['a truncated body', bytesOf('standalone/channelsz-subs.json').subarray(0, 700), /JSON/],
  ];
  for (const [what, body, fault] of cases) {
    assert.equal(readChannelsPage(body), undefined, what);
    assert.throws(() => checked(body), fault, what);
  }
  // An escaped key the reader does not decode: left to the checked parser, which reads it.
  const escapedKey = Buffer.from(bytesOf('standalone/channelsz-subs.json').toString('utf8').replace('"pending_count"', '"pending\\u005fcount"'));
  assert.equal(readChannelsPage(escapedKey), undefined);
  assert.deepEqual(checked(escapedKey), checked(bytesOf('standalone/channelsz-subs.json')));
});

test('every prefix and every one-byte change of a recorded page: the reader either gives up or agrees with JSON.parse', () => {
  const { agreed, gaveUp } = prefixesAndByteChanges(bytesOf('standalone/channelsz-subs.json'), 3, (body) => readChannelsPage(body), checked);
  // Both outcomes happen: whitespace changes still read, broken syntax never does.
  assert.ok(agreed > 1000 && gaveUp > 1000, `agreed ${agreed}, gave up ${gaveUp}`);
});

test('a name table gives back the string read before for the same bytes, and never another', () => {
  const body = bytesOf('standalone/channelsz-subs.json');
  const names = new NameTable();
  const first = readChannelsPage(body, names)!;
  const again = readChannelsPage(body, names)!;
  assert.deepEqual(again, first);
  assert.equal(again.channels[0]!.facts.name, first.channels[0]!.facts.name);
  // "Aa" and "BB" hash alike (31 * 65 + 97 = 31 * 66 + 66): the table must compare the bytes.
  const named = (id: string) => Buffer.from(body.toString('latin1').replace(/"client_id": "worker-a"/g, `"client_id": "${id}"`), 'latin1');
  const ids = (page: Buffer) => readChannelsPage(page, names)!.channels.flatMap((c) => c.subscriptions.map((s) => s.clientId));
  assert.ok(ids(named('worker-Aa')).includes('worker-Aa'));
  const after = ids(named('worker-BB'));
  assert.ok(after.includes('worker-BB') && !after.includes('worker-Aa'), after.join(','));
  assert.deepEqual(readChannelsPage(named('worker-BB'), names), checked(named('worker-BB')));
});
