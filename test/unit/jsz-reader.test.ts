import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { MonitorHttpClient } from '../../src/sources/http-client.js';
import { JszNodeReader } from '../../src/sources/jetstream/node-reader.js';
import { JszPageReader, type MonitorGet, readJszPage } from '../../src/sources/jetstream/jsz-reader.js';
import { parseJszPage } from '../../src/sources/jetstream/parse.js';
import { Reader, StringTable } from '../../src/sources/json-bytes.js';
import { ScrapeError } from '../../src/sources/scrape-error.js';
import { jszFixtureBytes, recordedServer } from '../../harness/jsz-fixtures.js';
import { prefixesAndByteChanges } from '../../harness/reader-fuzz.js';

// Every /jsz page recorded from nats-server v2.10.27 and v2.12.15, standalone and cluster (see test/fixtures/jetstream/README.md).
const fixtures = new URL('../../../test/fixtures/jetstream/', import.meta.url);
const PAGES = readdirSync(fixtures, { recursive: true, encoding: 'utf8' })
  .filter((path) => /(^|\/)(n\d-)?jsz-[^/]*\.json$/.test(path))
  .sort();
const STANDALONE = 'standalone/jsz-offset-0-limit-1024.json';
const CLUSTER = 'cluster/n1-jsz-offset-0-limit-1024.json';

/** What JSON.parse and the checked parser make of the same bytes. */
const checked = (body: Buffer) => parseJszPage(JSON.parse(body.toString('utf8')), 'jsz offset 0');

type Record = { [key: string]: unknown };
type Page = Record & {
  account_details: Array<
    Record & { stream_detail: Array<Record & { state: Record; consumer_detail: Array<Record & { config: Record; delivered: Record; ack_floor: Record }> }> }
  >;
};

/** A recorded page changed through JSON, then written as the server writes it (indented). */
function edited(path: string, edit: (page: Page) => void): Buffer {
  const page = JSON.parse(jszFixtureBytes(path).toString('utf8')) as Page;
  edit(page);
  return Buffer.from(JSON.stringify(page, null, 2));
}

/** The recorded standalone page with `change` applied to consumer `name`'s record. */
function withConsumer(name: string, change: (record: Page['account_details'][0]['stream_detail'][0]['consumer_detail'][0]) => void): Buffer {
  return edited(STANDALONE, (page) => change(page.account_details[0]!.stream_detail.flatMap((s) => s.consumer_detail).find((c) => c['name'] === name)!));
}

/** A recorded page's text with `from` replaced (it must be there). */
function replaced(path: string, from: string, to: string): Buffer {
  const text = jszFixtureBytes(path).toString('utf8');
  assert.ok(text.includes(from), `${path} still has ${from}`);
  return Buffer.from(text.replace(from, to));
}

function agrees(body: Buffer, what: string): void {
  const fast = readJszPage(body);
  assert.ok(fast, `${what}: the reader gave up`);
  assert.deepEqual(fast, checked(body), what);
}

const http = new MonitorHttpClient({ server: 'js', node: 'http://127.0.0.1:1', url: 'http://127.0.0.1:1' }, { timeoutMs: 1000, connections: 1 });
after(() => http.close());
/** A monitoring port that answers `body` to every path, with the HTTP client's own JSON errors. */
const answering = (body: Buffer): MonitorGet => ({ body: async (_path, use) => use(body), json: (path, bytes) => http.parseJson(path, bytes) });

test('every recorded /jsz page reads the same as through JSON.parse and the checked parser', () => {
  assert.ok(PAGES.length >= 15 && PAGES.includes(STANDALONE) && PAGES.includes(CLUSTER) && PAGES.some((p) => p.startsWith('v2.10/')), PAGES.join(', '));
  for (const path of PAGES) agrees(jszFixtureBytes(path), path);
  const disabled = readJszPage(jszFixtureBytes('disabled/jsz-offset-0-limit-1024.json'));
  assert.equal(disabled?.disabled, true);
  const standalone = readJszPage(jszFixtureBytes(STANDALONE))!;
  const consumers = standalone.accounts.flatMap((a) => a.streams.flatMap((s) => s.consumers));
  assert.ok(
    consumers.some((c) => c.deliverGroup !== '' && c.filterSubjects.length === 1),
    'the fixture has a filtered push consumer of a group',
  );
  assert.ok(
    consumers.some((c) => c.lastDeliveryMs !== undefined) && consumers.some((c) => c.lastDeliveryMs === undefined),
    'and consumers with and without deliveries',
  );
  const cluster = readJszPage(jszFixtureBytes(CLUSTER))!;
  assert.equal(cluster.metaLeader, 'n1');
  assert.equal(cluster.accounts[0]!.streams[0]!.cluster?.leader, 'n3');
});

