/**
 * Where one record (a channel of a channelsz page, a stream of a /jsz page) lies in a page, found
 * by the layout the servers write: Go's json.MarshalIndent with two spaces, where a record opens
 * with `{` and closes with `}` at its depth's indentation and its name is its first field, and a
 * newline byte never occurs inside a JSON string. Used to keep records from one scrape to the
 * next (stan/channel-records.ts, jetstream/stream-records.ts); a page laid out otherwise yields
 * no place, and every record of it is read.
 */

export interface RecordLayout {
  /** A newline and the record's indentation: what precedes its `{`. */
  indent: Buffer;
  /** `{`, a newline, the fields' indentation and `"name": "`. */
  opens: Buffer;
  /** A newline, the record's indentation and `}`. */
  closes: Buffer;
}

/** The layout of records whose `{` is at `spaces` spaces. */
export function recordLayout(spaces: number): RecordLayout {
  const indent = ' '.repeat(spaces);
  return {
    indent: Buffer.from(`\n${indent}`),
    opens: Buffer.from(`{\n${indent}  "name": "`),
    closes: Buffer.from(`\n${indent}}`),
  };
}

/** Where a record lies in its page, and its raw name (escapes and all). */
export interface RecordPlace {
  start: number;
  end: number;
  key: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Where a record's name ends (its closing quote), and the name: the part of a record found before its end. */
export interface RecordName {
  nameEnd: number;
  key: string;
}

/** Whether the `{` at `start` has the record's indentation before it. */
export function indentedAt(page: Buffer, start: number, layout: RecordLayout): boolean {
  const { indent } = layout;
  return start >= indent.length && page.compare(indent, 0, indent.length, start - indent.length, start) === 0;
}

/** The name of the record that starts at `start` (its `{`), or undefined when the page is not laid out as expected there. */
export function recordName(page: Buffer, start: number, layout: RecordLayout): RecordName | undefined {
  const { opens } = layout;
  if (!indentedAt(page, start, layout)) return undefined;
  const nameStart = start + opens.length;
  if (page.compare(opens, 0, opens.length, start, nameStart) !== 0) return undefined;
  const nameEnd = page.indexOf(QUOTE, nameStart);
  if (nameEnd < 0) return undefined;
  for (let i = nameStart; i < nameEnd; i++) if (page[i] === BACKSLASH) return undefined;
  return { nameEnd, key: page.toString('latin1', nameStart, nameEnd) };
}

const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;

/**
 * Where the record whose name ends at `nameEnd` ends: just after the first closing `}` at its
 * indentation (a scan of the whole record), or -1 when there is none. Each `}` is found by a
 * search for that one byte, and the first whose line holds only it at the record's indentation is
 * the end: a search for the whole of `closes`, which starts with a newline and spaces like every
 * line of an indented page, took a sixth of a JetStream scrape's CPU.
 */
export function recordEnd(page: Buffer, nameEnd: number, layout: RecordLayout): number {
  const { closes } = layout;
  const brace = closes.length - 1;
  for (let at = page.indexOf(CLOSE_BRACE, nameEnd + brace); at >= 0; at = page.indexOf(CLOSE_BRACE, at + 1)) {
    // The newline before it first: a `}` nested deeper has a space there.
    if (page[at - brace] === NEWLINE && page.compare(closes, 0, brace, at - brace, at) === 0) return at + 1;
  }
  return -1;
}

/**
 * Where the record at `start` ends when its bytes are those of `record`, a record located in an
 * earlier page (so ending at its first closing `}`); -1 otherwise. The same bytes end at the same
 * place, so this needs no scan for the end: one comparison.
 */
export function sameRecordAt(page: Buffer, start: number, record: Buffer): number {
  const end = start + record.length;
  return end <= page.length && page.compare(record, 0, record.length, start, end) === 0 ? end : -1;
}

/** The record that starts at `start` (its `{`), or undefined when the page is not laid out as expected there. */
export function locateRecord(page: Buffer, start: number, layout: RecordLayout): RecordPlace | undefined {
  const name = recordName(page, start, layout);
  if (name === undefined) return undefined;
  const end = recordEnd(page, name.nameEnd, layout);
  return end < 0 ? undefined : { start, end, key: name.key };
}
