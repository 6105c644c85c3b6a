import type { ChannelFacts, Subscription } from '../../model/types.js';
import { type ParsedChannel, splitQueueName } from './parse.js';

/**
 * Reads a channelsz?subs=1 page straight from the bytes the server sent, taking only the fields
 * the model uses. At 10,000 channels x 5 subscriptions a scrape reads 22 MB of JSON: decoding it
 * into strings and JSON.parse-ing it into objects (every inbox, every field) made most of the
 * exporter's garbage and took more CPU than the rest of the scrape.
 *
 * This is a strict JSON reader: any input it is not sure of (a syntax error, a missing field, a
 * field of another type, an escaped key) makes it return undefined, and the caller falls back to
 * JSON.parse and the checked parser in parse.ts, which say exactly what is wrong. So it never
 * has to explain an error, and never accepts what JSON.parse would refuse.
 */

export interface ReadPage {
  total: number;
  count: number;
  channels: ParsedChannel[];
}

/** Thrown inside the reader for any input it leaves to the checked parser. */
const NOT_SURE = new Error('channelsz-reader: not sure of this input');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
/** What #skipString found in a string. */
const PLAIN = 0;
const NON_ASCII = 1;
const ESCAPED = 2;
/** The bytes after a backslash that stand for one character: " \ / b f n r t. */
const SIMPLE_ESCAPES: readonly number[] = [...'"\\/bfnrt'].map((c) => c.charCodeAt(0));
function isHexDigit(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}
/** Integers of up to this many digits are summed exactly in a double. */
const EXACT_DIGITS = 15;
/** Deepest nesting skipped in fields the reader does not use. */
const MAX_DEPTH = 64;

/** The keys the reader uses, each with a number (a bit in the masks below); any other key's value is skipped. */
const TOTAL = 0, COUNT = 1, CHANNELS = 2;
const NAME = 3, MSGS = 4, BYTES = 5, FIRST_SEQ = 6, LAST_SEQ = 7, SUBS_COUNT = 8, SUBSCRIPTIONS = 9;
const CLIENT_ID = 10, QUEUE_NAME = 11, DURABLE_NAME = 12, IS_DURABLE = 13, IS_OFFLINE = 14, IS_STALLED = 15;
const MAX_INFLIGHT = 16, ACK_WAIT = 17, LAST_SENT = 18, PENDING_COUNT = 19, INBOX = 20;
const UNKNOWN = -1;
const KEYS: ReadonlyArray<readonly [number, string]> = [
  [TOTAL, 'total'], [COUNT, 'count'], [CHANNELS, 'channels'],
  [NAME, 'name'], [MSGS, 'msgs'], [BYTES, 'bytes'], [FIRST_SEQ, 'first_seq'], [LAST_SEQ, 'last_seq'],
  [SUBS_COUNT, 'subs_count'], [SUBSCRIPTIONS, 'subscriptions'],
  [CLIENT_ID, 'client_id'], [QUEUE_NAME, 'queue_name'], [DURABLE_NAME, 'durable_name'], [IS_DURABLE, 'is_durable'],
  [IS_OFFLINE, 'is_offline'], [IS_STALLED, 'is_stalled'], [MAX_INFLIGHT, 'max_inflight'], [ACK_WAIT, 'ack_wait'],
  [LAST_SENT, 'last_sent'], [PENDING_COUNT, 'pending_count'], [INBOX, 'inbox'],
];
/** The known keys by their length in bytes (all ASCII): their bytes, and their numbers at the same places. */
const KEY_BYTES: Uint8Array[][] = [];
const KEY_IDS: number[][] = [];
for (const [id, key] of KEYS) {
  (KEY_BYTES[key.length] ??= []).push(Buffer.from(key));
  (KEY_IDS[key.length] ??= []).push(id);
}