test('names with escapes and non-ASCII letters, compact JSON, and numbers in any JSON form read as JSON.parse reads them', () => {
  const bodies: Array<[string, Buffer]> = [
    [
      'escaped and non-ASCII names',
      edited(STANDALONE, (page) => {
        const stream = page.account_details[0]!.stream_detail[0]!;
        stream['name'] = 'orders.ü.\u00e9t\u00e9 "quoted" \\ back/slash \u2603';
        stream.consumer_detail[0]!['name'] = 'worker\n1\t\u{1F600}';
        stream.consumer_detail[0]!.config['deliver_group'] = 'gr\u00fcppe';
        page.account_details[0]!['name'] = 'ACCOUNT \u00e4';
      }),
    ],
    ['\\u escapes the server writes for < > &', replaced(STANDALONE, '"name": "orders"', '"name": "ord\\u003cers\\u0026\\u003e"')],
    ['compact JSON', Buffer.from(JSON.stringify(JSON.parse(jszFixtureBytes(STANDALONE).toString('utf8'))))],
    [
      'exponents and fractions',
      Buffer.from(
        jszFixtureBytes(STANDALONE)
          .toString('utf8')
          .replace('"messages": 25,', '"messages": 2.5e1,')
          .replace('"num_pending": 20,', '"num_pending": 2.0E+1,')
          .replace('"max_ack_pending": 100,', '"max_ack_pending": 1000e-1,'),
      ),
    ],
    ['numbers past 2^53', Buffer.from(jszFixtureBytes(STANDALONE).toString('utf8').replace('"num_pending": 20,', '"num_pending": 9007199254740993123,'))],
    [
      'negative zero, and -1 where it means no limit',
      Buffer.from(
        jszFixtureBytes(STANDALONE)
          .toString('utf8')
          .replace('"num_pending": 20,', '"num_pending": -0,')
          .replace('"max_ack_pending": 100,', '"max_ack_pending": -1,'),
      ),
    ],
  ];
  const standalone = jszFixtureBytes(STANDALONE).toString('utf8');
  assert.ok(
    ['"messages": 25,', '"num_pending": 20,', '"max_ack_pending": 100,'].every((s) => standalone.includes(s)),
    'the fixture still has the figures these edits change',
  );
  for (const [what, body] of bodies) agrees(body, what);
});

test('a key the reader does not know is skipped, whatever its value; the last of two equal keys wins, as in JSON.parse', () => {
  agrees(
    edited(STANDALONE, (page) => {
      page['future'] = { nested: [1, -2.5e-3, 'x', true, false, null, { deeper: [[]] }], empty: {} };
      page.account_details[0]!['future'] = [];
      page.account_details[0]!.stream_detail[0]!['future'] = { state: { messages: 'not this one' } };
      page.account_details[0]!.stream_detail[0]!.consumer_detail[0]!['future'] = { num_pending: 'nor this' };
      page.account_details[0]!.stream_detail[0]!.consumer_detail[0]!.config['future'] = null;
      page.account_details[0]!.stream_detail[0]!.consumer_detail[0]!.delivered['future'] = '\\"';
    }),
    'unknown fields',
  );
  agrees(replaced(STANDALONE, '"num_pending": 20,', '"num_pending": 99999, "num_pending": 20, "num_pending": 7,'), 'a repeated number');
  // A repeated object replaces the first whole: fields only the first had are gone.
  agrees(
    replaced(
      STANDALONE,
      '"config": {\n                "durable_name": "billing"',
      '"config": {"durable_name": "x", "deliver_group": "g", "filter_subject": "f", "max_ack_pending": 7},\n              "config": {\n                "durable_name": "billing"',
    ),
    'a repeated config',
  );
  agrees(
    replaced(STANDALONE, '"delivered": {', '"delivered": {"stream_seq": 99, "last_active": "2026-12-01T18:55:55Z"}, "delivered": {'),
    'a repeated delivered',
  );
  agrees(
    replaced(
      STANDALONE,
      '"state": {',
      '"state": {"messages": 1, "bytes": 2, "first_seq": 3, "last_seq": 4, "first_ts": "2026-12-01T18:55:55Z", "consumer_count": 9}, "state": {',
    ),
    'a repeated state',
  );
  agrees(replaced(STANDALONE, '"account_details": [', '"account_details": [], "account_details": ['), 'a repeated list');
  agrees(replaced(CLUSTER, '"meta_cluster": {', '"meta_cluster": {"leader": "n9"}, "meta_cluster": {'), 'a repeated meta_cluster');
});

