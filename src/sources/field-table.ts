import { KeyTable, NOT_SURE } from './json-bytes.js';
import { ScrapeError } from './scrape-error.js';

/**
 * What one field of a monitoring answer holds:
 * - `uint`: a count, sequence or size in bytes: a whole number, 0 or more (a negative one is a
 *   malformed answer, never a figure);
 * - `number`: any finite number (limits where -1 means none, durations);
 * - `time`: an RFC 3339 time (Go's time.Time), read as Unix milliseconds;
 * - `object`: an object whose fields the table `of` describes;
 * - `list`: a list of objects the table `of` describes, `strings` a list of strings; for both,
 *   missing or null is the empty list (Go's omitempty and nil slices), so they are never required.
 */
export type FieldType = 'string' | 'boolean' | 'uint' | 'number' | 'time' | 'object' | 'list' | 'strings';

export interface FieldSpec {
  readonly type: FieldType;
  /** May be missing (Go's omitempty): then undefined. Lists are always optional. */
  readonly optional?: boolean;
  /** The fields of an `object`, or of each element of a `list`. */
  readonly of?: FieldTable<Fields>;
  /** What to do when a required field is missing, added to the error. */
  readonly whenMissing?: string;
}

export type Fields = Readonly<Record<string, FieldSpec>>;

type ValueOf<F extends FieldSpec> = F['type'] extends 'string'
  ? string
  : F['type'] extends 'boolean'
    ? boolean
    : F['type'] extends 'object'
      ? F['of'] extends FieldTable<infer S>
        ? Checked<S>
        : never
      : F['type'] extends 'list'
        ? unknown[]
        : F['type'] extends 'strings'
          ? string[]
          : number;

/** The fields of an object after FieldTable.check: optional ones undefined when missing. */
export type Checked<S extends Fields> = {
  -readonly [K in keyof S]: S[K] extends { optional: true } ? ValueOf<S[K]> | undefined : ValueOf<S[K]>;
};

type Json = Record<string, unknown>;

/** A monitoring answer in a shape the exporter does not take: `where` says where in the answer. */
const invalid = (where: string, message: string): ScrapeError => new ScrapeError('invalid_response', `${where}: ${message}`);

/** A whole number, 0 or more (of a finite one: JSON has no other). */
const isCount = (value: number): boolean => value >= 0 && Math.floor(value) === value;

/**
 * For the byte reader: `value`, read at a `uint` field, or NOT_SURE when it is no count (then the
 * checked parser names it). Small, so that the readers' loops inline it. Which fields a reader
 * reads with it is tested against the tables (test/unit/field-tables.test.ts).
 */
export function uint(value: number): number {
  if (!isCount(value)) throw NOT_SURE;
  return value;
}

/**
 * The fields the exporter uses in one kind of object of a monitoring page (a channel, a
 * subscription, a stream, a consumer...), in one place: the byte reader takes its key look-up,
 * each key's place and the fields an object must have from it, and the checked parser checks
 * every field by it. A field is added here, then read by both.
 */
export class FieldTable<const S extends Fields> {
  /** For the byte reader's key look-up: each key's place is its place in the table. */
  readonly keys: KeyTable;
  /** Each field's place, as Reader.key gives it. */
  readonly id: { readonly [K in keyof S]: number };
  /** Bits of the places of the fields an object must have. */
  readonly required: number;
  readonly fields: S;

  constructor(fields: S) {
    const names = Object.keys(fields);
    this.fields = fields;
    this.keys = new KeyTable(names);
    this.id = Object.freeze(Object.fromEntries(names.map((name, id) => [name, id]))) as { readonly [K in keyof S]: number };
    const bitsOf = (want: (spec: FieldSpec) => boolean) => names.reduce((mask, name, id) => (want(fields[name]!) ? mask | (1 << id) : mask), 0);
    this.required = bitsOf((spec) => !spec.optional && spec.type !== 'list' && spec.type !== 'strings');
  }

  /** The bit of a field's place, for a mask of fields seen or left out. */
  bit(key: keyof S & string): number {
    return 1 << this.id[key];
  }

  /**
   * For the checked parser: every field of the object `value` checked by the table, objects with
   * their own tables. An error names `where`, the field and what is wrong with it. Fields whose
   * bits are in `unread` are neither checked nor given.
   */
  check(value: unknown, where: string, unread = 0): Checked<S> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(where, 'expected a JSON object');
    const o = value as Json;
    const out: Json = {};
    let id = 0;
    for (const [key, spec] of Object.entries(this.fields)) {
      if ((unread & (1 << id++)) === 0) out[key] = checkField(o[key], key, spec, where);
    }
    return out as Checked<S>;
  }

  /** The one field `key` of the object `value`, checked: a name that goes into the `where` of the others. */
  field<K extends keyof S & string>(value: unknown, where: string, key: K): Checked<S>[K] {
    return this.check(value, where, ~this.bit(key))[key];
  }
}

function checkField(v: unknown, key: string, spec: FieldSpec, where: string): unknown {
  const fault = (what: string) => invalid(where, `field "${key}" is ${what}`);
  if (spec.type === 'list' || spec.type === 'strings') {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw fault('not a list');
    if (spec.type === 'strings') {
      v.forEach((s, i) => {
        if (typeof s !== 'string') throw invalid(where, `field "${key}" [${i}] is not a string`);
      });
    }
    return v;
  }
  if (v === undefined) {
    if (spec.optional) return undefined;
    throw fault(spec.whenMissing === undefined ? 'missing' : `missing: ${spec.whenMissing}`);
  }
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string') throw fault('not a string');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw fault('not a boolean');
      return v;
    case 'time': {
      if (typeof v !== 'string') throw fault('not a string');
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw fault('not a timestamp');
      return ms;
    }
    case 'object':
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fault('not an object');
      return spec.of!.check(v, `${where} ${key}`);
    default:
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fault('not a number');
      if (spec.type === 'uint' && !isCount(v)) throw fault(`${v}, not a count (a whole number, 0 or more): the server sent an impossible figure`);
      return v;
  }
}