class Reader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** Skips whitespace; returns the next byte, or -1 at the end. */
  peek(): number {
    const buf = this.#buf;
    let pos = this.#pos;
    while (pos < buf.length) {
      const c = buf[pos]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.#pos = pos;
    return pos < buf.length ? buf[pos]! : -1;
  }

  take(byte: number): void {
    if (this.peek() !== byte) throw NOT_SURE;
    this.#pos++;
  }

  /** After `{` or `[`: true when a first member follows, false (and consumed) when it closes at once. */
  opens(open: number, close: number): boolean {
    this.take(open);
    if (this.peek() !== close) return true;
    this.#pos++;
    return false;
  }

  /** After a member: true when `,` follows, false (and consumed) at `close`. */
  more(close: number): boolean {
    const c = this.peek();
    this.#pos++;
    if (c === COMMA) return true;
    if (c === close) return false;
    throw NOT_SURE;
  }

  /** Whether the rest is only whitespace. */
  atEnd(): boolean {
    return this.peek() === -1;
  }

  /** Reads a member's key and its colon; returns the key's number, or UNKNOWN. */
  key(): number {
    this.take(QUOTE);
    const buf = this.#buf;
    const start = this.#pos;
    let end = start;
    while (end < buf.length && buf[end] !== QUOTE) {
      // An escaped key may spell a known one: leave it to the checked parser.
      if (buf[end] === BACKSLASH || buf[end]! < 0x20) throw NOT_SURE;
      end++;
    }
    if (end >= buf.length) throw NOT_SURE;
    this.#pos = end + 1;
    this.take(COLON);
    const candidates = KEY_BYTES[end - start];
    if (candidates === undefined) return UNKNOWN;
    for (let c = 0; c < candidates.length; c++) {
      const bytes = candidates[c]!;
      let i = 0;
      while (i < bytes.length && buf[start + i] === bytes[i]) i++;
      if (i === bytes.length) return KEY_IDS[end - start]![c]!;
    }
    return UNKNOWN;
  }

  /** A string value; plain ASCII ones come from `names` when they were read before. */
  string(names?: NameTable): string {
    if (this.peek() !== QUOTE) throw NOT_SURE;
    const start = this.#pos + 1;
    const flags = this.#skipString();
    const end = this.#pos - 1;
    const buf = this.#buf;
    if (flags === PLAIN) return names ? names.get(buf, start, end) : buf.toString('latin1', start, end);
    if ((flags & ESCAPED) === 0) return buf.toString('utf8', start, end);
    return JSON.parse(buf.toString('utf8', start - 1, end + 1)) as string;
  }

  /**
   * Moves past a string, checking it as JSON.parse would (escapes, no control characters),
   * without making it; returns whether it has escapes or bytes beyond ASCII.
   */
  #skipString(): number {
    if (this.peek() !== QUOTE) throw NOT_SURE;
    const buf = this.#buf;
    let flags = PLAIN;
    let pos = this.#pos + 1;
    for (; pos < buf.length; pos++) {
      const c = buf[pos]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw NOT_SURE;
      if (c >= 0x80) flags |= NON_ASCII;
      else if (c === BACKSLASH) {
        flags |= ESCAPED;
        const escape = buf[++pos];
        if (escape === 0x75) {
          for (let i = 0; i < 4; i++) if (!isHexDigit(buf[++pos])) throw NOT_SURE;
        } else if (escape === undefined || !SIMPLE_ESCAPES.includes(escape)) {
          throw NOT_SURE;
        }
      }
    }
    if (pos >= buf.length) throw NOT_SURE;
    this.#pos = pos + 1;
    return flags;
  }

  number(): number {
    const buf = this.#buf;
    if (this.peek() === -1) throw NOT_SURE;
    const start = this.#pos;
    let pos = start;
    if (buf[pos] === MINUS) pos++;
    const digitsStart = pos;
    let value = 0;
    while (pos < buf.length && buf[pos]! >= ZERO && buf[pos]! <= NINE) value = value * 10 + (buf[pos++]! - ZERO);
    const digits = pos - digitsStart;
    if (digits === 0 || (digits > 1 && buf[digitsStart] === ZERO)) throw NOT_SURE;
    let simple = digits <= EXACT_DIGITS;
    if (buf[pos] === DOT) {
      simple = false;
      pos = this.#digits(pos + 1);
    }
    if (buf[pos] === LOWER_E || buf[pos] === UPPER_E) {
      simple = false;
      pos++;
      if (buf[pos] === PLUS || buf[pos] === MINUS) pos++;
      pos = this.#digits(pos);
    }
    this.#pos = pos;
    if (!simple) {
      const parsed = Number(buf.toString('latin1', start, pos));
      if (!Number.isFinite(parsed)) throw NOT_SURE;
      return parsed;
    }
    return start === digitsStart ? value : -value;
  }

  /** At least one digit from `pos`; returns where they end. */
  #digits(pos: number): number {
    const buf = this.#buf;
    const start = pos;
    while (pos < buf.length && buf[pos]! >= ZERO && buf[pos]! <= NINE) pos++;
    if (pos === start) throw NOT_SURE;
    return pos;
  }

  boolean(): boolean {
    const c = this.peek();
    if (c === 0x74) return this.#literal(TRUE), true;
    if (c === 0x66) return this.#literal(FALSE), false;
    throw NOT_SURE;
  }

  /** Consumes `null` when it comes next. */
  #null(): boolean {
    if (this.peek() !== 0x6e) return false;
    this.#literal(NULL);
    return true;
  }

  #literal(bytes: Buffer): void {
    const buf = this.#buf;
    for (let i = 0; i < bytes.length; i++) if (buf[this.#pos + i] !== bytes[i]) throw NOT_SURE;
    this.#pos += bytes.length;
  }

  /** Skips any JSON value, checking its syntax. */
  skip(depth = 0): void {
    if (depth > MAX_DEPTH) throw NOT_SURE;
    const c = this.peek();
    if (c === QUOTE) {
      this.#skipString();
    } else if (c === OPEN_OBJECT) {
      if (this.opens(OPEN_OBJECT, CLOSE_OBJECT)) {
        do {
          this.key();
          this.skip(depth + 1);
        } while (this.more(CLOSE_OBJECT));
      }
    } else if (c === OPEN_ARRAY) {
      if (this.opens(OPEN_ARRAY, CLOSE_ARRAY)) {
        do this.skip(depth + 1);
        while (this.more(CLOSE_ARRAY));
      }
    } else if (c === 0x74 || c === 0x66) {
      this.boolean();
    } else if (!this.#null()) {
      this.number();
    }
  }
}