test('fields the server leaves out (omitempty, nil lists) read as the checked parser reads them', () => {
  const cases: Array<[string, Buffer]> = [
    [
      'no cluster, push_bound, paused, last_active, consumer_count',
      edited(CLUSTER, (page) => {
        const stream = page.account_details[0]!.stream_detail[0]!;
        delete stream['cluster'];
        delete stream.state['consumer_count'];
        for (const c of stream.consumer_detail) {
          delete c['cluster'];
          delete c['push_bound'];
          delete c['paused'];
          delete c.delivered['last_active'];
          delete c.ack_floor['last_active'];
        }
      }),
    ],
    [
      'no first_ts and last_ts, zero times',
      edited(STANDALONE, (page) => {
        delete page.account_details[0]!.stream_detail[0]!.state['first_ts'];
        page.account_details[0]!.stream_detail[1]!.state['last_ts'] = '0001-01-01T00:00:00Z';
      }),
    ],
    [
      'no meta_cluster, total, config, api, server figures',
      edited(CLUSTER, (page) => {
        for (const key of ['meta_cluster', 'total', 'config', 'api', 'memory', 'storage', 'accounts', 'streams', 'consumers', 'messages', 'bytes'])
          delete page[key];
      }),
    ],
    [
      'empty meta_cluster, config and api',
      edited(CLUSTER, (page) => {
        page['meta_cluster'] = {};
        page['config'] = {};
        page['api'] = {};
      }),
    ],
    [
      'null and missing lists',
      edited(STANDALONE, (page) => {
        (page.account_details[0]!.stream_detail[0]! as Record)['consumer_detail'] = null;
        delete (page.account_details[0]!.stream_detail[1]! as Record)['consumer_detail'];
      }),
    ],
    ['no stream_detail', edited(STANDALONE, (page) => delete (page.account_details[0]! as Record)['stream_detail'])],
    ['account_details null', edited(STANDALONE, (page) => (page['account_details'] = null as never))],
    ['no account_details', edited(STANDALONE, (page) => delete (page as Record)['account_details'])],
    ['a consumer config with nothing the queues use', withConsumer('billing', (c) => (c.config = {}))],
    [
      'filter_subjects beside filter_subject, and null',
      edited(STANDALONE, (page) => {
        const [first, second] = page.account_details[0]!.stream_detail.flatMap((s) => s.consumer_detail);
        first!.config['filter_subject'] = 'a.b';
        first!.config['filter_subjects'] = ['c.d', 'e.>'];
        second!.config['filter_subjects'] = null;
      }),
    ],
  ];
  for (const [what, body] of cases) agrees(body, what);
});

