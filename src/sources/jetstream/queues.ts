import { evictedMessages } from '../../model/consumers.js';
import type { Channel, Consumer, SeqRange } from '../../model/types.js';
import type { NodeStream } from './leaders.js';
import type { JszConsumer, JszStream } from './parse.js';

/** The account a server without configured accounts puts everything in; its queues carry no account label. */
export const DEFAULT_ACCOUNT = '$G';

/**
 * A pull consumer with no waiting pull request still counts as having a member when it
 * delivered or saw an ack this recently: a worker busy with its last batch has no request out.
 * Client libraries renew an idle pull request at least every 30 s (their default expiry).
 */
export const PULL_ACTIVITY_WINDOW_MS = 60_000;

/**
 * The queue a consumer feeds, as stan2js maps a NATS Streaming subscription the other way:
 * group = deliver_group, durable = durable_name. An ephemeral consumer (no durable name; the
 * server deletes it when inactive, and most are named by the server or the client library, new
 * on every reconnect) is no queue of its own: with a deliver group it counts towards that
 * group's queue (durable ""), like a non-durable STAN queue group; without one it has no
 * queue series, like a plain STAN subscription, so that ephemerals never churn series.
 */
export function queueKey(c: JszConsumer): { group: string; durable: string } | undefined {
  if (c.durableName === '' && c.deliverGroup === '') return undefined;
  return { group: c.deliverGroup, durable: c.durableName };
}

/**
 * Members online, so that queue_consumers and queue_offline mean what they mean for STAN
 * (someone is there to take messages):
 * - push consumer: 1 while a subscriber is bound to its deliver subject (push_bound; the server
 *   does not say how many), else 0;
 * - pull consumer: its waiting pull requests (each worker keeps one out while idle), or 1 when
 *   it has none but delivered or saw an ack within PULL_ACTIVITY_WINDOW_MS.
 */
export function onlineMembers(c: JszConsumer): number {
  if (c.deliverSubject !== '') return c.pushBound ? 1 : 0;
  if (c.numWaiting > 0) return c.numWaiting;
  const last = Math.max(c.lastDeliveryMs ?? -Infinity, c.lastAckMs ?? -Infinity);
  return c.readAtMs - last <= PULL_ACTIVITY_WINDOW_MS ? 1 : 0;
}

/**
 * Messages the stream discarded (limits) before this consumer got them: what lies between its
 * cursor and the stream's first sequence. Only for a consumer of the whole stream: for a
 * filtered one the gap also holds other subjects' messages, which were never its own.
 */
function evicted(c: JszConsumer, firstSeq: number): number {
  return c.filterSubjects.length > 0 ? 0 : evictedMessages(firstSeq, c.deliveredStreamSeq);
}

/**
 * Where a consumer's next undelivered message lies: after its cursor (and at or above first_seq),
 * and, since its num_pending messages all lie between there and last_seq, no later than
 * last_seq - num_pending + 1. The two meet unless messages after the cursor are not its own
 * (filter subjects) or were deleted; then the message is the first on its subjects from there.
 */
export function undeliveredRange(c: JszConsumer, firstSeq: number, lastSeq: number): SeqRange | undefined {
  if (c.numPending === 0) return undefined;
  const from = Math.max(c.deliveredStreamSeq, firstSeq - 1) + 1;
  const latest = lastSeq - c.numPending + 1;
  // More pending than messages after the cursor: the stream's state was read before the
  // consumer's (another node, a publish in between), so only last_seq bounds the message.
  return { from, to: latest >= from ? latest : Math.max(from, lastSeq), firstOn: c.filterSubjects };
}

/**
 * Where a consumer's oldest unacked message lies: above its ack floor (the server keeps the
 * floor just below the oldest unacked message), and, since its num_ack_pending messages all lie
 * at or below the cursor, no later than delivered.stream_seq - num_ack_pending + 1. Null when
 * nothing is unacked.
 */
export function unackedRange(c: JszConsumer, firstSeq: number): SeqRange | null {
  if (c.numAckPending === 0) return null;
  const from = Math.max(c.ackFloorStreamSeq + 1, firstSeq);
  return { from, to: Math.max(from, c.deliveredStreamSeq - c.numAckPending + 1), firstOn: c.filterSubjects };
}