/** Names kept at most; past this the table starts again (a server with more is still read right). */
const MAX_NAMES = 100_000;

/**
 * Channel names, client ids and queue names read before, found again by their bytes. They repeat
 * from scrape to scrape (and client ids and queue names from channel to channel), so each scrape
 * reuses the strings of the last instead of making 100,000 new ones at 10,000 channels, and the
 * collector finds them long-lived instead of tracing a new copy every time.
 */
export class NameTable {
  readonly #byHash = new Map<number, string>();
  readonly #queues = new Map<string, { group: string; durable: string }>();

  /** The ASCII text of buf[start, end), as a string read before when there is one. */
  get(buf: Buffer, start: number, end: number): string {
    let hash = end - start;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buf[i]!) | 0;
    const known = this.#byHash.get(hash);
    if (known !== undefined && known.length === end - start) {
      let i = 0;
      while (i < known.length && known.charCodeAt(i) === buf[start + i]) i++;
      if (i === known.length) return known;
    }
    const made = buf.toString('latin1', start, end);
    if (this.#byHash.size >= MAX_NAMES) this.#byHash.clear();
    this.#byHash.set(hash, made);
    return made;
  }

  /** splitQueueName, remembered per queue name. */
  queue(queueName: string, isDurable: boolean): { group: string; durable: string } {
    const table = this.#queues;
    const key = isDurable ? queueName : `\u0000${queueName}`;
    let split = table.get(key);
    if (split === undefined) {
      split = splitQueueName(queueName, isDurable);
      if (table.size >= MAX_NAMES) table.clear();
      table.set(key, split);
    }
    return split;
  }
}

/** Bits of the fields a channel or subscription must have. */
const bits = (...keys: number[]) => keys.reduce((mask, key) => mask | (1 << key), 0);
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
      const key = r.key();
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
      const key = r.key();
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
        const key = r.key();
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
