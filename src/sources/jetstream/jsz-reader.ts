import type { JetStreamTotals } from '../../model/types.js';
import { StreamRecords } from './stream-records.js';
import { uint } from '../field-table.js';
import { CLOSE_ARRAY, END, NOT_SURE, Reader, StringTable } from '../json-bytes.js';
import { ACCOUNT, API, CONSUMER, CONSUMER_CONFIG, JSZ_PAGE, PLACEMENT, SEQUENCE, SERVER_CONFIG, STREAM, STREAM_STATE } from './fields.js';
import { filterSubjects, type JszAccount, type JszConsumer, type JszPage, type JszStream, parseJszPage, WHOLE_STREAM } from './parse.js';

/**
 * Reads a /jsz page (accounts, streams, consumers and their config) straight from the bytes the
 * server sent, taking only the fields parse.ts's JszPage holds. Hand-written for speed: decoding a
 * large page into one string, JSON.parse-ing every field of every consumer's config and
 * Date.parse-ing three timestamps a consumer took most of the exporter's time per scrape beyond
 * the server's own (npm run bench:jetstream, which the reader is measured by).
 *
 * The result is the one parseJszPage gives for the same bytes. Any input the reader is not sure
 * of makes it return undefined: the caller then falls back to JSON.parse and parseJszPage, which
 * name the fault.
 */

/**
 * Each field's place, from its table (fields.ts), as Reader.key gives it: module constants, so
 * that the switches below compare with constants (property loads there made the reader slower).
 */
const {
  server_id: P_SERVER_ID,
  disabled: P_DISABLED,
  total: P_TOTAL,
  memory: P_MEMORY,
  storage: P_STORAGE,
  config: P_CONFIG,
  accounts: P_ACCOUNTS,
  streams: P_STREAMS,
  consumers: P_CONSUMERS,
  messages: P_MESSAGES,
  bytes: P_BYTES,
  api: P_API,
  meta_cluster: P_META,
  account_details: P_ACCOUNT_DETAILS,
} = JSZ_PAGE.id;
const { id: A_ID, name: A_NAME, stream_detail: A_STREAMS } = ACCOUNT.id;
const { name: S_NAME, cluster: S_CLUSTER, state: S_STATE, consumer_detail: S_CONSUMERS } = STREAM.id;
const {
  messages: ST_MESSAGES,
  bytes: ST_BYTES,
  first_seq: ST_FIRST_SEQ,
  last_seq: ST_LAST_SEQ,
  first_ts: ST_FIRST_TS,
  last_ts: ST_LAST_TS,
  consumer_count: ST_CONSUMER_COUNT,
} = STREAM_STATE.id;
const {
  name: C_NAME,
  config: C_CONFIG,
  cluster: C_CLUSTER,
  delivered: C_DELIVERED,
  ack_floor: C_ACK_FLOOR,
  num_pending: C_NUM_PENDING,
  num_ack_pending: C_NUM_ACK_PENDING,
  num_redelivered: C_NUM_REDELIVERED,
  num_waiting: C_NUM_WAITING,
  push_bound: C_PUSH_BOUND,
  paused: C_PAUSED,
  ts: C_TS,
} = CONSUMER.id;
const {
  durable_name: CC_DURABLE,
  deliver_subject: CC_DELIVER_SUBJECT,
  deliver_group: CC_DELIVER_GROUP,
  max_ack_pending: CC_MAX_ACK_PENDING,
  filter_subject: CC_FILTER,
  filter_subjects: CC_FILTERS,
} = CONSUMER_CONFIG.id;
const { leader: LEADER } = PLACEMENT.id;
const { consumer_seq: SQ_CONSUMER_SEQ, stream_seq: SQ_STREAM_SEQ, last_active: SQ_LAST_ACTIVE } = SEQUENCE.id;

/** A cluster or meta_cluster object: its leader, "" when it names none. */
function leaderOf(r: Reader, names: StringTable): string {
  let leader = '';
  for (let key = r.firstKey(PLACEMENT.keys); key !== END; key = r.nextKey(PLACEMENT.keys)) {
    if (key === LEADER) leader = r.string(names);
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
    if (key === SQ_STREAM_SEQ) sequence.streamSeq = uint(r.number());
    else if (key === SQ_LAST_ACTIVE) sequence.lastActiveMs = r.time();
    else if (key === SQ_CONSUMER_SEQ) uint(r.number());
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
      case CC_DURABLE:
        c.durableName = r.string(names);
        break;
      case CC_DELIVER_SUBJECT:
        c.deliverSubject = r.string(names);
        break;
      case CC_DELIVER_GROUP:
        c.deliverGroup = r.string(names);
        break;
      case CC_MAX_ACK_PENDING:
        c.maxAckPending = r.number();
        break;
      case CC_FILTER:
        one = r.string(names);
        break;
      case CC_FILTERS:
        many = subjects(r, names);
        break;
      default:
        r.skip();
    }
  }
  c.filterSubjects = filterSubjects(one, many);
}

