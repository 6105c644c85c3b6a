import type { ChannelFacts, Subscription } from '../../model/types.js';
import { bits, CLOSE_ARRAY, CLOSE_OBJECT, KeyTable, NOT_SURE, OPEN_ARRAY, OPEN_OBJECT, Reader, StringTable } from '../json-bytes.js';
import { type ParsedChannel, splitQueueName } from './parse.js';

/**
 * Reads a channelsz?subs=1 page straight from the bytes the server sent, taking only the fields
 * the model uses. At 10,000 channels x 5 subscriptions a scrape reads 22 MB of JSON: decoding it
 * into strings and JSON.parse-ing it into objects (every inbox, every field) made most of the
 * exporter's garbage and took more CPU than the rest of the scrape.
 *
 * It reads with the strict reader of json-bytes.ts: any input it is not sure of (a syntax error,
 * a missing field, a field of another type, an escaped key) makes it return undefined, and the
 * caller falls back to JSON.parse and the checked parser in parse.ts, which say exactly what is
 * wrong.
 */

export interface ReadPage {
  total: number;
  count: number;
  channels: ParsedChannel[];
}

/** The keys the reader uses (places in KEYS, bits in the masks below); any other key's value is skipped. */
const TOTAL = 0, COUNT = 1, CHANNELS = 2;
const NAME = 3, MSGS = 4, BYTES = 5, FIRST_SEQ = 6, LAST_SEQ = 7, SUBS_COUNT = 8, SUBSCRIPTIONS = 9;
const CLIENT_ID = 10, QUEUE_NAME = 11, DURABLE_NAME = 12, IS_DURABLE = 13, IS_OFFLINE = 14, IS_STALLED = 15;
const MAX_INFLIGHT = 16, ACK_WAIT = 17, LAST_SENT = 18, PENDING_COUNT = 19, INBOX = 20;
const KEYS = new KeyTable([
  'total', 'count', 'channels',
  'name', 'msgs', 'bytes', 'first_seq', 'last_seq', 'subs_count', 'subscriptions',
  'client_id', 'queue_name', 'durable_name', 'is_durable', 'is_offline', 'is_stalled', 'max_inflight', 'ack_wait',
  'last_sent', 'pending_count', 'inbox',
]);

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

/** Bits of the fields a channel or subscription must have. */
const CHANNEL_REQUIRED = bits(NAME, MSGS, BYTES, FIRST_SEQ, LAST_SEQ, SUBS_COUNT);
const SUBSCRIPTION_REQUIRED = bits(CLIENT_ID, IS_DURABLE, IS_OFFLINE, IS_STALLED, MAX_INFLIGHT, ACK_WAIT, LAST_SENT, PENDING_COUNT);
const PAGE_REQUIRED = bits(TOTAL, COUNT);

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
      const key = r.key(KEYS);
      switch (key) {
        case CLIENT_ID: clientId = r.string(names); break;
        case INBOX:
          if (inboxes === undefined) {
            r.skip();
            continue;
          }
          inbox = r.string(inboxes);
          break;
        case QUEUE_NAME: queueName = r.string(names); break;
        case DURABLE_NAME: durableName = r.string(names); break;
        case IS_DURABLE: isDurable = r.boolean(); break;
        case IS_OFFLINE: offline = r.boolean(); break;
        case IS_STALLED: stalled = r.boolean(); break;
        case MAX_INFLIGHT: maxInflight = r.number(); break;
        case ACK_WAIT: ackWaitSeconds = r.number(); break;
        case LAST_SENT: lastSent = r.number(); break;
        case PENDING_COUNT: unacked = r.number(); break;
        default: r.skip(); continue;
      }
      seen |= 1 << key;
    } while (r.more(CLOSE_OBJECT));
  }
  if ((seen & SUBSCRIPTION_REQUIRED) !== SUBSCRIPTION_REQUIRED || (inboxes !== undefined && (seen & (1 << INBOX)) === 0)) throw NOT_SURE;
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
      const key = r.key(KEYS);
      switch (key) {
        case NAME: facts.name = r.string(tables.names); break;
        case MSGS: facts.messages = r.number(); break;
        case BYTES: facts.bytes = r.number(); break;
        case FIRST_SEQ: facts.firstSeq = r.number(); break;
        case LAST_SEQ: facts.lastSeq = r.number(); break;
        case SUBS_COUNT: facts.subscriptionCount = r.number(); break;
        case SUBSCRIPTIONS:
          subscriptions.length = 0;
          if (r.opens(OPEN_ARRAY, CLOSE_ARRAY)) {
            do subscriptions.push(readSubscription(r, tables));
            while (r.more(CLOSE_ARRAY));
          }
          break;
        default: r.skip(); continue;
      }
      seen |= 1 << key;
    } while (r.more(CLOSE_OBJECT));
  }
  if ((seen & CHANNEL_REQUIRED) !== CHANNEL_REQUIRED) throw NOT_SURE;
  return { facts, subscriptions };
}

/**
 * The page in `body`, or undefined when the body is anything but a well-formed channelsz page:
 * then parse it with JSON.parse and parseChannelsPage for a precise error. Names come from
 * `names`, the same table for every page of a server. Subscription inboxes are read (from
 * `inboxes`) only when that table is given; otherwise they are skipped like unused fields.
 */
export function readChannelsPage(body: Buffer, names: NameTable = new NameTable(), inboxes?: NameTable): ReadPage | undefined {
  const r = new Reader(body);
  const tables: Tables = { names, inboxes };
  let seen = 0;
  let total = 0;
  let count = 0;
  const channels: ParsedChannel[] = [];
  try {
    if (r.opens(OPEN_OBJECT, CLOSE_OBJECT)) {
      do {
        const key = r.key(KEYS);
        switch (key) {
          case TOTAL: total = r.number(); break;
          case COUNT: count = r.number(); break;
          case CHANNELS:
            channels.length = 0;
            if (r.opens(OPEN_ARRAY, CLOSE_ARRAY)) {
              do channels.push(readChannel(r, tables));
              while (r.more(CLOSE_ARRAY));
            }
            break;
          default: r.skip(); continue;
        }
        seen |= 1 << key;
      } while (r.more(CLOSE_OBJECT));
    }
    if ((seen & PAGE_REQUIRED) !== PAGE_REQUIRED || !r.atEnd()) return undefined;
  } catch (err) {
    if (err === NOT_SURE) return undefined;
    throw err;
  }
  return { total, count, channels };
}
