import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { FieldTable, FieldType, Fields } from '../../src/sources/field-table.js';
import { JSZ_PAGE, VARZ } from '../../src/sources/jetstream/fields.js';
import { readJszPage } from '../../src/sources/jetstream/jsz-reader.js';
import { parseJszPage, parseVarz } from '../../src/sources/jetstream/parse.js';
import { ScrapeError } from '../../src/sources/scrape-error.js';
import { CHANNELS_PAGE, SERVERZ, STOREZ } from '../../src/sources/stan/fields.js';
import { NameTable, readChannelsPage } from '../../src/sources/stan/channelsz-reader.js';
import { parseChannel, parseChannelsPage, parseServerz, parseStorez } from '../../src/sources/stan/parse.js';

/**
 * The field tables drive the readers of each page: for every field of every table, found in the
 * recorded pages (see test/fixtures/README.md), a value the table refuses makes the byte reader
 * (channelsz, /jsz) give up and the checked parser name the field. A field added to a table is
 * tested here.
 */

const recorded = (path: string): string => readFileSync(new URL(`../../../test/fixtures/${path}`, import.meta.url), 'utf8');

interface Page {
  name: string;
  table: FieldTable<Fields>;
  /** Recorded pages that hold the fields of the tables between them. */
  paths: string[];
  /** Fields no recorded page has (the servers recorded leave them out while they are false or empty). */
  unrecorded: string[];
  /** The byte reader, reading every field (inboxes too), for the pages that have one. */
  read?(body: Buffer): unknown;
  /** JSON.parse and the checked parser. */
  checked(body: Buffer): unknown;
}

const PAGES: Page[] = [
  {
    name: 'channelsz',
    table: CHANNELS_PAGE,
    paths: ['standalone/channelsz-subs.json', 'clustered/n1-channelsz-subs.json'],
    unrecorded: [],
    read: (body) => readChannelsPage(body, new NameTable(), new NameTable()),
    checked: (body) => {
      const page = parseChannelsPage(JSON.parse(body.toString('utf8')), 'channelsz offset 0');
      return { ...page, channels: page.channels.map((c) => parseChannel(c, 'channelsz offset 0', true)) };
    },
  },
  {
    name: '/jsz',
    table: JSZ_PAGE,
    paths: [
      'jetstream/standalone/jsz-offset-0-limit-1024.json',
      'jetstream/cluster/n1-jsz-offset-0-limit-1024.json',
      'jetstream/disabled/jsz-offset-0-limit-1024.json',
    ],
    unrecorded: ['paused', 'filter_subjects'],
    read: (body) => readJszPage(body),
    checked: (body) => parseJszPage(JSON.parse(body.toString('utf8')), 'jsz offset 0'),
  },
  {
    name: 'serverz',
    table: SERVERZ,
    paths: ['standalone/serverz.json', 'clustered/n1-serverz.json'],
    unrecorded: [],
    checked: (body) => parseServerz(JSON.parse(body.toString('utf8'))),
  },
  { name: 'storez', table: STOREZ, paths: ['standalone/storez.json'], unrecorded: [], checked: (body) => parseStorez(JSON.parse(body.toString('utf8'))) },
  { name: '/varz', table: VARZ, paths: ['jetstream/cluster/n1-varz.json'], unrecorded: [], checked: (body) => parseVarz(JSON.parse(body.toString('utf8'))) },
];

type Json = Record<string, unknown>;

/** A field of a table where a recorded page has it: the object that holds it. */
interface Place {
  table: FieldTable<Fields>;
  key: string;
  holder: Json;
}

/** Every place in `o` (an object `table` describes) that holds a field of a table, nested ones too. */
function placesIn(o: Json, table: FieldTable<Fields>): Place[] {
  const places: Place[] = [];
  for (const [key, spec] of Object.entries(table.fields)) {
    const value = o[key];
    if (value === undefined) continue;
    places.push({ table, key, holder: o });
    if (spec.of && spec.type === 'object') places.push(...placesIn(value as Json, spec.of));
    if (spec.of && spec.type === 'list' && Array.isArray(value)) for (const item of value) places.push(...placesIn(item as Json, spec.of));
  }
  return places;
}

/** Every table reachable from `table`, itself first. */
function tablesOf(table: FieldTable<Fields>): Set<FieldTable<Fields>> {
  const tables = new Set([table]);
  for (const spec of Object.values(table.fields)) if (spec.of) for (const t of tablesOf(spec.of)) tables.add(t);
  return tables;
}

/**
 * Each field of every table of `page`, once: `change` sets it (or deletes it) in a recorded page,
 * and the page goes through both readers. Fields `change` leaves alone (undefined) are skipped.
 */
