import type { ConsumerKey } from '../model/types.js';
import { DEFAULT_ACCOUNT } from '../sources/jetstream/queues.js';
import { patternProblem } from '../subjects.js';
import type { Backend } from '../targets.js';

/** One subscription's client-side figures, as a worker reports them. */
export interface SubscriptionReport extends ConsumerKey {
  messages: number;
  bytes: number;
  dropped?: number;
  maxInflight?: number;
}

/** A validated POST /v1/pending body: it replaces everything `clientId` reported before. */
export interface ProbeReport {
  clientId: string;
  subscriptions: SubscriptionReport[];
}

/** A report that is not what /v1/pending accepts; the message names the field and the fix. */
export class InvalidReportError extends Error {
  override name = 'InvalidReportError';
  constructor(
    readonly reason: 'invalid' | 'unknown_server',
    message: string,
  ) {
    super(message);
  }
}

/** Longest label value accepted; longer ones are a mistake or an attack, not a subject. */
const MAX_VALUE_LENGTH = 1024;

const REPORT_FIELDS = ['client_id', 'subscriptions'];
const SUBSCRIPTION_FIELDS = ['server', 'subject', 'group', 'durable', 'msgs', 'bytes', 'dropped', 'max_inflight', 'account'];

// C0 and C1 control characters and DEL, then UTF-16 halves without their partner (JSON's \ud800 escapes).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type Json = Record<string, unknown>;

function invalid(message: string): InvalidReportError {
  return new InvalidReportError('invalid', message);
}

function objectAt(value: unknown, where: string, fields: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where} must be a JSON object with ${fields.join(', ')}`);
  }
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) throw invalid(`${where} has the unknown field "${printable(key)}": the fields are ${fields.join(', ')}`);
  }
  return value as Json;
}

function fieldAt(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

function text(o: Json, key: string, where: string, opts: { empty: boolean }): string {
  const v = o[key];
  const at = fieldAt(where, key);
  if (typeof v !== 'string') throw invalid(`${at} is ${v === undefined ? 'missing' : describe(v)}: write a string${opts.empty ? ' ("" for none)' : ''}`);
  if (!opts.empty && v === '') throw invalid(`${at} is empty: write a non-empty string`);
  if (v.length > MAX_VALUE_LENGTH) throw invalid(`${at} is ${v.length} characters long: at most ${MAX_VALUE_LENGTH} are accepted`);
  if (CONTROL.test(v)) throw invalid(`${at} "${printable(v)}" holds a control character: label values must be printable text`);
  if (LONE_SURROGATE.test(v)) throw invalid(`${at} holds an unpaired UTF-16 surrogate (\\ud800-\\udfff escape): send valid UTF-8 text`);
  return v;
}

function count(o: Json, key: string, where: string, optional: boolean): number | undefined {
  const v = o[key];
  const at = fieldAt(where, key);
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalid(`${at} is ${v === undefined ? 'missing' : describe(v)}: write a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string "${printable(v.slice(0, 40))}"`;
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Shows control characters as escapes, so an error message stays one readable line. */
function printable(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

/**
 * The entry's JetStream account as the queue series label it: undefined when absent, "" or the
 * default account (whose queues carry no account label). NATS Streaming has no accounts.
 */
function accountAt(o: Json, where: string, server: string, backend: Backend): string | undefined {
  if (o['account'] === undefined) return undefined;
  const account = text(o, 'account', where, { empty: true });
  if (account === '' || account === DEFAULT_ACCOUNT) return undefined;
  if (backend === 'stan') {
    throw invalid(
      `${where}.account "${printable(account)}" is given for "${printable(server)}", a NATS Streaming server (--server), which has no accounts: leave account out, or name the --jetstream NAME of the JetStream server`,
    );
  }
  return account;
}

function subscriptionAt(value: unknown, where: string, servers: ReadonlyMap<string, Backend>): SubscriptionReport {
  const o = objectAt(value, where, SUBSCRIPTION_FIELDS);
  const server = text(o, 'server', where, { empty: false });
  const backend = servers.get(server);
  if (backend === undefined) {
    throw new InvalidReportError(
      'unknown_server',
      `${where}.server "${printable(server)}" is not a server of this exporter: use one of ${[...servers.keys()].map((s) => `"${s}"`).join(', ')} (the NAME in --server or --jetstream NAME=URL)`,
    );
  }
  const account = accountAt(o, where, server, backend);
  const subject = text(o, 'subject', where, { empty: false });
  const problem = patternProblem(subject) ?? (subject.split('.').some((t) => t === '*' || t === '>') ? 'is a wildcard pattern' : undefined);
  if (problem !== undefined)
    throw invalid(`${where}.subject "${printable(subject)}" ${problem}: write the channel the subscription reads, e.g. orders.created`);
  const durable = text(o, 'durable', where, { empty: true });
  if (durable.includes(':'))
    throw invalid(`${where}.durable "${printable(durable)}" contains ":": write the durable name alone and the queue group in "group"`);
  const report: SubscriptionReport = {
    server,
    ...(account === undefined ? {} : { account }),
    subject,
    group: text(o, 'group', where, { empty: true }),
    durable,
    messages: count(o, 'msgs', where, false)!,
    bytes: count(o, 'bytes', where, false)!,
  };
  const dropped = count(o, 'dropped', where, true);
  const maxInflight = count(o, 'max_inflight', where, true);
  if (dropped !== undefined) report.dropped = dropped;
  if (maxInflight !== undefined) report.maxInflight = maxInflight;
  return report;
}

/**
 * Checks a parsed POST /v1/pending body against the schema, strictly: unknown fields, wrong
 * types, negative or fractional counts, servers this exporter does not scrape (`servers`: NAME
 * to backend), an account on a NATS Streaming server and label values with control characters
 * are refused.
 */
export function parseProbeReport(body: unknown, servers: ReadonlyMap<string, Backend>): ProbeReport {
  const o = objectAt(body, 'the report', REPORT_FIELDS);
  const clientId = text(o, 'client_id', '', { empty: false });
  const list = o['subscriptions'];
  if (!Array.isArray(list)) {
    throw invalid(
      `subscriptions is ${list === undefined ? 'missing' : describe(list)}: write a list of {server, subject, group, durable, msgs, bytes} ([] when the client has none)`,
    );
  }
  return { clientId, subscriptions: list.map((s, i) => subscriptionAt(s, `subscriptions[${i}]`, servers)) };
}
