/**
 * A strict JSON reader over the bytes of a monitoring answer, for the fast readers of pages
 * (stan/channelsz-reader.ts, jetstream/jsz-reader.ts): they walk a page once, take the fields
 * the model uses and skip the rest without making strings or objects of it.
 *
 * Any input the reader is not sure of (a syntax error, a value of another type, an escaped key,
 * a number JSON.parse would make infinite) throws NOT_SURE, and the page's reader gives up:
 * its caller falls back to JSON.parse and the checked parser, which say exactly what is wrong.
 * So it never has to explain an error, and never accepts what JSON.parse would refuse.
 */

/** Thrown inside a reader for any input it leaves to the checked parser. */
export const NOT_SURE = new Error('json-bytes: not sure of this input');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
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
/** What each byte is inside a string: most are plain (0), so one look-up per byte finds the others. */
const IN_STRING_PLAIN = 0;
const IN_STRING_END = 1;
const IN_STRING_BACKSLASH = 2;
const IN_STRING_CONTROL = 3;
const IN_STRING_NON_ASCII = 4;
const IN_STRING = new Uint8Array(256).map((_, c) =>
  c === QUOTE ? IN_STRING_END : c === BACKSLASH ? IN_STRING_BACKSLASH : c < 0x20 ? IN_STRING_CONTROL : c >= 0x80 ? IN_STRING_NON_ASCII : IN_STRING_PLAIN,
);
/** Integers of up to this many digits are summed exactly in a double. */
const EXACT_DIGITS = 15;
/** Deepest nesting skipped in fields the reader does not use. */
const MAX_DEPTH = 64;

/** What Reader.key gives for a key that is not in the table (in a mask of keys seen it sets bit 31, which no table uses). */
const UNKNOWN = -1;
/** What Reader.firstKey and nextKey give at the end of the object. */
export const END = -2;

/**
 * The keys a reader uses in one kind of object, each found by its place in the list; any other
 * key's value is skipped. The places fit in a bit mask of the keys seen (at most 31).
 */
export class KeyTable {
  /** The keys by their length in bytes (all ASCII): their bytes, and their places at the same index. */
  readonly bytes: Uint8Array[][] = [];
  readonly ids: number[][] = [];

  constructor(keys: readonly string[]) {
    if (keys.length > 31) throw new Error('a KeyTable holds at most 31 keys');
    keys.forEach((key, id) => {
      (this.bytes[key.length] ??= []).push(Buffer.from(key, 'latin1'));
      (this.ids[key.length] ??= []).push(id);
    });
  }
}

const MS_PER_DAY = 86_400_000;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

/** Days from 1970-01-01 to the given day of the proleptic Gregorian calendar (Date.UTC maps years 0-99 to 1900-1999, so it is not used). */
function daysFromEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

