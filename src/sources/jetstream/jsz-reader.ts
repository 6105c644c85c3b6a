import type { JetStreamTotals } from '../../model/types.js';
import { CLOSE_ARRAY, END, NOT_SURE, Reader, StringTable } from '../json-bytes.js';
import { ACCOUNT, API, CONSUMER, CONSUMER_CONFIG, JSZ_PAGE, PLACEMENT, SEQUENCE, SERVER_CONFIG, STREAM, STREAM_STATE } from './fields.js';
import { filterSubjects, type JszAccount, type JszConsumer, type JszPage, type JszStream, parseJszPage, WHOLE_STREAM } from './parse.js';

/**
 * Reads a /jsz page (accounts, streams, consumers and their config) straight from the bytes the
 * server sent, taking only the fields parse.ts's JszPage holds. At 10,000 consumers a page is
 * 10 MB of indented JSON: decoding it into one string, JSON.parse-ing every field of every
 * consumer's config into objects and Date.parse-ing three timestamps a consumer took most of the
 * exporter's time per scrape beyond the server's own.
 *
 * The result is the one parseJszPage gives for the same bytes. Any input the reader is not sure
 * of makes it return undefined: the caller then falls back to JSON.parse and parseJszPage, which
 * name the fault.
 */

const P = JSZ_PAGE.id;
const A = ACCOUNT.id;
const S = STREAM.id;
const ST = STREAM_STATE.id;
const C = CONSUMER.id;
const CC = CONSUMER_CONFIG.id;
const SQ = SEQUENCE.id;

/** A cluster or meta_cluster object: its leader, "" when it names none. */
function leaderOf(r: Reader, names: StringTable): string {
  let leader = '';
  for (let key = r.firstKey(PLACEMENT.keys); key !== END; key = r.nextKey(PLACEMENT.keys)) {
    if (key === PLACEMENT.id.leader) leader = r.string(names);
    else r.skip();
  }
  return leader;
}

/** A publish time: Go's zero time (year 1), sent while there is no such message, is none. */
function publishTime(r: Reader): number | undefined {
  const ms = r.time();
  return ms <= 0 ? undefined : ms;
}

/** filter_subjects: a list of strings (none when null). */
function subjects(r: Reader, names: StringTable): string[] {
  const out: string[] = [];
  if (r.opensList()) {
    do out.push(r.string(names));
    while (r.more(CLOSE_ARRAY));
  }
  return out;
}

/** The figures of delivered or ack_floor; one object reused, copied out at once. */
const sequence = { streamSeq: 0, lastActiveMs: undefined as number | undefined };

function readSequence(r: Reader): typeof sequence {
  sequence.streamSeq = 0;
  sequence.lastActiveMs = undefined;
  let seen = 0;
  for (let key = r.firstKey(SEQUENCE.keys); key !== END; key = r.nextKey(SEQUENCE.keys)) {
    seen |= 1 << key;
    if (key === SQ.stream_seq) sequence.streamSeq = SEQUENCE.number(r, key);
    else if (key === SQ.last_active) sequence.lastActiveMs = r.time();
    else if (key === SQ.consumer_seq) SEQUENCE.number(r, key);
    else r.skip();
  }
  if ((seen & SEQUENCE.required) !== SEQUENCE.required) throw NOT_SURE;
  return sequence;
}

/** A consumer's config: the fields the queues use, set on `c`; a second config replaces the first whole, as in JSON.parse. */
function readConsumerConfig(r: Reader, names: StringTable, c: JszConsumer): void {
  c.durableName = c.deliverSubject = c.deliverGroup = '';
  c.maxAckPending = 0;
  let one = '';
  let many: string[] = [];
  for (let key = r.firstKey(CONSUMER_CONFIG.keys); key !== END; key = r.nextKey(CONSUMER_CONFIG.keys)) {
    switch (key) {
      case CC.durable_name: c.durableName = r.string(names); break;
      case CC.deliver_subject: c.deliverSubject = r.string(names); break;
      case CC.deliver_group: c.deliverGroup = r.string(names); break;
      case CC.max_ack_pending: c.maxAckPending = CONSUMER_CONFIG.number(r, key); break;
      case CC.filter_subject: one = r.string(names); break;
      case CC.filter_subjects: many = subjects(r, names); break;
      default: r.skip();
    }
  }
  c.filterSubjects = filterSubjects(one, many);
}

