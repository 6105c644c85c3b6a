import type { JetStreamTotals } from '../../model/types.js';
import { bits, CLOSE_ARRAY, END, KeyTable, NOT_SURE, Reader, StringTable } from '../json-bytes.js';
import { type JszAccount, type JszConsumer, type JszPage, type JszStream, parseJszPage, WHOLE_STREAM } from './parse.js';

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

/** The keys read in each kind of object, by their places; any other key's value is skipped. */
const PAGE = new KeyTable(['server_id', 'disabled', 'total', 'memory', 'storage', 'config', 'accounts', 'streams', 'consumers', 'messages', 'bytes', 'api', 'meta_cluster', 'account_details']);
const P_SERVER_ID = 0, P_DISABLED = 1, P_TOTAL = 2, P_MEMORY = 3, P_STORAGE = 4, P_CONFIG = 5, P_ACCOUNTS = 6, P_STREAMS = 7, P_CONSUMERS = 8;
const P_MESSAGES = 9, P_BYTES = 10, P_API = 11, P_META = 12, P_ACCOUNT_DETAILS = 13;
const SERVER_CONFIG = new KeyTable(['max_memory', 'max_storage']);
const API = new KeyTable(['total', 'errors']);
/** meta_cluster, and the cluster of a stream or consumer. */
const PLACEMENT = new KeyTable(['leader']);
const ACCOUNT = new KeyTable(['id', 'name', 'stream_detail']);
const A_ID = 0, A_NAME = 1, A_STREAMS = 2;
const STREAM = new KeyTable(['name', 'cluster', 'state', 'consumer_detail']);
const S_NAME = 0, S_CLUSTER = 1, S_STATE = 2, S_CONSUMERS = 3;
const STATE = new KeyTable(['messages', 'bytes', 'first_seq', 'last_seq', 'first_ts', 'last_ts', 'consumer_count']);
const ST_MESSAGES = 0, ST_BYTES = 1, ST_FIRST_SEQ = 2, ST_LAST_SEQ = 3, ST_FIRST_TS = 4, ST_LAST_TS = 5, ST_CONSUMER_COUNT = 6;
const CONSUMER = new KeyTable(['name', 'config', 'cluster', 'delivered', 'ack_floor', 'num_pending', 'num_ack_pending', 'num_redelivered', 'num_waiting', 'push_bound', 'paused', 'ts']);
const C_NAME = 0, C_CONFIG = 1, C_CLUSTER = 2, C_DELIVERED = 3, C_ACK_FLOOR = 4, C_NUM_PENDING = 5, C_NUM_ACK_PENDING = 6;
const C_NUM_REDELIVERED = 7, C_NUM_WAITING = 8, C_PUSH_BOUND = 9, C_PAUSED = 10, C_TS = 11;
const CONSUMER_CONFIG = new KeyTable(['durable_name', 'deliver_subject', 'deliver_group', 'max_ack_pending', 'filter_subject', 'filter_subjects']);
const CC_DURABLE = 0, CC_DELIVER_SUBJECT = 1, CC_DELIVER_GROUP = 2, CC_MAX_ACK_PENDING = 3, CC_FILTER = 4, CC_FILTERS = 5;
/** delivered and ack_floor. */
const SEQUENCE = new KeyTable(['stream_seq', 'last_active']);
const SQ_STREAM_SEQ = 0, SQ_LAST_ACTIVE = 1;

/** The fields each object must have (parse.ts's required ones). */
const PAGE_REQUIRED = bits(P_SERVER_ID);
const ACCOUNT_REQUIRED = bits(A_ID, A_NAME);
const STREAM_REQUIRED = bits(S_NAME, S_STATE);
const STATE_REQUIRED = bits(ST_MESSAGES, ST_BYTES, ST_FIRST_SEQ, ST_LAST_SEQ);
const CONSUMER_REQUIRED = bits(C_NAME, C_CONFIG, C_DELIVERED, C_ACK_FLOOR, C_NUM_PENDING, C_NUM_ACK_PENDING, C_NUM_REDELIVERED, C_NUM_WAITING, C_TS);