export class Reader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** Where the reader is: the offset of the next byte it reads. */
  at(): number {
    return this.#pos;
  }

  /** Goes on from `pos`: the end of a value the caller knows without reading it. */
  jump(pos: number): void {
    this.#pos = pos;
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

  /**
   * The first key of an object (as `key` gives it, after taking its `{`), or END when the object
   * is empty. With nextKey, the loop over an object's members:
   * `for (let k = r.firstKey(KEYS); k !== END; k = r.nextKey(KEYS))`, reading or skipping each value.
   */
  firstKey(keys: KeyTable): number {
    return this.opens(OPEN_OBJECT, CLOSE_OBJECT) ? this.key(keys) : END;
  }

  /** After a member's value: the next key, or END (consumed) at the object's `}`. */
  nextKey(keys: KeyTable): number {
    return this.more(CLOSE_OBJECT) ? this.key(keys) : END;
  }

  /** At a list, or null (Go's nil slice): true when a first element follows, false (and consumed) for null or []. */
  opensList(): boolean {
    return !this.null() && this.opens(OPEN_ARRAY, CLOSE_ARRAY);
  }

  /** Whether the rest is only whitespace. */
  atEnd(): boolean {
    return this.peek() === -1;
  }

  /** Reads a member's key and its colon; returns the key's place in `keys`, or UNKNOWN. */
  key(keys: KeyTable): number {
    this.take(QUOTE);
    const buf = this.#buf;
    const start = this.#pos;
    let end = start;
    let kind = IN_STRING_PLAIN;
    while (end < buf.length && ((kind = IN_STRING[buf[end]!]!) === IN_STRING_PLAIN || kind === IN_STRING_NON_ASCII)) end++;
    // An escaped key may spell a known one: leave it to the checked parser. (One beyond ASCII is none the reader knows.)
    if (kind !== IN_STRING_END) throw NOT_SURE;
    this.#pos = end + 1;
    this.take(COLON);
    const candidates = keys.bytes[end - start];
    if (candidates === undefined) return UNKNOWN;
    for (let c = 0; c < candidates.length; c++) {
      const bytes = candidates[c]!;
      let i = 0;
      while (i < bytes.length && buf[start + i] === bytes[i]) i++;
      if (i === bytes.length) return keys.ids[end - start]![c]!;
    }
    return UNKNOWN;
  }

  /** A string value; plain ASCII ones come from `names` when they were read before. */
  string(names?: StringTable): string {
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
      const kind = IN_STRING[buf[pos]!];
      if (kind === IN_STRING_PLAIN) continue;
      if (kind === IN_STRING_END) break;
      if (kind === IN_STRING_CONTROL) throw NOT_SURE;
      if (kind === IN_STRING_NON_ASCII) flags |= NON_ASCII;
      else {
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

  /**
   * An RFC 3339 time string (Go's time.Time, nanoseconds and all) as Unix milliseconds, the
   * value Date.parse gives it. Only the form Go writes is read: YYYY-MM-DDTHH:MM:SS, an optional
   * fraction of 1 to 9 digits, then Z or an offset ±HH:MM; any other (which Date.parse may still
   * read, or roll over, as it does a 30th of February) throws NOT_SURE.
   */
  time(): number {
    if (this.peek() !== QUOTE) throw NOT_SURE;
    const buf = this.#buf;
    let pos = this.#pos + 1;
    const digits = (count: number): number => {
      let value = 0;
      for (let i = 0; i < count; i++) {
        const c = buf[pos++];
        if (c === undefined || c < ZERO || c > NINE) throw NOT_SURE;
        value = value * 10 + (c - ZERO);
      }
      return value;
    };
    const expect = (byte: number) => {
      if (buf[pos++] !== byte) throw NOT_SURE;
    };
    const year = digits(4);
    expect(MINUS);
    const month = digits(2);
    expect(MINUS);
    const day = digits(2);
    expect(0x54);
    const hour = digits(2);
    expect(COLON);
    const minute = digits(2);
    expect(COLON);
    const second = digits(2);
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) throw NOT_SURE;
    if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!)) throw NOT_SURE;
    let ms = 0;
    if (buf[pos] === DOT) {
      pos++;
      // Date.parse keeps the first three digits (milliseconds) and drops the rest.
      let count = 0;
      for (let c = buf[pos]; c !== undefined && c >= ZERO && c <= NINE; c = buf[++pos]) {
        if (count < 3) ms = ms * 10 + (c - ZERO);
        count++;
      }
      if (count === 0 || count > 9) throw NOT_SURE;
      for (let i = count; i < 3; i++) ms *= 10;
    }
    let offsetMinutes = 0;
    const zone = buf[pos++];
    if (zone === PLUS || zone === MINUS) {
      const offsetHours = digits(2);
      expect(COLON);
      const minutes = digits(2);
      if (offsetHours > 23 || minutes > 59) throw NOT_SURE;
      offsetMinutes = (zone === PLUS ? 1 : -1) * (offsetHours * 60 + minutes);
    } else if (zone !== 0x5a) {
      throw NOT_SURE;
    }
    expect(QUOTE);
    this.#pos = pos;
    return daysFromEpoch(year, month, day) * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + ms;
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
    if (c === 0x74) return (this.#literal(TRUE), true);
    if (c === 0x66) return (this.#literal(FALSE), false);
    throw NOT_SURE;
  }

  /** Consumes `null` when it comes next. */
  null(): boolean {
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
          this.#skipKey();
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
    } else if (!this.null()) {
      this.number();
    }
  }

  /** Moves past a key of a skipped object and its colon. */
  #skipKey(): void {
    this.#skipString();
    this.take(COLON);
  }
}

/** Strings kept at most; past this the table starts again (a server with more is still read right). */
const MAX_STRINGS = 100_000;

/**
 * Strings read before, found again by their bytes. Names repeat from scrape to scrape (and
 * within a page), so each scrape reuses the strings of the last instead of making a new one for
 * every occurrence, and the collector finds them long-lived instead of tracing a new copy every time.
 */
export class StringTable {
  readonly #byHash = new Map<number, string>();

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
    if (this.#byHash.size >= MAX_STRINGS) this.#byHash.clear();
    this.#byHash.set(hash, made);
    return made;
  }
}