function readConsumer(r: Reader, names: StringTable): JszConsumer {
  // The fields in parse.ts's order, so that both give objects of one shape.
  const c: JszConsumer = {
    name: '', durableName: '', deliverSubject: '', deliverGroup: '', maxAckPending: 0, filterSubjects: WHOLE_STREAM, cluster: undefined,
    deliveredStreamSeq: 0, ackFloorStreamSeq: 0, lastDeliveryMs: undefined, lastAckMs: undefined,
    numPending: 0, numAckPending: 0, numRedelivered: 0, numWaiting: 0, pushBound: false, paused: false, readAtMs: 0,
  };
  let seen = 0;
  for (let key = r.firstKey(CONSUMER.keys); key !== END; key = r.nextKey(CONSUMER.keys)) {
    seen |= 1 << key;
    switch (key) {
      case C.name: c.name = r.string(names); break;
      case C.config: readConsumerConfig(r, names, c); break;
      case C.cluster: c.cluster = { leader: leaderOf(r, names) }; break;
      case C.delivered: ({ streamSeq: c.deliveredStreamSeq, lastActiveMs: c.lastDeliveryMs } = readSequence(r)); break;
      case C.ack_floor: ({ streamSeq: c.ackFloorStreamSeq, lastActiveMs: c.lastAckMs } = readSequence(r)); break;
      case C.num_pending: c.numPending = CONSUMER.number(r, key); break;
      case C.num_ack_pending: c.numAckPending = CONSUMER.number(r, key); break;
      case C.num_redelivered: c.numRedelivered = CONSUMER.number(r, key); break;
      case C.num_waiting: c.numWaiting = CONSUMER.number(r, key); break;
      case C.push_bound: c.pushBound = r.boolean(); break;
      case C.paused: c.paused = r.boolean(); break;
      case C.ts: c.readAtMs = r.time(); break;
      default: r.skip();
    }
  }
  if ((seen & CONSUMER.required) !== CONSUMER.required) throw NOT_SURE;
  return c;
}

/** A stream's state, set on `stream`; a second state replaces the first whole. */
function readState(r: Reader, stream: JszStream): void {
  stream.firstPublishedMs = stream.lastPublishedMs = undefined;
  stream.consumerCount = 0;
  let seen = 0;
  for (let key = r.firstKey(STREAM_STATE.keys); key !== END; key = r.nextKey(STREAM_STATE.keys)) {
    seen |= 1 << key;
    switch (key) {
      case ST.messages: stream.messages = STREAM_STATE.number(r, key); break;
      case ST.bytes: stream.bytes = STREAM_STATE.number(r, key); break;
      case ST.first_seq: stream.firstSeq = STREAM_STATE.number(r, key); break;
      case ST.last_seq: stream.lastSeq = STREAM_STATE.number(r, key); break;
      case ST.first_ts: stream.firstPublishedMs = publishTime(r); break;
      case ST.last_ts: stream.lastPublishedMs = publishTime(r); break;
      case ST.consumer_count: stream.consumerCount = STREAM_STATE.number(r, key); break;
      default: r.skip();
    }
  }
  if ((seen & STREAM_STATE.required) !== STREAM_STATE.required) throw NOT_SURE;
}

function readStream(r: Reader, names: StringTable): JszStream {
  const stream: JszStream = {
    name: '', cluster: undefined, messages: 0, bytes: 0, firstSeq: 0, lastSeq: 0,
    firstPublishedMs: undefined, lastPublishedMs: undefined, consumerCount: 0, consumers: [],
  };
  let seen = 0;
  for (let key = r.firstKey(STREAM.keys); key !== END; key = r.nextKey(STREAM.keys)) {
    seen |= 1 << key;
    switch (key) {
      case S.name: stream.name = r.string(names); break;
      case S.cluster: stream.cluster = { leader: leaderOf(r, names) }; break;
      case S.state: readState(r, stream); break;
      case S.consumer_detail: {
        const consumers: JszConsumer[] = [];
        if (r.opensList()) {
          do consumers.push(readConsumer(r, names));
          while (r.more(CLOSE_ARRAY));
        }
        stream.consumers = consumers;
        break;
      }
      default: r.skip();
    }
  }
  if ((seen & STREAM.required) !== STREAM.required) throw NOT_SURE;
  return stream;
}

function readAccount(r: Reader, names: StringTable): JszAccount {
  const account: JszAccount = { id: '', name: '', streams: [] };
  let seen = 0;
  for (let key = r.firstKey(ACCOUNT.keys); key !== END; key = r.nextKey(ACCOUNT.keys)) {
    seen |= 1 << key;
    switch (key) {
      case A.id: account.id = r.string(names); break;
      case A.name: account.name = r.string(names); break;
      case A.stream_detail: {
        const streams: JszStream[] = [];
        if (r.opensList()) {
          do streams.push(readStream(r, names));
          while (r.more(CLOSE_ARRAY));
        }
        account.streams = streams;
        break;
      }
      default: r.skip();
    }
  }
  if ((seen & ACCOUNT.required) !== ACCOUNT.required) throw NOT_SURE;
  return account;
}