function readConsumer(r: Reader, names: StringTable): JszConsumer {
  // The fields in parse.ts's order, so that both give objects of one shape.
  const c: JszConsumer = {
    name: '',
    durableName: '',
    deliverSubject: '',
    deliverGroup: '',
    maxAckPending: 0,
    filterSubjects: WHOLE_STREAM,
    cluster: undefined,
    deliveredStreamSeq: 0,
    ackFloorStreamSeq: 0,
    lastDeliveryMs: undefined,
    lastAckMs: undefined,
    numPending: 0,
    numAckPending: 0,
    numRedelivered: 0,
    numWaiting: 0,
    pushBound: false,
    paused: false,
    readAtMs: 0,
  };
  let seen = 0;
  for (let key = r.firstKey(CONSUMER.keys); key !== END; key = r.nextKey(CONSUMER.keys)) {
    seen |= 1 << key;
    switch (key) {
      case C_NAME:
        c.name = r.string(names);
        break;
      case C_CONFIG:
        readConsumerConfig(r, names, c);
        break;
      case C_CLUSTER:
        c.cluster = { leader: leaderOf(r, names) };
        break;
      case C_DELIVERED:
        ({ streamSeq: c.deliveredStreamSeq, lastActiveMs: c.lastDeliveryMs } = readSequence(r));
        break;
      case C_ACK_FLOOR:
        ({ streamSeq: c.ackFloorStreamSeq, lastActiveMs: c.lastAckMs } = readSequence(r));
        break;
      case C_NUM_PENDING:
        c.numPending = uint(r.number());
        break;
      case C_NUM_ACK_PENDING:
        c.numAckPending = uint(r.number());
        break;
      case C_NUM_REDELIVERED:
        c.numRedelivered = uint(r.number());
        break;
      case C_NUM_WAITING:
        c.numWaiting = uint(r.number());
        break;
      case C_PUSH_BOUND:
        c.pushBound = r.boolean();
        break;
      case C_PAUSED:
        c.paused = r.boolean();
        break;
      case C_TS:
        c.readAtMs = r.time();
        break;
      default:
        r.skip();
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
      case ST_MESSAGES:
        stream.messages = uint(r.number());
        break;
      case ST_BYTES:
        stream.bytes = uint(r.number());
        break;
      case ST_FIRST_SEQ:
        stream.firstSeq = uint(r.number());
        break;
      case ST_LAST_SEQ:
        stream.lastSeq = uint(r.number());
        break;
      case ST_FIRST_TS:
        stream.firstPublishedMs = publishTime(r);
        break;
      case ST_LAST_TS:
        stream.lastPublishedMs = publishTime(r);
        break;
      case ST_CONSUMER_COUNT:
        stream.consumerCount = uint(r.number());
        break;
      default:
        r.skip();
    }
  }
  if ((seen & STREAM_STATE.required) !== STREAM_STATE.required) throw NOT_SURE;
}

function readStream(r: Reader, names: StringTable): JszStream {
  const stream: JszStream = {
    name: '',
    cluster: undefined,
    messages: 0,
    bytes: 0,
    firstSeq: 0,
    lastSeq: 0,
    firstPublishedMs: undefined,
    lastPublishedMs: undefined,
    consumerCount: 0,
    consumers: [],
  };
  let seen = 0;
  for (let key = r.firstKey(STREAM.keys); key !== END; key = r.nextKey(STREAM.keys)) {
    seen |= 1 << key;
    switch (key) {
      case S_NAME:
        stream.name = r.string(names);
        break;
      case S_CLUSTER:
        stream.cluster = { leader: leaderOf(r, names) };
        break;
      case S_STATE:
        readState(r, stream);
        break;
      case S_CONSUMERS: {
        const consumers: JszConsumer[] = [];
        if (r.opensList()) {
          do consumers.push(readConsumer(r, names));
          while (r.more(CLOSE_ARRAY));
        }
        stream.consumers = consumers;
        break;
      }
      default:
        r.skip();
    }
  }
  if ((seen & STREAM.required) !== STREAM.required) throw NOT_SURE;
  return stream;
}

/** The stream at the reader: the kept one when its record is the same as at the last sweep, else read (and kept). */
function readOrReuseStream(r: Reader, body: Buffer, names: StringTable, records: StreamRecords, account: string): JszStream {
  r.peek();
  const reused = records.reuse(body, r.at(), account);
  if (reused !== undefined) {
    r.jump(reused.end);
    return reused.stream;
  }
  const place = records.locate(body, r.at());
  if (place === undefined) return readStream(r, names);
  const stream = readStream(r, names);
  // Kept only when the strict reader ended the record exactly where the layout said it ends.
  if (r.at() === place.end) records.keep(account, place.key, body.subarray(place.start, place.end), stream);
  return stream;
}