test("timestamps: Go's RFC 3339 with nanoseconds, offsets and the zero time read as Date.parse reads them", () => {
  const time = (text: string) => new Reader(Buffer.from(`"${text}"`)).time();
  const samples = [
    '2026-12-01T18:55:55.575196884Z',
    '2026-12-01T18:55:55.5Z',
    '2026-12-01T18:55:55.57Z',
    '2026-12-01T18:55:55.999999999Z',
    '2026-12-01T18:55:55Z',
    '0001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '1969-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00Z',
    '2024-02-29T12:00:00Z',
    '2000-02-29T00:00:00Z',
    '2026-12-01T18:55:55.575+01:00',
    '2026-12-01T00:00:00-23:59',
    '2026-01-01T00:30:00+00:45',
  ];
  for (const s of samples) assert.equal(time(s), Date.parse(s), s);
  // Random times over the years Go can write, in any offset and precision.
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  for (let i = 0; i < 5000; i++) {
    const ms = random(10_000 * 366) * 86_400_000 - 62_167_219_200_000 + random(86_400_000);
    const date = new Date(ms).toISOString().slice(0, 19);
    if (date.startsWith('-') || date.startsWith('+')) continue;
    const fraction = random(10) === 0 ? '' : `.${pad(random(1_000_000_000), 9).slice(0, 1 + random(9))}`;
    const offset = random(3) === 0 ? 'Z' : `${random(2) ? '+' : '-'}${pad(random(24), 2)}:${pad(random(60), 2)}`;
    const text = `${date}${fraction}${offset}`;
    assert.equal(time(text), Date.parse(text), text);
  }
  // What Go does not write is left to Date.parse (which reads some, and rolls over a 30th of February).
  for (const s of [
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01t18:55:55z',
    '2026-12-01 18:55:55Z',
    '2026-12-01T18:55:55.Z',
    '2026-12-01T18:55:55.1234567891Z',
    '2026-12-01T18:55:55',
    '2026-12-01T18:55:55+0100',
    '+002026-12-01T18:55:55Z',
    '2026-12-01',
    'yesterday',
    '2026-13-01T00:00:00Z',
  ]) {
    assert.throws(() => time(s), /not sure/, s);
  }
  const rolledOver = withConsumer('billing', (c) => (c['ts'] = '2026-02-30T00:00:00Z'));
  assert.equal(readJszPage(rolledOver), undefined);
  assert.ok(checked(rolledOver).accounts[0]!.streams.some((s) => s.consumers.some((c) => c.readAtMs === Date.parse('2026-03-02T00:00:00Z'))));
});

test('anything the reader is not sure of goes to the checked parser, which gives the same error as before', async () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'missing num_pending',
      withConsumer('billing', (c) => delete c['num_pending']),
      /account "\$G".*stream "orders".*consumer "billing".*field "num_pending" is missing/,
    ],
    ['num_ack_pending as text', withConsumer('billing', (c) => (c['num_ack_pending'] = '5')), /consumer "billing"\): field "num_ack_pending" is not a number/],
    ['no config', withConsumer('billing', (c) => delete (c as Record)['config']), /field "config" is missing: the exporter asks \/jsz with config=true/],
    ['delivered not an object', withConsumer('billing', (c) => (c.delivered = 5 as never)), /field "delivered" is not an object/],
    ['delivered without stream_seq', withConsumer('billing', (c) => delete c.delivered['stream_seq']), /delivered: field "stream_seq" is missing/],
    ['a bad timestamp', withConsumer('billing', (c) => (c['ts'] = 'yesterday')), /field "ts" is not a timestamp/],
    ['a null timestamp', withConsumer('billing', (c) => (c.ack_floor['last_active'] = null)), /ack_floor: field "last_active" is not a string/],
    ['a null cluster', withConsumer('billing', (c) => (c['cluster'] = null)), /field "cluster" is not an object/],
    ['a filter subject that is a number', withConsumer('billing', (c) => (c.config['filter_subjects'] = [5])), /field "filter_subjects" \[0\] is not a string/],
    [
      'a list that is an object',
      edited(STANDALONE, (page) => (page.account_details[0]!['stream_detail'] = {} as never)),
      /field "stream_detail" is not a list/,
    ],
    [
      'a stream without state',
      edited(STANDALONE, (page) => delete (page.account_details[0]!.stream_detail[0]! as Record)['state']),
      /stream "orders"\): field "state" is missing/,
    ],
    [
      'state without last_seq',
      edited(STANDALONE, (page) => delete page.account_details[0]!.stream_detail[0]!.state['last_seq']),
      /state: field "last_seq" is missing/,
    ],
    ['an account without a name', edited(STANDALONE, (page) => delete page.account_details[0]!['name']), /account "\$G"\): field "name" is missing/],
    ['no server_id', edited(STANDALONE, (page) => delete page['server_id']), /^jsz offset 0: field "server_id" is missing/],
    ['total null', edited(STANDALONE, (page) => (page['total'] = null)), /^jsz offset 0: field "total" is not a number/],
    ['disabled as text', edited(STANDALONE, (page) => (page['disabled'] = 'true')), /field "disabled" is not a boolean/],
    ['a number too large for a double', replaced(STANDALONE, '"num_pending": 20,', '"num_pending": 1e400,'), /field "num_pending" is not a number/],
    ['an array for the page', Buffer.from('[]'), /^jsz offset 0: expected a JSON object/],
    ['trailing text', Buffer.concat([jszFixtureBytes(STANDALONE), Buffer.from('x')]), /did not answer JSON/],
    [
      'a truncated page',
      jszFixtureBytes(STANDALONE).subarray(0, 700),
      /GET http:\/\/127\.0\.0\.1:1\/jsz\?x did not answer JSON \(700 bytes starting "\{ "memory": 0,/,
    ],
    ['an empty answer', Buffer.alloc(0), /did not answer JSON \(0 bytes/],
  ];
  for (const [what, body, fault] of cases) {
    assert.equal(readJszPage(body), undefined, what);
    const reader = new JszPageReader();
    await assert.rejects(reader.read(answering(body), '/jsz?x', 'jsz offset 0'), (err: unknown) => {
      assert.ok(err instanceof ScrapeError, what);
      assert.equal(err.reason, 'invalid_response', what);
      assert.match(err.message, fault, what);
      let before: unknown;
      try {
        checked(body);
      } catch (e) {
        before = e;
      }
      if (before instanceof ScrapeError) assert.equal(err.message, before.message, `${what}: the message of the checked parser alone`);
      return true;
    });
    assert.equal(reader.checkedPages, 1, what);
  }
  // An escaped key the reader does not decode: the checked parser reads the page, and it is counted.
  const escapedKey = replaced(STANDALONE, '"num_pending"', '"num\\u005fpending"');
  assert.equal(readJszPage(escapedKey), undefined);
  const reader = new JszPageReader();
  assert.deepEqual(await reader.read(answering(escapedKey), '/jsz?x', 'jsz offset 0'), checked(jszFixtureBytes(STANDALONE)));
  assert.equal(reader.checkedPages, 1);
  assert.deepEqual(await reader.read(answering(jszFixtureBytes(STANDALONE)), '/jsz?x', 'jsz offset 0'), checked(jszFixtureBytes(STANDALONE)));
  assert.equal(reader.checkedPages, 1, 'a page the reader is sure of is not counted');
});

