import type { Channel, ChannelFacts, Subscription } from '../../model/types.js';
import { type ChannelRecords, consumerOrder } from './channel-records.js';
import { uint } from '../field-table.js';
import { CLOSE_ARRAY, CLOSE_OBJECT, NOT_SURE, OPEN_ARRAY, OPEN_OBJECT, Reader, StringTable } from '../json-bytes.js';
import { CHANNEL, CHANNELS_PAGE, SUBSCRIPTION } from './fields.js';
import { type ParsedChannel, splitQueueName } from './parse.js';

/**
 * Reads a channelsz?subs=1 page straight from the bytes the server sent, taking only the fields
 * the model uses. Hand-written for speed: decoding a large server's pages into strings and
 * JSON.parse-ing them into objects (every inbox, every field) made most of the exporter's garbage
 * and took more CPU than the rest of the scrape (npm run bench, which the reader is measured by).
 *
 * It reads with the strict reader of json-bytes.ts: any input it is not sure of (a syntax error,
 * a missing field, a field of another type, an escaped key) makes it return undefined, and the
 * caller falls back to JSON.parse and the checked parser in parse.ts, which say exactly what is
 * wrong.
 */

export interface ReadPage {
  total: number;
  count: number;
  channels: ReadChannel[];
}

/** A channel of a page: read, or (`built`) the same record as at the last scrape. */
export interface ReadChannel extends ParsedChannel {
  /** The channel kept for a record that is the same as at the last scrape: reuse it, do not build it. */
  built?: Channel;
  /** A record read that can be kept for the next scrape (ChannelRecords.keep): its raw name, bytes and consumer order. */
  record?: { key: string; bytes: Buffer; consumerOf: Int32Array };
}

/**
 * Each field's place, from its table (fields.ts), as Reader.key gives it: module constants, so
 * that the switches below compare with constants (property loads there made the reader slower).
 */
const { total: TOTAL, count: COUNT, channels: CHANNELS } = CHANNELS_PAGE.id;
const { name: NAME, msgs: MSGS, bytes: BYTES, first_seq: FIRST_SEQ, last_seq: LAST_SEQ, subs_count: SUBS_COUNT, subscriptions: SUBSCRIPTIONS } = CHANNEL.id;
const {
  client_id: CLIENT_ID,
  inbox: INBOX,
  queue_name: QUEUE_NAME,
  durable_name: DURABLE_NAME,
  is_durable: IS_DURABLE,
  is_offline: IS_OFFLINE,
  is_stalled: IS_STALLED,
  max_inflight: MAX_INFLIGHT,
  ack_wait: ACK_WAIT,
  last_sent: LAST_SENT,
  pending_count: PENDING_COUNT,
} = SUBSCRIPTION.id;
/** The fields a subscription must have when its inbox is not read. */
const WITHOUT_INBOX_REQUIRED = SUBSCRIPTION.required & ~SUBSCRIPTION.bit('inbox');

/** Queue names kept at most; past this the table starts again. */
const MAX_QUEUES = 100_000;

/**
 * Channel names, client ids and queue names read before (they repeat from scrape to scrape, and
 * client ids and queue names from channel to channel: 100,000 strings a scrape at 10,000
 * channels otherwise), and each queue name's split into group and durable.
 */
export class NameTable extends StringTable {
  readonly #queues = new Map<string, { group: string; durable: string }>();

  /** splitQueueName, remembered per queue name. */
  queue(queueName: string, isDurable: boolean): { group: string; durable: string } {
    const table = this.#queues;
    const key = isDurable ? queueName : `\u0000${queueName}`;
    let split = table.get(key);
    if (split === undefined) {
      split = splitQueueName(queueName, isDurable);
      if (table.size >= MAX_QUEUES) table.clear();
      table.set(key, split);
    }
    return split;
  }
}

/**
 * Where the reader puts strings: `names` for channel names, client ids and queue names;
 * `inboxes` for subscription inboxes, which are read only when it is given (they are unique
 * per subscription, so they get a table of their own instead of crowding out the names).
 */
interface Tables {
  names: NameTable;
  inboxes: NameTable | undefined;
}

function readSubscription(r: Reader, { names, inboxes }: Tables): Subscription {
  let seen = 0;
  let clientId = '';
  let inbox = '';
  let queueName = '';
  let durableName = '';
  let isDurable = false;
  let offline = false;
  let stalled = false;
  let maxInflight = 0;
  let ackWaitSeconds = 0;
  let lastSent = 0;
  let unacked = 0;
  if (r.opens(OPEN_OBJECT, CLOSE_OBJECT)) {
    do {
      const key = r.key(SUBSCRIPTION.keys);
      switch (key) {
        case CLIENT_ID:
          clientId = r.string(names);
          break;
        case INBOX:
          if (inboxes === undefined) {
            r.skip();
            continue;
          }
          inbox = r.string(inboxes);
          break;
        case QUEUE_NAME:
          queueName = r.string(names);
          break;
        case DURABLE_NAME:
          durableName = r.string(names);
          break;
        case IS_DURABLE:
          isDurable = r.boolean();
          break;
        case IS_OFFLINE:
          offline = r.boolean();
          break;
        case IS_STALLED:
          stalled = r.boolean();
          break;
        case MAX_INFLIGHT:
          maxInflight = uint(r.number());
          break;
        case ACK_WAIT:
          ackWaitSeconds = r.number();
          break;
        case LAST_SENT:
          lastSent = uint(r.number());
          break;
        case PENDING_COUNT:
          unacked = uint(r.number());
          break;
        default:
          r.skip();
          continue;
      }
      seen |= 1 << key;
    } while (r.more(CLOSE_OBJECT));
  }
  const required = inboxes === undefined ? WITHOUT_INBOX_REQUIRED : SUBSCRIPTION.required;
  if ((seen & required) !== required) throw NOT_SURE;
  let group = '';
  let durable = durableName;
  if (queueName !== '') ({ group, durable } = names.queue(queueName, isDurable));
  return { clientId, inbox, group, durable, unacked, lastSent, maxInflight, ackWaitSeconds, stalled, offline, index: 0 };
}

