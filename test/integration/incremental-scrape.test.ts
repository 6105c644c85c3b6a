/**
 * Nothing served from a stale scrape cache (issue 22): an exporter that has scraped a server many
 * times (A, its caches warm) must answer, right after one change on the server, exactly what a
 * fresh exporter (B, nothing cached) answers; between A's answers before and after the change only
 * that channel's (stream's) series may differ, each figure that should move must have moved, and
 * the gzipped answer must be the plain one. Real servers, real clients, black box: nothing here
 * knows how a cache works.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { JsMsg } from '@nats-io/jetstream';
import { AckPolicy, StorageType } from '@nats-io/jetstream';
import type stan from 'node-nats-streaming';
import { FLAGS } from '../../src/config.js';
import type { RunningExporter } from '../../src/exporter.js';
import { jszPath } from '../../src/sources/jetstream/read-accounts.js';
import { startTestExporter, unescapeLabelValue } from '../../harness/exporter.js';
import { connectJs, type JsClient } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { closeStan, connectStan, publish, ready, type Stan } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

/**
 * The flags of every exporter here, so that its answer has the per-subscription series. They
 * leave the default /metrics for --detailed-metrics (issue 22); before that flag exists, the
 * default has them. The lead switches this one constant if the flag is named otherwise.
 */
const EXPORTER_FLAGS: readonly string[] = ['--probe-listen', 'off', ...(FLAGS.some((f) => f.flag === 'detailed-metrics') ? ['--detailed-metrics'] : [])];

/** Prometheus' own request headers: OpenMetrics preferred, gzip accepted. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TEXT_ACCEPT = 'text/plain;version=0.0.4';

/** The exporter's own series (process, Node and nats_queue_exporter_*): not the server's, and some move with every request. */
const OWN_SERIES = /^(process_|nodejs_|nats_queue_exporter_)/;
/**
 * Server-side series that differ between two exporters with nothing changed: the server's open
 * file descriptors count each exporter's keep-alive connections to the monitoring port.
 */
const CONNECTION_SERIES = /^stan_server_open_fds$/;
/** Ages move with time alone: A and B are compared on presence and within bounds, never exactly. */
const AGE_SECONDS = /^queue_oldest_\w+_age_seconds$/;
/** Whether an age is exact, estimated or only a lower bound depends on what the exporter has seen before. */
const AGE_KIND = /^queue_oldest_\w+_age_lower_bound$/;
/** Seconds of slack when an age is compared with the clock or with another exporter's. */
const AGE_SLACK_S = 2;

/** One sample; its labels are read from `head` when a comparison needs them. */
class Sample {
  #labels: Record<string, string> | undefined;
  constructor(
    readonly name: string,
    readonly head: string,
    readonly value: number,
  ) {}

  get labels(): Record<string, string> {
    if (this.#labels) return this.#labels;
    const labels: Record<string, string> = {};
    const brace = this.head.indexOf('{');
    if (brace >= 0) for (const m of this.head.slice(brace + 1, -1).matchAll(LABEL)) labels[m[1]!] = unescapeLabelValue(m[2]!);
    this.#labels = labels;
    return labels;
  }
}

/** Server-side samples of one answer by name and labels as written (a family writes its labels in one order). */
type Exposition = Map<string, Sample>;

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function readExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const head = line.slice(0, space);
    const brace = head.indexOf('{');
    const name = brace < 0 ? head : head.slice(0, brace);
    if (OWN_SERIES.test(name) || CONNECTION_SERIES.test(name)) continue;
    assert.ok(!out.has(head), `series ${head} appears twice in one answer`);
    const value = Number(line.slice(space + 1));
    assert.ok(!Number.isNaN(value), `unparseable sample: ${line}`);
    out.set(head, new Sample(name, head, value));
  }
  return out;
}

interface Answer {
  encoding: string | undefined;
  text: string;
}

/** GETs /metrics without letting the client decompress; the body decoded by hand when gzipped. */
function rawGet(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
        const encoding = res.headers['content-encoding'];
        const body = Buffer.concat(chunks);
        resolve({ encoding, text: (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8') });
      });
    }).once('error', reject);
  });
}

/** The lines of an answer but the Node process's own families, which prom-client renders anew for each request. */
function withoutProcessFamilies(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^(# (HELP|TYPE|UNIT) )?(process_|nodejs_)/.test(l))
    .join('\n');
}

function durationLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.startsWith('nats_queue_exporter_scrape_duration_seconds{'))
    .join('\n');
}

/**
 * One scrape as Prometheus makes it (OpenMetrics, gzip), with two more requests sent at the same
 * moment so that they share its collection: OpenMetrics without gzip, whose body must be the
 * decoded gzip body byte for byte, and the text format (gzipped), whose samples must be the same.
 * Returns the Prometheus answer's samples and when it was asked.
 */