test('a node read counts the pages of that read left to the checked parser', async () => {
  const recorded = recordedServer('standalone/');
  const node = new JszNodeReader(1024);
  await node.read(recorded.get);
  assert.equal(node.checkedPages, 0);
  const escaped: MonitorGet = {
    ...recorded.get,
    body: (path, use) => recorded.get.body(path, (body) => use(path === '/varz' ? body : Buffer.from(body.toString('utf8').replace(/"ts"/g, '"t\\u0073"')))),
  };
  const read = await node.read(escaped);
  assert.equal(node.checkedPages, 1);
  assert.ok(read.streams.length > 0);
  await node.read(recorded.get);
  assert.equal(node.checkedPages, 0, 'counted afresh every read');
});

test('every prefix and every one-byte change of a recorded page: the reader either gives up or agrees with JSON.parse and the checked parser', () => {
  let agreed = 0;
  let gaveUp = 0;
  for (const [path, step] of [
    [STANDALONE, 5],
    [CLUSTER, 2],
  ] as const) {
    const outcomes = prefixesAndByteChanges(jszFixtureBytes(path), step, (body) => readJszPage(body), checked);
    agreed += outcomes.agreed;
    gaveUp += outcomes.gaveUp;
  }
  // Both outcomes happen: changes inside skipped strings and whitespace still read, broken syntax never does.
  assert.ok(agreed > 10_000 && gaveUp > 10_000, `agreed ${agreed}, gave up ${gaveUp}`);
});

test('a string table gives back the string read before for the same bytes, and never another', () => {
  const names = new StringTable();
  const body = jszFixtureBytes(STANDALONE);
  const first = readJszPage(body, names)!;
  const again = readJszPage(body, names)!;
  assert.deepEqual(again, first);
  assert.ok(Object.is(again.accounts[0]!.streams[0]!.name, first.accounts[0]!.streams[0]!.name));
  // "Aa" and "BB" hash alike (31 * 65 + 97 = 31 * 66 + 66): the table must compare the bytes.
  const named = (name: string) => Buffer.from(body.toString('latin1').replace(/"billing"/g, `"${name}"`), 'latin1');
  const consumerNames = (page: Buffer) => readJszPage(page, names)!.accounts[0]!.streams.flatMap((s) => s.consumers.map((c) => c.name));
  assert.ok(consumerNames(named('billing-Aa')).includes('billing-Aa'));
  const after = consumerNames(named('billing-BB'));
  assert.ok(after.includes('billing-BB') && !after.includes('billing-Aa'), after.join(','));
});