function readTop(r: Reader, names: StringTable): JszPage {
  const totals: JetStreamTotals = {
    memoryBytes: 0, storageBytes: 0, maxMemoryBytes: 0, maxStorageBytes: 0, accounts: 0, streams: 0, consumers: 0,
    messages: 0, bytes: 0, apiRequests: 0, apiErrors: 0,
  };
  const page: JszPage = { serverId: '', disabled: false, total: undefined, totals, metaLeader: undefined, accounts: [] };
  let seen = 0;
  for (let key = r.firstKey(JSZ_PAGE.keys); key !== END; key = r.nextKey(JSZ_PAGE.keys)) {
    seen |= 1 << key;
    switch (key) {
      case P.server_id: page.serverId = r.string(names); break;
      case P.disabled: page.disabled = r.boolean(); break;
      case P.total: page.total = JSZ_PAGE.number(r, key); break;
      case P.memory: totals.memoryBytes = JSZ_PAGE.number(r, key); break;
      case P.storage: totals.storageBytes = JSZ_PAGE.number(r, key); break;
      case P.config:
        totals.maxMemoryBytes = totals.maxStorageBytes = 0;
        for (let c = r.firstKey(SERVER_CONFIG.keys); c !== END; c = r.nextKey(SERVER_CONFIG.keys)) {
          if (c === SERVER_CONFIG.id.max_memory) totals.maxMemoryBytes = SERVER_CONFIG.number(r, c);
          else if (c === SERVER_CONFIG.id.max_storage) totals.maxStorageBytes = SERVER_CONFIG.number(r, c);
          else r.skip();
        }
        break;
      case P.accounts: totals.accounts = JSZ_PAGE.number(r, key); break;
      case P.streams: totals.streams = JSZ_PAGE.number(r, key); break;
      case P.consumers: totals.consumers = JSZ_PAGE.number(r, key); break;
      case P.messages: totals.messages = JSZ_PAGE.number(r, key); break;
      case P.bytes: totals.bytes = JSZ_PAGE.number(r, key); break;
      case P.api:
        totals.apiRequests = totals.apiErrors = 0;
        for (let a = r.firstKey(API.keys); a !== END; a = r.nextKey(API.keys)) {
          if (a === API.id.total) totals.apiRequests = API.number(r, a);
          else if (a === API.id.errors) totals.apiErrors = API.number(r, a);
          else r.skip();
        }
        break;
      case P.meta_cluster: page.metaLeader = leaderOf(r, names); break;
      case P.account_details: {
        const accounts: JszAccount[] = [];
        if (r.opensList()) {
          do accounts.push(readAccount(r, names));
          while (r.more(CLOSE_ARRAY));
        }
        page.accounts = accounts;
        break;
      }
      default: r.skip();
    }
  }
  if ((seen & JSZ_PAGE.required) !== JSZ_PAGE.required) throw NOT_SURE;
  return page;
}

/**
 * The page in `body`, as parseJszPage would give it after JSON.parse, or undefined when the
 * reader is not sure of it: then parse it with those for a precise error. Names (accounts,
 * streams, consumers, leaders) come from `names`, the same table for every page of a server.
 */
export function readJszPage(body: Buffer, names: StringTable = new StringTable()): JszPage | undefined {
  const r = new Reader(body);
  try {
    const page = readTop(r, names);
    return r.atEnd() ? page : undefined;
  } catch (err) {
    if (err === NOT_SURE) return undefined;
    throw err;
  }
}

/** GETs paths of one node's monitoring port; a failure throws a ScrapeError. */
export interface MonitorGet {
  /** Hands the answer's body to `use`: its bytes, valid only while `use` runs (the buffer is reused). */
  body<T>(path: string, use: (body: Buffer) => T): Promise<T>;
  /** The JSON in a body that `body` gave for `path`, or the error that says it is not JSON. */
  json(path: string, body: Buffer): unknown;
}

/**
 * Reads the /jsz pages of one server: with readJszPage, or, for a page it is not sure of, with
 * JSON.parse and parseJszPage, which throw the error that names the fault (or, for JSON the fast
 * reader leaves alone, such as escaped keys, give the page). Those pages are counted.
 */
export class JszPageReader {
  readonly #names = new StringTable();
  /** Pages left to the checked parser since the count was last set to 0. */
  checkedPages = 0;

  read(get: MonitorGet, path: string, where: string): Promise<JszPage> {
    return get.body(path, (body) => readJszPage(body, this.#names) ?? this.#checked(get, path, body, where));
  }

  #checked(get: MonitorGet, path: string, body: Buffer, where: string): JszPage {
    this.checkedPages++;
    return parseJszPage(get.json(path, body), where);
  }
}
