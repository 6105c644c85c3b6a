import type { Channel, ChannelFacts, Consumer, Subscription } from './types.js';

/**
 * Messages published and not yet sent to a consumer whose cursor is `lastSent`.
 * Sequences below first_seq were evicted by store limits and can never be delivered.
 */
export function undeliveredMessages(lastSeq: number, firstSeq: number, lastSent: number): number {
  return Math.max(0, lastSeq - Math.max(lastSent, firstSeq - 1));
}

/**
 * Messages evicted by store limits before a consumer whose cursor is `lastSent` got them: every
 * sequence after the cursor and below first_seq. An empty channel that never held a message
 * (first_seq 0) has evicted nothing.
 */
export function evictedMessages(firstSeq: number, lastSent: number): number {
  return Math.max(0, firstSeq - 1 - lastSent);
}

/**
 * Channels with up to this many subscriptions (nearly all) find a subscription's consumer and
 * earlier twins by scanning; larger ones by key, so that a channel of thousands stays linear.
 */
const SCAN_LIMIT = 16;

/**
 * Builds a channel with its consumers (queue groups and durables, keyed by group and durable)
 * and its subscriptions. The subscriptions become the channel's own: each gets its index in
 * place (numbered where several share client id, group and durable), so that a scrape of
 * 50,000 subscriptions makes 50,000 objects, not twice as many.
 */
export function buildChannel(facts: ChannelFacts, subscriptions: Subscription[]): Channel {
  if (!inConsumerOrder(subscriptions)) subscriptions.sort(byConsumer);
  const consumers: Consumer[] = [];
  const keyed = subscriptions.length > SCAN_LIMIT ? new Map<string, number>() : undefined;
  for (let i = 0; i < subscriptions.length; i++) {
    const sub = subscriptions[i]!;
    sub.index = keyed ? countKey(keyed, `s\u0000${sub.clientId}\u0000${sub.group}\u0000${sub.durable}`) : earlierTwins(subscriptions, i);
    if (sub.group === '' && sub.durable === '') continue;

    const consumerKey = keyed ? `c\u0000${sub.group}\u0000${sub.durable}` : '';
    let at = keyed ? keyed.get(consumerKey) : findConsumer(consumers, sub);
    if (at === undefined) {
      at = consumers.length;
      keyed?.set(consumerKey, at);
      consumers.push({
        group: sub.group,
        durable: sub.durable,
        lastSent: 0,
        undelivered: 0,
        unacked: 0,
        pending: 0,
        members: 0,
        stalledMembers: 0,
        maxInflight: 0,
        offline: false,
        evicted: 0,
      });
    }
    const consumer = consumers[at]!;
    consumer.lastSent = Math.max(consumer.lastSent, sub.lastSent);
    consumer.unacked += sub.unacked;
    if (!sub.offline) {
      consumer.members += 1;
      consumer.maxInflight += sub.maxInflight;
      if (sub.stalled) consumer.stalledMembers += 1;
    }
  }
  for (const consumer of consumers) {
    consumer.undelivered = undeliveredMessages(facts.lastSeq, facts.firstSeq, consumer.lastSent);
    consumer.pending = consumer.undelivered + consumer.unacked;
    consumer.offline = consumer.durable !== '' && consumer.members === 0;
    consumer.evicted = evictedMessages(facts.firstSeq, consumer.lastSent);
  }
  return {
    name: facts.name,
    messages: facts.messages,
    bytes: facts.bytes,
    firstSeq: facts.firstSeq,
    lastSeq: facts.lastSeq,
    subscriptionCount: facts.subscriptionCount,
    consumers,
    subscriptions,
  };
}

/**
 * Subscriptions ordered by group, then durable; stable, so members of one group keep the
 * server's order (and their indexes). nats-streaming-server lists a channel's queue groups and
 * offline durables from Go maps, in an order that changes from one request to the next with
 * nothing else changed (test/integration/incremental-scrape.test.ts): ordered here, a channel
 * that did not change renders the same lines, which the exposition's block cache relies on.
 */
function byConsumer(a: Subscription, b: Subscription): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  if (a.durable !== b.durable) return a.durable < b.durable ? -1 : 1;
  return 0;
}

function inConsumerOrder(subscriptions: readonly Subscription[]): boolean {
  for (let i = 1; i < subscriptions.length; i++) if (byConsumer(subscriptions[i - 1]!, subscriptions[i]!) > 0) return false;
  return true;
}

/** How many times `key` was counted before; counts it once more. */
function countKey(counts: Map<string, number>, key: string): number {
  const n = counts.get(key) ?? 0;
  counts.set(key, n + 1);
  return n;
}

/** How many subscriptions before `at` share client id, group and durable with the one at `at`. */
function earlierTwins(subscriptions: readonly Subscription[], at: number): number {
  const sub = subscriptions[at]!;
  let n = 0;
  for (let i = 0; i < at; i++) {
    const other = subscriptions[i]!;
    if (other.clientId === sub.clientId && other.group === sub.group && other.durable === sub.durable) n++;
  }
  return n;
}

function findConsumer(consumers: readonly Consumer[], sub: Subscription): number | undefined {
  for (let i = 0; i < consumers.length; i++) {
    if (consumers[i]!.group === sub.group && consumers[i]!.durable === sub.durable) return i;
  }
  return undefined;
}