/** A cluster or meta_cluster object: its leader, "" when it names none. */
function leaderOf(r: Reader, names: StringTable): string {
  let leader = '';
  for (let key = r.firstKey(PLACEMENT); key !== END; key = r.nextKey(PLACEMENT)) {
    if (key === 0) leader = r.string(names);
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
  for (let key = r.firstKey(SEQUENCE); key !== END; key = r.nextKey(SEQUENCE)) {
    seen |= 1 << key;
    if (key === SQ_STREAM_SEQ) sequence.streamSeq = r.number();
    else if (key === SQ_LAST_ACTIVE) sequence.lastActiveMs = r.time();
    else r.skip();
  }
  if ((seen & bits(SQ_STREAM_SEQ)) === 0) throw NOT_SURE;
  return sequence;
}

/** A consumer's config: the fields the queues use, set on `c`; a second config replaces the first whole, as in JSON.parse. */
function readConsumerConfig(r: Reader, names: StringTable, c: JszConsumer): void {
  c.durableName = c.deliverSubject = c.deliverGroup = '';
  c.maxAckPending = 0;
  let one = '';
  let many: string[] = [];
  for (let key = r.firstKey(CONSUMER_CONFIG); key !== END; key = r.nextKey(CONSUMER_CONFIG)) {
    switch (key) {
      case CC_DURABLE: c.durableName = r.string(names); break;
      case CC_DELIVER_SUBJECT: c.deliverSubject = r.string(names); break;
      case CC_DELIVER_GROUP: c.deliverGroup = r.string(names); break;
      case CC_MAX_ACK_PENDING: c.maxAckPending = r.number(); break;
      case CC_FILTER: one = r.string(names); break;
      case CC_FILTERS: many = subjects(r, names); break;
      default: r.skip();
    }
  }
  c.filterSubjects = one === '' && many.length === 0 ? WHOLE_STREAM : one === '' ? many : [one, ...many];
}

function readConsumer(r: Reader, names: StringTable): JszConsumer {
  // The fields in parse.ts's order, so that both give objects of one shape.
  const c: JszConsumer = {
    name: '', durableName: '', deliverSubject: '', deliverGroup: '', maxAckPending: 0, filterSubjects: WHOLE_STREAM, cluster: undefined,
    deliveredStreamSeq: 0, ackFloorStreamSeq: 0, lastDeliveryMs: undefined, lastAckMs: undefined,
    numPending: 0, numAckPending: 0, numRedelivered: 0, numWaiting: 0, pushBound: false, paused: false, readAtMs: 0,
  };
  let seen = 0;
  for (let key = r.firstKey(CONSUMER); key !== END; key = r.nextKey(CONSUMER)) {
    seen |= 1 << key;
    switch (key) {
      case C_NAME: c.name = r.string(names); break;
      case C_CONFIG: readConsumerConfig(r, names, c); break;
      case C_CLUSTER: c.cluster = { leader: leaderOf(r, names) }; break;
      case C_DELIVERED: ({ streamSeq: c.deliveredStreamSeq, lastActiveMs: c.lastDeliveryMs } = readSequence(r)); break;
      case C_ACK_FLOOR: ({ streamSeq: c.ackFloorStreamSeq, lastActiveMs: c.lastAckMs } = readSequence(r)); break;
      case C_NUM_PENDING: c.numPending = r.number(); break;
      case C_NUM_ACK_PENDING: c.numAckPending = r.number(); break;
      case C_NUM_REDELIVERED: c.numRedelivered = r.number(); break;
      case C_NUM_WAITING: c.numWaiting = r.number(); break;
      case C_PUSH_BOUND: c.pushBound = r.boolean(); break;
      case C_PAUSED: c.paused = r.boolean(); break;
      case C_TS: c.readAtMs = r.time(); break;
      default: r.skip();
    }
  }
  if ((seen & CONSUMER_REQUIRED) !== CONSUMER_REQUIRED) throw NOT_SURE;
  return c;
}

/** A stream's state, set on `stream`; a second state replaces the first whole. */
function readState(r: Reader, stream: JszStream): void {
  stream.firstPublishedMs = stream.lastPublishedMs = undefined;
  stream.consumerCount = 0;
  let seen = 0;
  for (let key = r.firstKey(STATE); key !== END; key = r.nextKey(STATE)) {
    seen |= 1 << key;
    switch (key) {
      case ST_MESSAGES: stream.messages = r.number(); break;
      case ST_BYTES: stream.bytes = r.number(); break;
      case ST_FIRST_SEQ: stream.firstSeq = r.number(); break;
      case ST_LAST_SEQ: stream.lastSeq = r.number(); break;
      case ST_FIRST_TS: stream.firstPublishedMs = publishTime(r); break;
      case ST_LAST_TS: stream.lastPublishedMs = publishTime(r); break;
      case ST_CONSUMER_COUNT: stream.consumerCount = r.number(); break;
      default: r.skip();
    }
  }
  if ((seen & STATE_REQUIRED) !== STATE_REQUIRED) throw NOT_SURE;
}

function readStream(r: Reader, names: StringTable): JszStream {
  const stream: JszStream = {
    name: '', cluster: undefined, messages: 0, bytes: 0, firstSeq: 0, lastSeq: 0,
    firstPublishedMs: undefined, lastPublishedMs: undefined, consumerCount: 0, consumers: [],
  };
  let seen = 0;
  for (let key = r.firstKey(STREAM); key !== END; key = r.nextKey(STREAM)) {
    seen |= 1 << key;
    switch (key) {
      case S_NAME: stream.name = r.string(names); break;
      case S_CLUSTER: stream.cluster = { leader: leaderOf(r, names) }; break;
      case S_STATE: readState(r, stream); break;
      case S_CONSUMERS: {
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
  if ((seen & STREAM_REQUIRED) !== STREAM_REQUIRED) throw NOT_SURE;
  return stream;
}

function readAccount(r: Reader, names: StringTable): JszAccount {
  const account: JszAccount = { id: '', name: '', streams: [] };
  let seen = 0;
  for (let key = r.firstKey(ACCOUNT); key !== END; key = r.nextKey(ACCOUNT)) {
    seen |= 1 << key;
    switch (key) {
      case A_ID: account.id = r.string(names); break;
      case A_NAME: account.name = r.string(names); break;
      case A_STREAMS: {
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
  if ((seen & ACCOUNT_REQUIRED) !== ACCOUNT_REQUIRED) throw NOT_SURE;
  return account;
}

function readTop(r: Reader, names: StringTable): JszPage {
  const totals: JetStreamTotals = {
    memoryBytes: 0, storageBytes: 0, maxMemoryBytes: 0, maxStorageBytes: 0, accounts: 0, streams: 0, consumers: 0,
    messages: 0, bytes: 0, apiRequests: 0, apiErrors: 0,
  };
  const page: JszPage = { serverId: '', disabled: false, total: undefined, totals, metaLeader: undefined, accounts: [] };
  let seen = 0;
  for (let key = r.firstKey(PAGE); key !== END; key = r.nextKey(PAGE)) {
    seen |= 1 << key;
    switch (key) {
      case P_SERVER_ID: page.serverId = r.string(names); break;
      case P_DISABLED: page.disabled = r.boolean(); break;
      case P_TOTAL: page.total = r.number(); break;
      case P_MEMORY: totals.memoryBytes = r.number(); break;
      case P_STORAGE: totals.storageBytes = r.number(); break;
      case P_CONFIG:
        totals.maxMemoryBytes = totals.maxStorageBytes = 0;
        for (let c = r.firstKey(SERVER_CONFIG); c !== END; c = r.nextKey(SERVER_CONFIG)) {
          if (c === 0) totals.maxMemoryBytes = r.number();
          else if (c === 1) totals.maxStorageBytes = r.number();
          else r.skip();
        }
        break;
      case P_ACCOUNTS: totals.accounts = r.number(); break;
      case P_STREAMS: totals.streams = r.number(); break;
      case P_CONSUMERS: totals.consumers = r.number(); break;
      case P_MESSAGES: totals.messages = r.number(); break;
      case P_BYTES: totals.bytes = r.number(); break;
      case P_API:
        totals.apiRequests = totals.apiErrors = 0;
        for (let a = r.firstKey(API); a !== END; a = r.nextKey(API)) {
          if (a === 0) totals.apiRequests = r.number();
          else if (a === 1) totals.apiErrors = r.number();
          else r.skip();
        }
        break;
      case P_META: page.metaLeader = leaderOf(r, names); break;
      case P_ACCOUNT_DETAILS: {
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
  if ((seen & PAGE_REQUIRED) !== PAGE_REQUIRED) throw NOT_SURE;
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