function eachField(page: Page, change: (place: Place, spec: Fields[string]) => unknown): Edit[] {
  const edits: Edit[] = [];
  const done = new Set<string>();
  for (const path of page.paths) {
    const count = placesIn(JSON.parse(recorded(path)) as Json, page.table).length;
    for (let i = 0; i < count; i++) {
      // A fresh copy of the page for each edit: the place is found again by its order.
      const parsed = JSON.parse(recorded(path)) as Json;
      const place = placesIn(parsed, page.table)[i]!;
      const id = `${[...tablesOf(page.table)].indexOf(place.table)}.${place.key}`;
      if (done.has(id)) continue;
      const value = change(place, place.table.fields[place.key]!);
      if (value === undefined) continue;
      done.add(id);
      if (value === DELETE) delete place.holder[place.key];
      else place.holder[place.key] = value;
      const what = `${path}: ${place.key} = ${value === DELETE ? 'deleted' : JSON.stringify(value)}`;
      edits.push({ what, key: escape(place.key), type: place.table.fields[place.key]!.type, body: Buffer.from(JSON.stringify(parsed, null, 2)) });
    }
  }
  return edits;
}

const DELETE = Symbol('delete');

interface Edit {
  what: string;
  /** The field's key, escaped for a RegExp. */
  key: string;
  type: FieldType;
  body: Buffer;
}

/** The byte reader gives up on `body`, and the checked parser refuses it with `fault`. */
function refused(page: Page, what: string, body: Buffer, fault: RegExp): void {
  if (page.read) assert.equal(page.read(body), undefined, `${what}: the byte reader took it`);
  assert.throws(
    () => page.checked(body),
    (err: unknown) => {
      assert.ok(err instanceof ScrapeError, what);
      assert.equal(err.reason, 'invalid_response', what);
      assert.match(err.message, fault, what);
      return true;
    },
    what,
  );
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const page of PAGES) {
  test(`${page.name}: every count, sequence and size below zero, or not whole, is refused by its readers, naming the field and the value`, () => {
    let negatives = 0;
    for (const { what, key, body } of eachField(page, (_place, spec) => (spec.type === 'uint' ? -3 : undefined))) {
      refused(page, what, body, new RegExp(`field "${key}" is -3, not a count`));
      negatives++;
    }
    const uints = [...tablesOf(page.table)].flatMap((t) => Object.entries(t.fields).filter(([, spec]) => spec.type === 'uint'));
    assert.equal(negatives, uints.length, 'every uint field of the tables is in the recorded pages');
    for (const { what, body } of eachField(page, (_place, spec) => (spec.type === 'uint' ? 2.5 : undefined))) refused(page, what, body, /is 2\.5, not a count/);
  });

  test(`${page.name}: every required field missing, and every field of another type, is refused by its readers, naming the field`, () => {
    for (const { what, key, body } of eachField(page, ({ table, key }) => ((table.required & table.bit(key)) !== 0 ? DELETE : undefined))) {
      refused(page, what, body, new RegExp(`field "${key}" is missing`));
    }
    const wrong = { string: 5, boolean: 'true', uint: '5', number: '5', time: 5, object: 5, list: {}, strings: [5] } as const;
    const fault = {
      string: 'is not a string',
      boolean: 'is not a boolean',
      uint: 'is not a number',
      number: 'is not a number',
      time: 'is not a string',
      object: 'is not an object',
      list: 'is not a list',
      strings: '\\[0\\] is not a string',
    };
    const edits = eachField(page, (_place, spec) => wrong[spec.type]);
    for (const { what, key, type, body } of edits) refused(page, what, body, new RegExp(`field "${key}" ${fault[type]}`));
    const fields = [...tablesOf(page.table)].flatMap((t) => Object.keys(t.fields));
    const unrecorded = fields.filter((key) => !edits.some((e) => e.what.includes(`: ${key} = `)));
    assert.deepEqual(unrecorded, page.unrecorded, 'every other field of the tables is in the recorded pages');
  });
}

test('channelsz: pending_count -3 and max_inflight -1 in a recorded page name the channel, the subscription, the field and the value', () => {
  const [channelsz] = PAGES;
  const text = recorded('standalone/channelsz-subs.json');
  const cases: Array<[string, string, RegExp]> = [
    ['"pending_count": 3,', '"pending_count": -3,', /^channelsz offset 0 channel "jobs" subscription 0: field "pending_count" is -3, not a count/],
    ['"max_inflight": 3,', '"max_inflight": -1,', /^channelsz offset 0 channel "jobs" subscription 0: field "max_inflight" is -1, not a count/],
  ];
  for (const [from, to, fault] of cases) {
    assert.ok(text.includes(from), `the recorded page still has ${from}`);
    refused(channelsz!, to, Buffer.from(text.replace(from, to)), fault);
  }
});

test('/jsz: num_ack_pending -3 in a recorded page names the account, the stream, the consumer, the field and the value', () => {
  const [, jsz] = PAGES;
  const text = recorded('jetstream/standalone/jsz-offset-0-limit-1024.json');
  assert.ok(text.includes('"num_ack_pending": 5,'), 'the recorded page still has the figure this edit changes');
  refused(
    jsz!,
    'num_ack_pending -3',
    Buffer.from(text.replace('"num_ack_pending": 5,', '"num_ack_pending": -3,')),
    /account "\$G"\).*\(stream "orders"\).*\(consumer "billing"\): field "num_ack_pending" is -3, not a count/,
  );
});