/** One consumer's queue figures; an ephemeral group's consumers are added up by addTo. */
function figures(c: JszConsumer, group: string, durable: string, firstSeq: number, lastSeq: number): Consumer {
  const members = onlineMembers(c);
  // max_ack_pending is one window for all members: at it, the server sends none of them more.
  const limited = c.maxAckPending > 0;
  return {
    group,
    durable,
    lastSent: c.deliveredStreamSeq,
    undelivered: c.numPending,
    unacked: c.numAckPending,
    pending: c.numPending + c.numAckPending,
    members,
    stalledMembers: members > 0 && limited && c.numAckPending >= c.maxAckPending ? 1 : 0,
    maxInflight: limited ? c.maxAckPending : 0,
    offline: durable !== '' && members === 0,
    evicted: evicted(c, firstSeq),
    redelivered: c.numRedelivered,
    ...withRange(undeliveredRange(c, firstSeq, lastSeq)),
    oldestUnacked: unackedRange(c, firstSeq),
  };
}

function withRange(range: SeqRange | undefined): { undeliveredRange?: SeqRange } {
  return range ? { undeliveredRange: range } : {};
}

/**
 * The first message of several consumers counted as one queue: at or after the first of their
 * lower ends, no later than the first of their upper ends. No lookup finds it from there (the
 * consumers' cursors differ), so only a range that names one message is looked up.
 */
function firstOf<R extends SeqRange | null | undefined>(a: R, b: R): R {
  if (!a || !b) return (a ?? b) as R;
  return { from: Math.min(a.from, b.from), to: Math.min(a.to, b.to) } as R;
}

function addTo(sum: Consumer, more: Consumer): void {
  sum.lastSent = Math.max(sum.lastSent, more.lastSent);
  sum.undelivered += more.undelivered;
  sum.unacked += more.unacked;
  sum.pending += more.pending;
  sum.members += more.members;
  sum.stalledMembers += more.stalledMembers;
  sum.maxInflight += more.maxInflight;
  sum.evicted += more.evicted;
  sum.redelivered = (sum.redelivered ?? 0) + (more.redelivered ?? 0);
  const undelivered = firstOf(sum.undeliveredRange, more.undeliveredRange);
  if (undelivered) sum.undeliveredRange = undelivered;
  sum.oldestUnacked = firstOf(sum.oldestUnacked, more.oldestUnacked);
}

/** A stream's queues (its sequences run from `firstSeq` to `lastSeq`): one per durable, one per deliver group of ephemerals. */
export function streamQueues(consumers: readonly JszConsumer[], firstSeq: number, lastSeq: number): Consumer[] {
  const queues = new Map<string, Consumer>();
  for (const c of consumers) {
    const key = queueKey(c);
    if (!key) continue;
    const id = `${key.group}\u0000${key.durable}`;
    const found = queues.get(id);
    const these = figures(c, key.group, key.durable, firstSeq, lastSeq);
    if (found) addTo(found, these);
    else queues.set(id, these);
  }
  return [...queues.values()];
}

/**
 * The `account` of each account id, undefined for the default account. The account's name
 * (its name tag under an operator) unless two accounts share it; then their ids, so that two
 * accounts never give the same series.
 */
function accountLabels(streams: readonly NodeStream[]): Map<string, string | undefined> {
  const idsByName = new Map<string, Set<string>>();
  for (const s of streams) {
    let ids = idsByName.get(s.accountName);
    if (!ids) idsByName.set(s.accountName, (ids = new Set()));
    ids.add(s.accountId);
  }
  const labels = new Map<string, string | undefined>();
  for (const s of streams) {
    const shared = idsByName.get(s.accountName)!.size > 1;
    labels.set(s.accountId, s.accountId === DEFAULT_ACCOUNT ? undefined : shared ? s.accountId : s.accountName);
  }
  return labels;
}

/** What one logical stream was made into at the last scrape, and from what (LogicalChannels). */
interface Made {
  /** The stream whose state the channel has. */
  stream: JszStream;
  account: string | undefined;
  /** Its queues' consumers, in the order they were counted. */
  consumers: readonly JszConsumer[];
  /** onlineMembers of each consumer then: a pull consumer's moves with time alone. */
  members: number[];
  channel: Channel;
  seen: number;
}