function readChannel(r: Reader, tables: Tables): ParsedChannel {
  let seen = 0;
  const facts: ChannelFacts = { name: '', messages: 0, bytes: 0, firstSeq: 0, lastSeq: 0, subscriptionCount: 0 };
  const subscriptions: Subscription[] = [];
  if (r.opens(OPEN_OBJECT, CLOSE_OBJECT)) {
    do {
      const key = r.key(CHANNEL.keys);
      switch (key) {
        case NAME:
          facts.name = r.string(tables.names);
          break;
        case MSGS:
          facts.messages = uint(r.number());
          break;
        case BYTES:
          facts.bytes = uint(r.number());
          break;
        case FIRST_SEQ:
          facts.firstSeq = uint(r.number());
          break;
        case LAST_SEQ:
          facts.lastSeq = uint(r.number());
          break;
        case SUBS_COUNT:
          facts.subscriptionCount = uint(r.number());
          break;
        case SUBSCRIPTIONS:
          subscriptions.length = 0;
          if (r.opens(OPEN_ARRAY, CLOSE_ARRAY)) {
            do subscriptions.push(readSubscription(r, tables));
            while (r.more(CLOSE_ARRAY));
          }
          break;
        default:
          r.skip();
          continue;
      }
      seen |= 1 << key;
    } while (r.more(CLOSE_OBJECT));
  }
  if ((seen & CHANNEL.required) !== CHANNEL.required) throw NOT_SURE;
  return { facts, subscriptions };
}

/**
 * The channel at the reader: the kept one when its record is the same as last time, else read;
 * undefined for a channel `select` leaves out, found by the page's layout: passed over unread.
 */
function readOrReuse(r: Reader, body: Buffer, tables: Tables, records: ChannelRecords, select?: (name: string) => boolean): ReadChannel | undefined {
  r.peek();
  const match = records.match(body, r.at());
  if (match?.channel !== undefined) {
    const built = match.channel;
    r.jump(match.end);
    return { facts: built, subscriptions: built.subscriptions, built };
  }
  const place = match?.place;
  if (place !== undefined && select !== undefined && !select(nameOfKey(place.key))) {
    r.jump(place.end);
    return undefined;
  }
  const parsed: ReadChannel = readChannel(r, tables);
  // Kept only when the strict reader ended the record exactly where the layout said it ends.
  if (place !== undefined && r.at() === place.end) {
    parsed.record = { key: place.key, bytes: body.subarray(place.start, place.end), consumerOf: consumerOrder(parsed.subscriptions) };
  }
  return parsed;
}

/** A record's name from its raw key (RecordPlace.key: its bytes as latin1, never with an escape). */
function nameOfKey(key: string): string {
  // Any byte past ASCII means UTF-8 to decode.
  return /[^\x00-\x7f]/.test(key) ? Buffer.from(key, 'latin1').toString('utf8') : key;
}

/**
 * The page in `body`, or undefined when the body is anything but a well-formed channelsz page:
 * then parse it with JSON.parse and parseChannelsPage for a precise error. Names come from
 * `names`, the same table for every page of a server. Subscription inboxes are read (from
 * `inboxes`) only when that table is given; otherwise they are skipped like unused fields. With
 * `records`, a channel whose record is the same as at the last scrape is not read again
 * (channel-records.ts), and one that `select` leaves out (--subjects, --exclude-subjects) is
 * passed over unread where the page's layout tells where it ends; the caller still selects
 * from what is read.
 */
export function readChannelsPage(
  body: Buffer,
  names: NameTable = new NameTable(),
  inboxes?: NameTable,
  records?: ChannelRecords,
  select?: (name: string) => boolean,
): ReadPage | undefined {
  const r = new Reader(body);
  const tables: Tables = { names, inboxes };
  let seen = 0;
  let total = 0;
  let count = 0;
  const channels: ReadChannel[] = [];
  try {
    if (r.opens(OPEN_OBJECT, CLOSE_OBJECT)) {
      do {
        const key = r.key(CHANNELS_PAGE.keys);
        switch (key) {
          case TOTAL:
            total = uint(r.number());
            break;
          case COUNT:
            count = uint(r.number());
            break;
          case CHANNELS:
            channels.length = 0;
            if (r.opens(OPEN_ARRAY, CLOSE_ARRAY)) {
              do {
                const read = records === undefined ? readChannel(r, tables) : readOrReuse(r, body, tables, records, select);
                if (read !== undefined) channels.push(read);
              } while (r.more(CLOSE_ARRAY));
            }
            break;
          default:
            r.skip();
            continue;
        }
        seen |= 1 << key;
      } while (r.more(CLOSE_OBJECT));
    }
    if ((seen & CHANNELS_PAGE.required) !== CHANNELS_PAGE.required || !r.atEnd()) return undefined;
  } catch (err) {
    if (err === NOT_SURE) return undefined;
    throw err;
  }
  return { total, count, channels };
}