async function scrapeAsPrometheus(exporter: RunningExporter): Promise<{ at: number; series: Exposition }> {
  const url = `${exporter.url}/metrics`;
  let first: { at: number; series: Exposition } | undefined;
  for (let attempt = 1; ; attempt++) {
    const at = Date.now();
    const [zipped, plain, text] = await Promise.all([
      rawGet(url, { accept: PROMETHEUS_ACCEPT, 'accept-encoding': 'gzip' }),
      rawGet(url, { accept: PROMETHEUS_ACCEPT }),
      rawGet(url, { accept: TEXT_ACCEPT, 'accept-encoding': 'gzip' }),
    ]);
    assert.equal(zipped.encoding, 'gzip', 'a large answer to Prometheus is gzipped');
    assert.equal(plain.encoding, undefined);
    assert.match(zipped.text, /\n# EOF\n$/);
    // The first answer after a change is the one that counts: a further attempt only repeats the
    // comparisons, which need the requests to have shared one collection.
    const series = readExposition(zipped.text);
    first ??= { at, series };
    if (durationLines(zipped.text) !== durationLines(plain.text) || durationLines(zipped.text) !== durationLines(text.text)) {
      if (attempt < 4) continue;
      assert.fail('three concurrent requests never shared one collection');
    }
    assert.ok(withoutProcessFamilies(zipped.text) === withoutProcessFamilies(plain.text), 'the decoded gzip body is the plain one, byte for byte');
    assert.equal(text.encoding, 'gzip');
    assertSameSeries(readExposition(text.text), series, 'the text format and OpenMetrics of one collection');
    return first;
  }
}

function assertSameSeries(actual: Exposition, expected: Exposition, what: string): void {
  const problems: string[] = [];
  for (const [key, s] of expected) {
    const a = actual.get(key);
    if (!a) problems.push(`missing ${key}`);
    else if (a.value !== s.value) problems.push(`${key} is ${a.value}, expected ${s.value}`);
  }
  for (const key of actual.keys()) if (!expected.has(key)) problems.push(`extra ${key}`);
  assert.deepEqual(problems.slice(0, 30), [], `${what}: ${problems.length} differences`);
}

/**
 * A (warm, scraping since aSince) against B (cold) at about the same moment: the same series;
 * the same values but ages, which B, knowing less of the past, may place later (a lower bound),
 * never earlier, and whether an age is a lower bound.
 */
function assertWarmEqualsCold(a: Exposition, b: Exposition, aSince: number): void {
  const problems: string[] = [];
  const aLifeS = (Date.now() - aSince) / 1000;
  for (const [key, s] of b) {
    const w = a.get(key);
    if (!w) problems.push(`A lacks ${key} (B: ${s.value})`);
    else if (AGE_SECONDS.test(s.name)) {
      if (w.value < s.value - AGE_SLACK_S || w.value > s.value + aLifeS + AGE_SLACK_S) problems.push(`age ${key}: A ${w.value}, B ${s.value}`);
    } else if (!AGE_KIND.test(s.name) && w.value !== s.value) problems.push(`${key}: A ${w.value}, B ${s.value}`);
  }
  for (const key of a.keys()) if (!b.has(key)) problems.push(`A has ${key}, B does not`);
  assert.deepEqual(problems.slice(0, 30), [], `warm A against cold B: ${problems.length} differences`);
}

/** How a series of the changed channel moves from before to after. */
type Move = { delta: number } | 'added' | 'removed' | 'moved';

interface Expected {
  name: string | RegExp;
  /** Labels the series must have besides server and subject. */
  labels?: Record<string, string>;
  move: Move;
}

interface Change {
  key: string;
  before: Sample | undefined;
  after: Sample | undefined;
}

/**
 * A's answers before and after a change of `subject` only: every series of another channel keeps
 * its value (its ages grow with the clock), server-wide series may move, and the series of
 * `subject` that differ are exactly those `expected` names, each moved as it says.
 */
function assertOnlyChannelMoved(
  before: { at: number; series: Exposition },
  after: { at: number; series: Exposition },
  server: string,
  subject: string,
  expected: readonly Expected[],
): void {
  const elapsedS = (after.at - before.at) / 1000;
  const problems: string[] = [];
  const changes: Change[] = [];
  /** How much each age of another channel grew: all by the same, the time between the two collections. */
  const growths: Array<[string, number]> = [];
  for (const key of new Set([...before.series.keys(), ...after.series.keys()])) {
    const b = before.series.get(key);
    const a = after.series.get(key);
    const s = (a ?? b)!;
    // Read from the text as written, so that 75,000 samples need not have their labels parsed.
    const own = s.head.includes(`,subject="${subject}"`);
    if (a && b && AGE_SECONDS.test(s.name)) {
      if (own) continue;
      // The age of a message that waits grows with the clock; with nothing waiting it is 0.
      const count = after.series.get(s.head.replace(/^queue_oldest_(\w+)_age_seconds/, 'queue_msgs_$1'));
      if (!count) problems.push(`age ${key} without its count of messages`);
      else if (count.value > 0) growths.push([key, a.value - b.value]);
      else if (a.value !== 0 || b.value !== 0) problems.push(`age ${key}: ${b.value} -> ${a.value} with nothing waiting`);
      continue;
    }
    if (a && b && (a.value === b.value || (own && AGE_KIND.test(s.name)))) continue;
    assert.equal(own, s.labels['subject'] === subject, `the subject of ${key}`);
    if (s.labels['subject'] === undefined) {
      if (!/^(stan|jetstream)_server_/.test(s.name)) problems.push(`server-wide ${key}: ${b?.value} -> ${a?.value}`);
      continue;
    }
    if (!own) problems.push(`another channel's ${key}: ${b?.value} -> ${a?.value}`);
    else changes.push({ key, before: b, after: a });
  }
  const [, grew] = growths[0] ?? ['', elapsedS];
  if (!(grew > 0) || Math.abs(grew - elapsedS) > AGE_SLACK_S) problems.push(`ages grew by ${grew} s in ${elapsedS} s (${growths[0]?.[0]})`);
  for (const [key, g] of growths) if (Math.abs(g - grew) > 0.005) problems.push(`age ${key} grew by ${g} s, others by ${grew} s`);
  const matches = (e: Expected, c: Change): boolean => {
    const s = (c.after ?? c.before)!;
    const nameOk = typeof e.name === 'string' ? s.name === e.name : e.name.test(s.name);
    return nameOk && s.labels['server'] === server && Object.entries(e.labels ?? {}).every(([k, v]) => s.labels[k] === v);
  };
  for (const c of changes) if (!expected.some((e) => matches(e, c))) problems.push(`unexpected move of ${c.key}: ${c.before?.value} -> ${c.after?.value}`);
  for (const e of expected) {
    const label = `${String(e.name)} ${JSON.stringify(e.labels ?? {})}`;
    const moved = changes.filter((c) => matches(e, c));
    if (moved.length === 0) problems.push(`${label} did not move (${JSON.stringify(e.move)})`);
    for (const c of moved) {
      const m = e.move;
      const ok =
        m === 'added'
          ? !c.before && c.after
          : m === 'removed'
            ? c.before && !c.after
            : m === 'moved'
              ? c.before && c.after
              : c.before && c.after && c.after.value - c.before.value === m.delta;
      if (!ok) problems.push(`${c.key} ${c.before?.value} -> ${c.after?.value}, expected ${JSON.stringify(m)}`);
    }
  }
  assert.deepEqual(problems.slice(0, 30), [], `A before and after a change of ${subject}: ${problems.length} problems`);
}

/** Runs `task` over `items` with at most `window` unsettled at once. */
async function pipelined<T>(items: readonly T[], window: number, task: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
}

async function poll(what: string, check: () => Promise<true | string>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    const answer = await check();
    if (answer === true) return;
    last = answer;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} within ${ms} ms: ${last}`);
}

// ---------------------------------------------------------------------------------------------
// NATS Streaming

const STAN_CHANNELS = 1000;
const STAN_BACKLOG = 10;
/** In-flight window of each holder: they never ack (unless a test says so), so they stay stalled. */
const HOLDER_MAX_INFLIGHT = 3;
const HOUR_MS = 3_600_000;
const WINDOW = 256;

const channel = (i: number) => `inc.${String(i).padStart(4, '0')}`;
/** The channel each change is made on: a different one each, spread over the list. */
const ON = {
  publish: channel(101),
  ack: channel(202),
  subscribe: channel(303),
  unsubscribe: channel(404),
  offline: channel(505),
  /** Sorts between inc.0499 and inc.0500: every channel after it moves one place down the list (and across pages). */
  created: `${channel(499)}.new`,
  /** With extra queue groups and offline durables, whose order in the server's answer changes from one request to the next. */
  shuffled: channel(707),
};
const SHUFFLED_GROUPS = ['qa', 'qb', 'qc', 'qd'];
const SHUFFLED_OFFLINE = ['o1', 'o2', 'o3'];

interface SubRecord {
  client_id: string;
  queue_name?: string;
  durable_name?: string;
  is_offline: boolean;
  is_stalled: boolean;
  max_inflight: number;
  last_sent: number;
  pending_count: number;
}

interface ChannelRecord {
  name: string;
  last_seq: number;
  subscriptions?: SubRecord[];
}

describe('NATS Streaming: a warm exporter after one change answers as a cold one', { timeout: 120_000 }, () => {
  let server: StanServer;
  const clients = new Map<string, Stan>();
  /** Messages each holder got and has not acked, by client and channel. */
  const held = new Map<string, stan.Message[]>();
  const subs = new Map<string, stan.Subscription>();
  let a: RunningExporter;
  let aSince = 0;
  let last: { at: number; series: Exposition };

  const client = (id: string) => clients.get(id)!;

  async function record(name: string): Promise<ChannelRecord> {
    const res = await fetch(`${server.monitorUrl}/streaming/channelsz?subs=1&channel=${encodeURIComponent(name)}`);
    assert.equal(res.status, 200, `channelsz of ${name}`);
    return (await res.json()) as ChannelRecord;
  }

  /** Every online subscription of the channel is caught up and acked, or holds its full window. */
  function quiet(c: ChannelRecord): true | string {
    for (const s of c.subscriptions ?? []) {
      if (s.is_offline || s.is_stalled) continue;
      const group = s.queue_name !== undefined && s.queue_name !== '';
      if (s.pending_count !== 0 || (!group && s.last_sent !== c.last_seq))
        return `${c.name}: ${s.client_id} ${s.queue_name ?? s.durable_name ?? ''} last_sent ${s.last_sent} of ${c.last_seq}, pending ${s.pending_count}`;
    }
    const groups = new Map<string, number>();
    for (const s of c.subscriptions ?? []) {
      if (s.queue_name && !s.is_offline) groups.set(s.queue_name, Math.max(groups.get(s.queue_name) ?? 0, s.last_sent));
    }
    for (const [g, sent] of groups) {
      const members = (c.subscriptions ?? []).filter((s) => s.queue_name === g && !s.is_offline);
      if (sent !== c.last_seq && !members.every((s) => s.is_stalled)) return `${c.name}: group ${g} at ${sent} of ${c.last_seq} with room`;
    }
    return true;
  }

  /** Waits until the channel is quiet, `also` holds, and two reads in a row agree. */
  async function settle(name: string, also: (c: ChannelRecord) => true | string = () => true): Promise<void> {
    let previous = '';
    await poll(`${name} settles`, async () => {
      const c = await record(name);
      const why = quiet(c);
      if (why !== true) return why;
      const extra = also(c);
      if (extra !== true) return extra;
      const now = JSON.stringify((c.subscriptions ?? []).map((s) => JSON.stringify(s)).sort());
      const same = now === previous;
      previous = now;
      return same || 'read once more';
    });
  }

  async function subscribe(
    clientId: string,
    subject: string,
    group: string | undefined,
    opts: stan.SubscriptionOptions,
    key?: string,
  ): Promise<stan.Subscription> {
    const sc = client(clientId);
    const sub = group === undefined ? sc.subscribe(subject, opts) : sc.subscribe(subject, group, opts);
    await ready(sub);
    if (key) subs.set(key, sub);
    return sub;
  }

  const holderOptions = (sc: Stan, maxInflight = HOLDER_MAX_INFLIGHT) =>
    sc.subscriptionOptions().setDurableName('keep').setManualAckMode(true).setMaxInFlight(maxInflight).setAckWait(HOUR_MS).setDeliverAllAvailable();

  before(async () => {
    server = await startStan({ clusterId: 'incremental', args: ['-msu', '0'] });
    for (const id of ['inc-holders-a', 'inc-holders-b', 'inc-watchers', 'inc-leavers', 'inc-publisher']) {
      clients.set(id, await connectStan(server.natsUrl, server.clusterId, id));
    }
    const names = Array.from({ length: STAN_CHANNELS }, (_, i) => channel(i));
    const hold = (clientId: string) => async (subject: string) => {
      const sc = client(clientId);
      const sub = sc.subscribe(subject, 'workers', holderOptions(sc));
      // Each message is kept until a test acks it.
      const kept: stan.Message[] = [];
      held.set(`${clientId} ${subject}`, kept);
      sub.on('message', (m: stan.Message) => kept.push(m));
      await ready(sub);
    };
    const watchers = client('inc-watchers');
    const leavers = client('inc-leavers');
    // Each channel: the durable queue group keep:workers of two manual-ack members that hold
    // their full window, the durable audit whose client goes away (offline), a plain
    // subscription and the non-durable queue group mirror, both acking what they get.
    await Promise.all([
      pipelined(names, WINDOW, hold('inc-holders-a')),
      pipelined(names, WINDOW, hold('inc-holders-b')),
      pipelined(names, WINDOW, (s) => subscribe('inc-leavers', s, undefined, leavers.subscriptionOptions().setDurableName('audit').setDeliverAllAvailable())),
      pipelined(names, WINDOW, (s) => subscribe('inc-watchers', s, undefined, watchers.subscriptionOptions())),
      pipelined(names, WINDOW, (s) => subscribe('inc-watchers', s, 'mirror', watchers.subscriptionOptions(), `mirror ${s}`)),
    ]);
    // The channel whose durable goes offline later has an online durable of its own.
    await subscribe('inc-watchers', ON.offline, undefined, watchers.subscriptionOptions().setDurableName('tracker').setDeliverAllAvailable(), 'tracker');
    // The shuffled channel: more durable queue groups and offline durables, which the server lists from Go maps.
    for (const g of SHUFFLED_GROUPS)
      await subscribe('inc-watchers', ON.shuffled, g, watchers.subscriptionOptions().setDurableName('d').setDeliverAllAvailable());
    for (const d of SHUFFLED_OFFLINE)
      await subscribe('inc-leavers', ON.shuffled, undefined, leavers.subscriptionOptions().setDurableName(d).setDeliverAllAvailable());
    await closeStan(leavers);
    clients.delete('inc-leavers');
    const messages = names.flatMap((s) => Array.from({ length: STAN_BACKLOG }, (_, n) => [s, `order ${n}`] as const));
    await pipelined(messages, WINDOW * 2, ([s, data]) => publish(client('inc-publisher'), s, data));
    await poll('every channel settles', async () => {
      const res = await fetch(`${server.monitorUrl}/streaming/channelsz?subs=1&limit=${STAN_CHANNELS + 10}`);
      const page = (await res.json()) as { channels: ChannelRecord[] };
      if (page.channels.length !== STAN_CHANNELS) return `${page.channels.length} channels`;
      for (const c of page.channels) {
        const why = quiet(c);
        if (why !== true) return why;
      }
      return true;
    });

    a = await startTestExporter(['--server', `inc=${server.monitorUrl}`, '--page-size', '250', ...EXPORTER_FLAGS]);
    aSince = Date.now();
    for (let i = 0; i < 2; i++) last = await scrapeAsPrometheus(a);
  });

  after(async () => {
    await a?.close();
    for (const sc of clients.values()) await closeStan(sc);
    await server?.stop();
  });

  /** A's first answer after the change, checked against its last one before and against a cold B's. */
  async function afterChange(subject: string, expected: readonly Expected[], cold = true): Promise<void> {
    const before = last;
    const warm = await scrapeAsPrometheus(a);
    last = warm;
    if (cold) {
      const b = await startTestExporter(['--server', `inc=${server.monitorUrl}`, ...EXPORTER_FLAGS]);
      try {
        assertWarmEqualsCold(warm.series, (await scrapeAsPrometheus(b)).series, aSince);
      } finally {
        await b.close();
      }
    }
    assertOnlyChannelMoved(before, warm, 'inc', subject, expected);
  }

  test('the warm answers carry every channel, consumer and subscription', () => {
    const count = (name: string) => [...last.series.values()].filter((s) => s.name === name).length;
    assert.equal(count('stan_channel_messages'), STAN_CHANNELS);
    assert.equal(count('queue_msgs_pending'), STAN_CHANNELS * 3 + 1 + SHUFFLED_GROUPS.length + SHUFFLED_OFFLINE.length);
    assert.equal(count('stan_subscription_last_sent_sequence'), STAN_CHANNELS * 5 + 1 + SHUFFLED_GROUPS.length + SHUFFLED_OFFLINE.length);
  });

  const workers = { group: 'workers', durable: 'keep' };
  const audit = { group: '', durable: 'audit' };
  const mirror = { group: 'mirror', durable: '' };
  const plain = { group: '', durable: '' };

  /** Publishes one more message on a channel that held STAN_BACKLOG, and waits until it is delivered where there is room. */
  async function publishOne(s: string): Promise<void> {
    await publish(client('inc-publisher'), s, 'one more');
    await settle(s, (c) => c.last_seq === STAN_BACKLOG + 1 || `last_seq ${c.last_seq}`);
  }

  /**
   * What one more message moves: the channel's figures, the queues it waits for, and the
   * subscriptions of inc-watchers that got it and acked it (with their queue, if any).
   */
  function oneMoreMessage(waiting: ReadonlyArray<Record<string, string>>, delivered: ReadonlyArray<Record<string, string>>): Expected[] {
    return [
      { name: 'stan_channel_messages', move: { delta: 1 } },
      { name: 'stan_channel_bytes', move: 'moved' },
      { name: 'stan_channel_last_sequence', move: { delta: 1 } },
      ...waiting.flatMap((labels) => [
        { name: 'queue_msgs_pending', labels, move: { delta: 1 } },
        { name: 'queue_msgs_undelivered', labels, move: { delta: 1 } },
      ]),
      ...delivered.flatMap((labels) => [
        ...(labels['group'] === '' && labels['durable'] === '' ? [] : [{ name: 'queue_last_sent_sequence', labels, move: { delta: 1 } }]),
        { name: 'stan_subscription_last_sent_sequence', labels: { ...labels, client_id: 'inc-watchers' }, move: { delta: 1 } },
      ]),
    ];
  }

  test('one message published', async () => {
    const s = ON.publish;
    await publishOne(s);
    // The holders are stalled and audit is offline: the message waits for them; mirror and the
    // plain subscription got it and acked it.
    await afterChange(s, oneMoreMessage([workers, audit], [mirror, plain]));
  });

  test('messages acked: pending falls', async () => {
    const s = ON.ack;
    const mine = held.get(`inc-holders-a ${s}`)!;
    assert.equal(mine.length, HOLDER_MAX_INFLIGHT);
    const sentBefore = (await record(s)).subscriptions!.find((x) => x.client_id === 'inc-holders-a')!.last_sent;
    for (const m of mine.splice(0, 2)) m.ack();
    // Two places open in holder a's window: the server fills them with the next two messages.
    await settle(s, (c) => {
      const sub = c.subscriptions!.find((x) => x.client_id === 'inc-holders-a')!;
      return (sub.last_sent > sentBefore && sub.is_stalled) || `holder a at ${sub.last_sent}, pending ${sub.pending_count}`;
    });
    await afterChange(s, [
      { name: 'queue_msgs_pending', labels: workers, move: { delta: -2 } },
      { name: 'queue_msgs_undelivered', labels: workers, move: { delta: -2 } },
      { name: 'queue_last_sent_sequence', labels: workers, move: { delta: 2 } },
      { name: 'stan_subscription_last_sent_sequence', labels: { ...workers, client_id: 'inc-holders-a' }, move: 'moved' },
    ]);
  });

  test('a new subscription: a third member joins the durable queue group', async () => {
    const s = ON.subscribe;
    clients.set('inc-joiner', await connectStan(server.natsUrl, server.clusterId, 'inc-joiner'));
    const sc = client('inc-joiner');
    const sub = sc.subscribe(s, 'workers', holderOptions(sc, 2));
    sub.on('message', () => undefined);
    await ready(sub);
    await settle(s, (c) => c.subscriptions!.some((x) => x.client_id === 'inc-joiner' && x.is_stalled) || 'the joiner holds nothing yet');
    await afterChange(s, [
      { name: 'stan_channel_subscriptions', move: { delta: 1 } },
      { name: 'queue_consumers', labels: workers, move: { delta: 1 } },
      { name: 'queue_consumers_stalled', labels: workers, move: { delta: 1 } },
      { name: 'queue_max_inflight', labels: workers, move: { delta: 2 } },
      { name: 'queue_msgs_unacked', labels: workers, move: { delta: 2 } },
      { name: 'queue_msgs_undelivered', labels: workers, move: { delta: -2 } },
      { name: 'queue_last_sent_sequence', labels: workers, move: { delta: 2 } },
      { name: /^stan_subscription_/, labels: { ...workers, client_id: 'inc-joiner' }, move: 'added' },
    ]);
  });

  test('a subscription closed: the only member of mirror leaves, and mirror with it', async () => {
    const s = ON.unsubscribe;
    const sub = subs.get(`mirror ${s}`)!;
    await new Promise<void>((resolve, reject) => {
      sub.once('unsubscribed', () => resolve());
      sub.once('error', reject);
      sub.unsubscribe();
    });
    await settle(s, (c) => !c.subscriptions!.some((x) => x.queue_name === 'mirror') || 'mirror still listed');
    await afterChange(s, [
      { name: 'stan_channel_subscriptions', move: { delta: -1 } },
      { name: /^queue_/, labels: mirror, move: 'removed' },
      { name: /^stan_subscription_/, labels: mirror, move: 'removed' },
    ]);
  });

  test('a durable goes offline', async () => {
    const s = ON.offline;
    const sub = subs.get('tracker')!;
    await new Promise<void>((resolve, reject) => {
      sub.once('closed', () => resolve());
      sub.once('error', reject);
      sub.close();
    });
    await settle(s, (c) => c.subscriptions!.some((x) => x.durable_name === 'tracker' && x.is_offline) || 'tracker still online');
    const tracker = { group: '', durable: 'tracker' };
    await afterChange(s, [
      { name: 'queue_offline', labels: tracker, move: { delta: 1 } },
      { name: 'queue_consumers', labels: tracker, move: { delta: -1 } },
      { name: 'queue_max_inflight', labels: tracker, move: 'moved' },
      { name: 'stan_subscription_offline', labels: tracker, move: { delta: 1 } },
    ]);
  });

  test('a new channel, in the middle of the list', async () => {
    const s = ON.created;
    for (let i = 0; i < 3; i++) await publish(client('inc-publisher'), s, `new ${i}`);
    const watchers = client('inc-watchers');
    await subscribe('inc-watchers', s, undefined, watchers.subscriptionOptions().setDurableName('late').setDeliverAllAvailable());
    await settle(s);
    await afterChange(s, [
      { name: /^stan_channel_/, move: 'added' },
      { name: /^queue_/, labels: { group: '', durable: 'late' }, move: 'added' },
      { name: /^stan_subscription_/, labels: { group: '', durable: 'late' }, move: 'added' },
    ]);
    assert.equal(last.series.get(`stan_channel_messages{server="inc",subject="${s}"}`)?.value, 3);
  });

  test('nothing changed but the order of subscriptions in the answers, then one message on that channel', async () => {
    const s = ON.shuffled;
    // Scrapes with nothing changed: the server lists this channel's (and every channel's) queue
    // groups and offline durables in a new order each time; no series may move.
    for (let i = 0; i < 3; i++) await afterChange(s, [], i === 2);
    await publishOne(s);
    const groups = SHUFFLED_GROUPS.map((g) => ({ group: g, durable: 'd' }));
    const offline = SHUFFLED_OFFLINE.map((d) => ({ group: '', durable: d }));
    await afterChange(s, oneMoreMessage([workers, audit, ...offline], [mirror, plain, ...groups]));
  });

  test("fact: nats-streaming-server lists a channel's queue groups and offline durables in a new order from one request to the next", async () => {
    // getMonitorChannelSubs (server/monitor.go) walks the plain subscriptions (a slice), then
    // ss.durables and ss.qsubs, which are Go maps: their order is new on each walk. A cache that
    // compares a channel's record byte for byte treats such a channel as changed on most scrapes
    // (every channel here has two queue groups); one that compares the subscription records as a
    // set must not take a new order for a change, nor let the order decide which series is which.
    const orders = new Set<string>();
    let records: string | undefined;
    for (let i = 0; i < 30; i++) {
      const text = await (await fetch(`${server.monitorUrl}/streaming/channelsz?subs=1&channel=${ON.shuffled}`)).text();
      const subsText = text.slice(text.indexOf('"subscriptions"'));
      const raw = subsText.match(/\{[^{}]*\}/g) ?? [];
      assert.equal(raw.length, 5 + SHUFFLED_GROUPS.length + SHUFFLED_OFFLINE.length);
      const sorted = JSON.stringify([...raw].sort());
      records ??= sorted;
      assert.equal(sorted, records, 'the same subscription records, byte for byte, in every answer');
      orders.add(raw.map((r) => (JSON.parse(r) as SubRecord).queue_name ?? (JSON.parse(r) as SubRecord).durable_name ?? '').join(' '));
    }
    assert.ok(orders.size > 1, `one order in 30 answers: ${[...orders][0]}`);
    // The pages the exporter reads: with nothing changed, only the answer's time differs.
    const page = async () => (await fetch(`${server.monitorUrl}/streaming/channelsz?subs=1&offset=0&limit=${STAN_CHANNELS + 10}`)).json();
    const first = await page();
    const changed = new Set<string>();
    for (let i = 0; i < 3; i++) changedFields(first, await page(), '', changed);
    assert.deepEqual([...changed], ['.now']);
  });
});

// ---------------------------------------------------------------------------------------------
// JetStream

const STREAMS = 300;
const JS_BACKLOG = 10;
const stream = (i: number) => `inc_${String(i).padStart(3, '0')}`;
const JS_ON = {
  publish: stream(10),
  ack: stream(20),
  consumerAdded: stream(30),
  consumerDeleted: stream(40),
  /** Sorts between inc_149 and inc_150. */
  created: `${stream(149)}x`,
};
/** Nanoseconds: nothing delivered is redelivered while the test runs. */
const HOUR_NS = 3_600_000_000_000;

describe('JetStream: a warm exporter after one change answers as a cold one', { timeout: 120_000 }, () => {
  let nats: NatsServer;
  let js: JsClient;
  let a: RunningExporter;
  let aSince = 0;
  let last: { at: number; series: Exposition };
  /** The pull consumer's unacked messages of the stream the ack test uses. */
  let unacked: JsMsg[] = [];

  async function fetchHolding(name: string, consumer: string, count: number): Promise<JsMsg[]> {
    const c = await js.js.consumers.get(name, consumer);
    const got: JsMsg[] = [];
    const messages = await c.fetch({ max_messages: count, expires: 5_000 });
    for await (const m of messages) {
      got.push(m);
      if (got.length === count) break;
    }
    assert.equal(got.length, count, `${name}/${consumer} fetched`);
    return got;
  }

  async function fillStream(name: string): Promise<void> {
    const subject = (i: number) => `${name.replace('_', '.')}.${i % 3 === 2 ? 'b' : 'a'}`;
    await js.jsm.streams.add({ name, subjects: [`${name.replace('_', '.')}.>`], storage: StorageType.Memory });
    await Promise.all(Array.from({ length: JS_BACKLOG }, (_, i) => js.js.publish(subject(i), `m ${i}`)));
    // pull: 3 fetched and not acked; filtered (on .b): 1 fetched and not acked; idle: nothing asked.
    await js.jsm.consumers.add(name, { durable_name: 'pull', ack_policy: AckPolicy.Explicit, ack_wait: HOUR_NS });
    await js.jsm.consumers.add(name, { durable_name: 'filtered', ack_policy: AckPolicy.Explicit, ack_wait: HOUR_NS, filter_subject: subject(2) });
    await js.jsm.consumers.add(name, { durable_name: 'idle', ack_policy: AckPolicy.Explicit, ack_wait: HOUR_NS });
    const pulled = await fetchHolding(name, 'pull', 3);
    if (name === JS_ON.ack) unacked = pulled;
    await fetchHolding(name, 'filtered', 1);
  }

  before(async () => {
    nats = await startNatsServer();
    js = await connectJs(nats.natsUrl);
    await pipelined(
      Array.from({ length: STREAMS }, (_, i) => stream(i)),
      16,
      (name) => fillStream(name),
    );
    a = await startTestExporter(['--jetstream', `jinc=${nats.monitorUrl}`, ...EXPORTER_FLAGS]);
    aSince = Date.now();
    for (let i = 0; i < 2; i++) last = await scrapeAsPrometheus(a);
  });

  after(async () => {
    await a?.close();
    await js?.close();
    await nats?.stop();
  });

  async function afterChange(subject: string, expected: readonly Expected[]): Promise<void> {
    const before = last;
    const warm = await scrapeAsPrometheus(a);
    last = warm;
    const b = await startTestExporter(['--jetstream', `jinc=${nats.monitorUrl}`, ...EXPORTER_FLAGS]);
    try {
      const cold = await scrapeAsPrometheus(b);
      assertWarmEqualsCold(warm.series, cold.series, aSince);
    } finally {
      await b.close();
    }
    assertOnlyChannelMoved(before, warm, 'jinc', subject, expected);
  }

  const pull = { group: '', durable: 'pull' };
  const idle = { group: '', durable: 'idle' };

  test('the warm answers carry every stream and consumer', () => {
    const count = (name: string) => [...last.series.values()].filter((s) => s.name === name).length;
    assert.equal(count('jetstream_stream_messages'), STREAMS);
    assert.equal(count('queue_msgs_pending'), STREAMS * 3);
  });

  test('one message published', async () => {
    const s = JS_ON.publish;
    await js.js.publish(`${s.replace('_', '.')}.a`, 'one more');
    await afterChange(s, [
      { name: 'jetstream_stream_messages', move: { delta: 1 } },
      { name: 'jetstream_stream_bytes', move: 'moved' },
      { name: 'jetstream_stream_last_sequence', move: { delta: 1 } },
      // On .a: pull and idle wait for it, filtered (on .b) does not.
      ...[pull, idle].flatMap((labels) => [
        { name: 'queue_msgs_pending', labels, move: { delta: 1 } },
        { name: 'queue_msgs_undelivered', labels, move: { delta: 1 } },
      ]),
    ]);
  });

  test('messages acked: pending falls', async () => {
    const s = JS_ON.ack;
    assert.equal(unacked.length, 3);
    for (const m of unacked.splice(0, 2)) assert.ok(await m.ackAck(), 'ack confirmed');
    await afterChange(s, [
      { name: 'queue_msgs_pending', labels: pull, move: { delta: -2 } },
      { name: 'queue_msgs_unacked', labels: pull, move: { delta: -2 } },
    ]);
  });

  test('a new consumer', async () => {
    const s = JS_ON.consumerAdded;
    await js.jsm.consumers.add(s, { durable_name: 'late', ack_policy: AckPolicy.Explicit, ack_wait: HOUR_NS });
    await afterChange(s, [
      { name: 'jetstream_stream_consumers', move: { delta: 1 } },
      { name: /^queue_/, labels: { group: '', durable: 'late' }, move: 'added' },
    ]);
  });

  test('a consumer deleted', async () => {
    const s = JS_ON.consumerDeleted;
    assert.ok(await js.jsm.consumers.delete(s, 'idle'));
    await afterChange(s, [
      { name: 'jetstream_stream_consumers', move: { delta: -1 } },
      { name: /^queue_/, labels: idle, move: 'removed' },
    ]);
  });

  test('a new stream', async () => {
    const s = JS_ON.created;
    await fillStream(s);
    await afterChange(s, [
      { name: /^jetstream_stream_/, move: 'added' },
      { name: /^queue_/, move: 'added' },
    ]);
    assert.equal(last.series.get(`jetstream_stream_messages{server="jinc",subject="${s}"}`)?.value, JS_BACKLOG);
  });

  test('fact: which fields of /jsz change between two requests with nothing changed', async () => {
    // The exporter's own query. What changes with time alone makes a record differ from the
    // last scrape's without any change: a cache that compares records byte for byte must leave
    // these fields out (or never hit), and must not key a stream by its place in the answer.
    const path = jszPath(0, 1024);
    const answers: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push(await (await fetch(`${nats.monitorUrl}${path}`)).json());
      await new Promise((r) => setTimeout(r, 20));
    }
    const changed = new Set<string>();
    for (let i = 1; i < answers.length; i++) changedFields(answers[0], answers[i], '', changed);
    assert.deepEqual([...changed].sort(), ['.account_details[].stream_detail[].consumer_detail[].ts', '.now']);
    const streamOrder = (doc: unknown) =>
      (doc as { account_details: Array<{ stream_detail: Array<{ name: string }> }> }).account_details[0]!.stream_detail.map((x) => x.name).join(' ');
    const orders = new Set(answers.map(streamOrder));
    assert.ok(orders.size > 1, 'the streams of an account come in a new order from one request to the next (a Go map)');
  });
});

/**
 * The paths of the fields that differ between two answers, arrays written as []. Their order is
 * not a change: named records are matched by name, others (NATS Streaming's subscription records)
 * in sorted order.
 */
function changedFields(x: unknown, y: unknown, path: string, into: Set<string>): void {
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) into.add(`${path}.length`);
    const named = (v: unknown) => typeof v === 'object' && v !== null && 'name' in v;
    if (x.every(named) && y.every(named)) {
      const byName = new Map(y.map((v) => [(v as { name: string }).name, v]));
      for (const v of x) changedFields(v, byName.get((v as { name: string }).name), `${path}[]`, into);
    } else {
      const sorted = (a: unknown[]) => a.map((v) => JSON.stringify(v)).sort();
      const [xs, ys] = [sorted(x), sorted(y)];
      for (let i = 0; i < Math.max(xs.length, ys.length); i++) changedFields(parse(xs[i]), parse(ys[i]), `${path}[]`, into);
    }
    return;
  }
  if (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null && !Array.isArray(x) && !Array.isArray(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      changedFields((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`, into);
    }
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y)) into.add(path);
}

function parse(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}