/**
 * The channels of one logical server's last scrape, each with what it was made from, so that a
 * stream made from the same objects (a record found the same: stream-records.ts, leaders.ts
 * NodeStreams) is the same channel, object for object: its blocks of lines are then reused
 * without a value read (metrics/families.ts BlockTokens). Nothing changes a kept channel but
 * what changes in place on any channel (the ages, model/oldest-age.ts; a narrowed undelivered
 * range, model/quiet-cursors.ts).
 */
export class LogicalChannels {
  readonly #made = new Map<string, Made>();
  #scrape = 0;

  /** The channel of `key` made last time from these objects, when every consumer still has as many members online. */
  found(key: string, stream: JszStream, account: string | undefined, consumers: readonly JszConsumer[]): Channel | undefined {
    const made = this.#made.get(key);
    if (made === undefined || made.stream !== stream || made.account !== account || made.consumers.length !== consumers.length) return undefined;
    for (let i = 0; i < consumers.length; i++) {
      const c = consumers[i]!;
      if (made.consumers[i] !== c || made.members[i] !== onlineMembers(c)) return undefined;
    }
    made.seen = this.#scrape;
    return made.channel;
  }

  keep(key: string, stream: JszStream, account: string | undefined, consumers: readonly JszConsumer[], channel: Channel): void {
    this.#made.set(key, { stream, account, consumers, members: consumers.map(onlineMembers), channel, seen: this.#scrape });
  }

  /** A scrape's channels are made: those it did not make are dropped, and the next scrape begins. */
  endScrape(): void {
    this.#made.forEach((made, key, all) => {
      if (made.seen !== this.#scrape) all.delete(key);
    });
    this.#scrape++;
  }
}

/**
 * The channels (streams) and queues of one logical server from the streams its nodes listed,
 * in configured node order. Each stream's state comes from the node that leads it (or, while it
 * has no leader, from the first replica listed); each consumer from the first node that leads
 * it, so a replicated consumer is counted once whichever node leads it now. With `kept`, a
 * stream made from the same objects as at the last scrape is the channel made then.
 */
export function logicalServerChannels(nodes: ReadonlyArray<readonly NodeStream[]>, kept?: LogicalChannels): Channel[] {
  const streams = new Map<string, NodeStream>();
  // One node: each stream's consumers are its own list, unmerged (names are unique in a stream).
  const consumers = nodes.length === 1 ? undefined : new Map<string, Map<string, JszConsumer>>();
  for (const node of nodes) {
    for (const s of node) {
      const key = `${s.accountId}\u0000${s.stream.name}`;
      const seen = streams.get(key);
      if (!seen || (s.led && !seen.led)) streams.set(key, s);
      if (consumers === undefined) continue;
      let byName = consumers.get(key);
      if (!byName) consumers.set(key, (byName = new Map()));
      for (const c of s.stream.consumers) if (!byName.has(c.name)) byName.set(c.name, c);
    }
  }
  const labels = accountLabels([...streams.values()]);
  const channels: Channel[] = [];
  for (const [key, s] of streams) {
    const account = labels.get(s.accountId);
    const streamConsumers = consumers === undefined ? s.stream.consumers : [...consumers.get(key)!.values()];
    const found = kept?.found(key, s.stream, account, streamConsumers);
    if (found !== undefined) {
      channels.push(found);
      continue;
    }
    const { name, messages, bytes, firstSeq, lastSeq, firstPublishedMs, lastPublishedMs, consumerCount } = s.stream;
    const channel: Channel = {
      ...(account === undefined ? {} : { account }),
      name,
      messages,
      bytes,
      firstSeq,
      lastSeq,
      ...(firstPublishedMs === undefined || messages === 0 ? {} : { firstPublishedMs }),
      ...(lastPublishedMs === undefined ? {} : { lastPublishedMs }),
      subscriptionCount: consumerCount,
      consumers: streamQueues(streamConsumers, firstSeq, lastSeq),
      subscriptions: [],
    };
    kept?.keep(key, s.stream, account, streamConsumers, channel);
    channels.push(channel);
  }
  kept?.endScrape();
  return channels;
}