function readAccount(r: Reader, names: StringTable, body: Buffer, records: StreamRecords | undefined): JszAccount {
  const account: JszAccount = { id: '', name: '', streams: [] };
  let seen = 0;
  for (let key = r.firstKey(ACCOUNT.keys); key !== END; key = r.nextKey(ACCOUNT.keys)) {
    seen |= 1 << key;
    switch (key) {
      case A_ID:
        account.id = r.string(names);
        break;
      case A_NAME:
        account.name = r.string(names);
        break;
      case A_STREAMS: {
        const streams: JszStream[] = [];
        if (r.opensList()) {
          // An account's id comes before its streams in the server's answer; without it, nothing is kept.
          do streams.push(records === undefined || account.id === '' ? readStream(r, names) : readOrReuseStream(r, body, names, records, account.id));
          while (r.more(CLOSE_ARRAY));
        }
        account.streams = streams;
        break;
      }
      default:
        r.skip();
    }
  }
  if ((seen & ACCOUNT.required) !== ACCOUNT.required) throw NOT_SURE;
  return account;
}

function readTop(r: Reader, names: StringTable, body: Buffer, records: StreamRecords | undefined): JszPage {
  const totals: JetStreamTotals = {
    memoryBytes: 0,
    storageBytes: 0,
    maxMemoryBytes: 0,
    maxStorageBytes: 0,
    accounts: 0,
    streams: 0,
    consumers: 0,
    messages: 0,
    bytes: 0,
    apiRequests: 0,
    apiErrors: 0,
  };
  const page: JszPage = { serverId: '', disabled: false, total: undefined, totals, metaLeader: undefined, accounts: [] };
  let seen = 0;
  for (let key = r.firstKey(JSZ_PAGE.keys); key !== END; key = r.nextKey(JSZ_PAGE.keys)) {
    seen |= 1 << key;
    switch (key) {
      case P_SERVER_ID:
        page.serverId = r.string(names);
        break;
      case P_DISABLED:
        page.disabled = r.boolean();
        break;
      case P_TOTAL:
        page.total = uint(r.number());
        break;
      case P_MEMORY:
        totals.memoryBytes = uint(r.number());
        break;
      case P_STORAGE:
        totals.storageBytes = uint(r.number());
        break;
      case P_CONFIG:
        totals.maxMemoryBytes = totals.maxStorageBytes = 0;
        for (let c = r.firstKey(SERVER_CONFIG.keys); c !== END; c = r.nextKey(SERVER_CONFIG.keys)) {
          if (c === SERVER_CONFIG.id.max_memory) totals.maxMemoryBytes = r.number();
          else if (c === SERVER_CONFIG.id.max_storage) totals.maxStorageBytes = r.number();
          else r.skip();
        }
        break;
      case P_ACCOUNTS:
        totals.accounts = uint(r.number());
        break;
      case P_STREAMS:
        totals.streams = uint(r.number());
        break;
      case P_CONSUMERS:
        totals.consumers = uint(r.number());
        break;
      case P_MESSAGES:
        totals.messages = uint(r.number());
        break;
      case P_BYTES:
        totals.bytes = uint(r.number());
        break;
      case P_API:
        totals.apiRequests = totals.apiErrors = 0;
        for (let a = r.firstKey(API.keys); a !== END; a = r.nextKey(API.keys)) {
          if (a === API.id.total) totals.apiRequests = uint(r.number());
          else if (a === API.id.errors) totals.apiErrors = uint(r.number());
          else r.skip();
        }
        break;
      case P_META:
        page.metaLeader = leaderOf(r, names);
        break;
      case P_ACCOUNT_DETAILS: {
        const accounts: JszAccount[] = [];
        if (r.opensList()) {
          do accounts.push(readAccount(r, names, body, records));
          while (r.more(CLOSE_ARRAY));
        }
        page.accounts = accounts;
        break;
      }
      default:
        r.skip();
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
export function readJszPage(body: Buffer, names: StringTable = new StringTable(), records?: StreamRecords): JszPage | undefined {
  const r = new Reader(body);
  try {
    const page = readTop(r, names, body, records);
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
  /** The last sweep's stream records: a stream whose record comes back the same is not read again. */
  readonly records = new StreamRecords();
  /** Pages left to the checked parser since the count was last set to 0. */
  checkedPages = 0;

  read(get: MonitorGet, path: string, where: string): Promise<JszPage> {
    return get.body(path, (body) => readJszPage(body, this.#names, this.records) ?? this.#checked(get, path, body, where));
  }

  #checked(get: MonitorGet, path: string, body: Buffer, where: string): JszPage {
    this.checkedPages++;
    return parseJszPage(get.json(path, body), where);
  }
}
