import type {
  Channel,
  Consumer,
  JetStreamNodeInfo,
  NodeSnapshot,
  StanServerInfo,
  ServerSnapshot,
  Snapshot,
  StoreLimits,
  Subscription,
} from '../model/types.js';
import { escapeLabelValue, type ExpositionWriter, labelBytes, labelText, NO_LABELS } from './exposition.js';
import { add, BlockTokens, finish, IN_PLACE, type Labelled, labelled, type Row, startBlock, writeRows } from './families.js';
import { JETSTREAM_INFO_ROWS, JETSTREAM_NODE_ROWS, JETSTREAM_SERVER_ROWS, STREAM_ROWS } from './jetstream-metrics.js';
import { type FamilySelection, familyNames, selectRows, type Tier, type TieredRow } from './tiers.js';

/**
 * The only place, with jetstream-metrics.ts, that maps the server-side model onto metric names.
 * Each table row is one family: its name, type, help and how to read its value from a model
 * object. Queue families are the same for both backends; a logical server's channels are
 * stan_channel_* for NATS Streaming and jetstream_stream_* for JetStream.
 *
 * The per-object tables (channels, queues, subscriptions: a series per object, so most of an
 * answer) lead each row with its tier (tiers.ts): default families are on /metrics, detailed ones
 * on /metrics/detailed. Per node and per server families cost a few series per node whatever the
 * number of channels, and are always default.
 */

const SERVER_ROWS: ReadonlyArray<Row<StanServerInfo>> = [
  ['stan_server_clients', 'gauge', 'Clients connected to the server.', (s) => s.clients],
  ['stan_server_subscriptions', 'gauge', 'Subscriptions on the server.', (s) => s.subscriptions],
  ['stan_server_channels', 'gauge', 'Channels on the server.', (s) => s.channels],
  ['stan_server_messages', 'gauge', 'Messages held in the store now, all channels.', (s) => s.messages],
  ['stan_server_bytes', 'gauge', 'Bytes held in the store now, all channels.', (s) => s.bytes],
  ['stan_server_open_fds', 'gauge', 'File descriptors the server has open.', (s) => (s.openFds > 0 ? s.openFds : undefined)],
  ['stan_server_max_fds', 'gauge', 'File descriptors the server may open.', (s) => (s.maxFds > 0 ? s.maxFds : undefined)],
  ['stan_server_start_time_seconds', 'gauge', 'Unix time the server started.', (s) => s.startTimeSeconds],
  ['stan_server_received_messages_total', 'counter', 'Messages received by the server since it started.', (s) => s.receivedMessages],
  ['stan_server_received_bytes_total', 'counter', 'Bytes received by the server since it started.', (s) => s.receivedBytes],
  ['stan_server_sent_messages_total', 'counter', 'Messages sent by the server since it started.', (s) => s.sentMessages],
  ['stan_server_sent_bytes_total', 'counter', 'Bytes sent by the server since it started.', (s) => s.sentBytes],
];

const LIMIT_ROWS: ReadonlyArray<Row<StoreLimits>> = [
  ['stan_store_limit_channels', 'gauge', 'Most channels the store accepts (0 = unlimited).', (l) => l.channels],
  ['stan_store_limit_subscriptions', 'gauge', 'Most subscriptions per channel (0 = unlimited).', (l) => l.subscriptions],
  ['stan_store_limit_messages', 'gauge', 'Most messages kept per channel (0 = unlimited).', (l) => l.messages],
  ['stan_store_limit_bytes', 'gauge', 'Most bytes kept per channel (0 = unlimited).', (l) => l.bytes],
  ['stan_store_limit_age_seconds', 'gauge', 'Longest a message is kept, in seconds (0 = unlimited).', (l) => l.ageSeconds],
];

const CHANNEL_ROWS: ReadonlyArray<TieredRow<Channel>> = [
  [
    'default',
    'stan_channel_messages',
    'gauge',
    'Messages the channel holds now (not a count of publishes: use stan_channel_last_sequence for rates).',
    (c) => c.messages,
  ],
  ['default', 'stan_channel_bytes', 'gauge', 'Bytes the channel holds now.', (c) => c.bytes],
  ['detailed', 'stan_channel_first_sequence', 'gauge', 'Sequence of the oldest message still held.', (c) => c.firstSeq],
  ['default', 'stan_channel_last_sequence', 'gauge', 'Sequence of the newest message; its rate is the publish rate.', (c) => c.lastSeq],
  ['detailed', 'stan_channel_subscriptions', 'gauge', 'Subscriptions on the channel, offline durables included.', (c) => c.subscriptionCount],
];

const CONSUMER_ROWS: ReadonlyArray<TieredRow<Consumer>> = [
  ['default', 'queue_msgs_pending', 'gauge', 'Messages this queue group or durable has not finished: undelivered + unacked.', (q) => q.pending],
  [
    'default',
    'queue_msgs_undelivered',
    'gauge',
    'Messages published and not yet sent to any member: max(0, last_seq - max(cursor, first_seq - 1)).',
    (q) => q.undelivered,
  ],
  ['default', 'queue_msgs_unacked', 'gauge', 'Messages sent to members and not yet acked (sum of pending_count).', (q) => q.unacked],
  [
    'default',
    'queue_last_sent_sequence',
    'gauge',
    'The consumer cursor: highest sequence sent to any member; its rate is the delivery rate.',
    (q) => q.lastSent,
  ],
  ['default', 'queue_consumers', 'gauge', 'Members online.', (q) => q.members],
  ['default', 'queue_consumers_stalled', 'gauge', 'Online members whose in-flight window is full.', (q) => q.stalledMembers],
  ['default', 'queue_max_inflight', 'gauge', "Sum of the online members' max in-flight.", (q) => q.maxInflight],
  ['default', 'queue_offline', 'gauge', '1 when a durable consumer has no member online (its backlog still counts).', (q) => (q.offline ? 1 : 0)],
  [
    'default',
    'queue_oldest_undelivered_age_seconds',
    'gauge',
    'Seconds since the first message after the cursor was published; 0 when nothing waits. See queue_oldest_undelivered_age_lower_bound.',
    (q) => q.oldestUndeliveredAge?.seconds,
    IN_PLACE,
  ],
  [
    'default',
    'queue_oldest_undelivered_age_lower_bound',
    'gauge',
    '1 when queue_oldest_undelivered_age_seconds is only a lower bound: the message is older than anything the exporter has seen (it started since, and has no --nats-url), or (JetStream filter subjects) where it lies is not known closely enough.',
    (q) => (q.oldestUndeliveredAge ? (q.oldestUndeliveredAge.kind === 'at_least' ? 1 : 0) : undefined),
    IN_PLACE,
  ],
  [
    'detailed',
    'queue_oldest_unacked_age_seconds',
    'gauge',
    'Seconds since the oldest message delivered and not yet acked was published (JetStream: above the ack floor); 0 when none is unacked. See queue_oldest_unacked_age_lower_bound.',
    (q) => q.oldestUnackedAge?.seconds,
    IN_PLACE,
  ],
  [
    'detailed',
    'queue_oldest_unacked_age_lower_bound',
    'gauge',
    '1 when queue_oldest_unacked_age_seconds is only a lower bound: the message is older than anything the exporter has seen, or where it lies is not known closely enough.',
    (q) => (q.oldestUnackedAge ? (q.oldestUnackedAge.kind === 'at_least' ? 1 : 0) : undefined),
    IN_PLACE,
  ],
  [
    'default',
    'queue_msgs_evicted',
    'gauge',
    'Messages evicted by store limits before this consumer got them: max(0, first_seq - 1 - cursor); they can never be delivered to it.',
    (q) => q.evicted,
  ],
  ['detailed', 'queue_msgs_redelivered', 'gauge', 'Unacked messages delivered more than once (JetStream num_redelivered).', (q) => q.redelivered],
];

const SUBSCRIPTION_ROWS: ReadonlyArray<TieredRow<Subscription>> = [
  ['detailed', 'stan_subscription_unacked_messages', 'gauge', 'Messages sent to this subscription and not yet acked.', (s) => s.unacked],
  ['detailed', 'stan_subscription_last_sent_sequence', 'gauge', 'Highest sequence sent to this subscription.', (s) => s.lastSent],
  ['detailed', 'stan_subscription_max_inflight', 'gauge', 'Most unacked messages the server sends this subscription.', (s) => s.maxInflight],
  ['detailed', 'stan_subscription_ack_wait_seconds', 'gauge', 'Seconds the server waits for an ack before redelivering.', (s) => s.ackWaitSeconds],
  ['detailed', 'stan_subscription_stalled', 'gauge', "1 when the subscription's in-flight window is full.", (s) => (s.stalled ? 1 : 0)],
  ['detailed', 'stan_subscription_offline', 'gauge', '1 for a durable whose client is gone.', (s) => (s.offline ? 1 : 0)],
];

function byTier(table: ReadonlyArray<readonly [Tier, string, ...unknown[]]>): Readonly<Record<Tier, readonly string[]>> {
  return Object.freeze({ default: Object.freeze(familyNames(table, 'default')), detailed: Object.freeze(familyNames(table, 'detailed')) });
}

/**
 * The names of the per-object families by level and tier, in the order they are written: what
 * docs/metrics.md#series-audit lists. Per node and per server families are all default.
 */
export const PER_OBJECT_FAMILIES = Object.freeze({
  channel: byTier(CHANNEL_ROWS),
  stream: byTier(STREAM_ROWS),
  queue: byTier(CONSUMER_ROWS),
  subscription: byTier(SUBSCRIPTION_ROWS),
});

/** The detailed families: what /metrics/detailed serves, and what its family=NAME may name. */
export const DETAILED_FAMILIES: readonly string[] = Object.freeze(Object.values(PER_OBJECT_FAMILIES).flatMap((level) => level.detailed));

/** Label texts of a snapshot, built once and shared by the requests that render it. */
interface SnapshotLabels {
  /** Logical servers: `server` only. */
  servers: Labelled<ServerSnapshot>;
  /** Every node: `server` and `node`. */
  nodes: Labelled<NodeSnapshot>;
  /** NATS Streaming nodes, and their serverz and storez figures. */
  stanNodes: Labelled<NodeSnapshot>;
  /** JetStream nodes, and their varz and jsz figures. */
  jetstreamNodes: Labelled<NodeSnapshot>;
  jetstreamIdentities: Labelled<JetStreamNodeInfo>;
  jetstreamInfo: Labelled<JetStreamNodeInfo>;
  streams: Labelled<Channel>;
  /** stan_server_info's labels: the server's identity. */
  identities: Labelled<StanServerInfo>;
  info: Labelled<StanServerInfo>;
  limits: Labelled<StoreLimits>;
  channels: Labelled<Channel>;
  consumers: Labelled<Consumer>;
  /** Built on first use: never while no subscription family is asked for. */
  subscriptions?: Labelled<Subscription>;
}

/** Label bytes by the values they were made from, one map level per value. */
type LabelTree<T> = Map<string, T>;
/** Consumer label bytes by group, then durable. */
type ConsumerLabels = LabelTree<LabelTree<Uint8Array>>;
/** Subscription label bytes by client id, group, durable, then index. */
type SubscriptionLabels = LabelTree<LabelTree<LabelTree<Uint8Array[]>>>;

const labelCache = new WeakMap<Snapshot, SnapshotLabels>();

/** Channel label bytes and whether a block starts at that channel. */
interface ChannelLabel {
  bytes: Uint8Array;
  startsBlock: boolean;
  /** The last snapshot that used it (ChannelLabels). */
  seen: number;
}

/**
 * A block starts at a channel whose label hashes to 0 modulo this (so about this many channels a
 * block), found by content, so that a channel made or deleted moves the boundaries of its own
 * block only, not of every block after it.
 */
const BLOCK_CHANNELS = 32;
/** Most channels in a block, whatever their hashes. */
const MAX_BLOCK_CHANNELS = 128;
/** Most label parts the shared trees hold; past this they start again. */
const MAX_SHARED_LABELS = 100_000;

/** FNV-1a over the UTF-16 code units of `text`. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Channel label bytes by server and channel, kept while one of the last two snapshots used them:
 * a channel gets the same bytes object from scrape to scrape, which is how a cached block
 * (segment-cache.ts) knows its labels are the same. Found by the server's and channel's names,
 * so that the label text is only made for a channel not seen before. One map per server lives
 * from snapshot to snapshot, each label stamped with the last snapshot that used it: a map made
 * anew each snapshot (10,000 entries) would outlive the scrape and so reach V8's old generation.
 */
class ChannelLabels {
  readonly #servers = new Map<string, { seen: number; byName: Map<string, ChannelLabel> }>();
  #snapshot = 0;

  /** A snapshot's labels are being built: what neither of the last two used is forgotten. */
  nextSnapshot(): void {
    const stale = this.#snapshot;
    this.#snapshot++;
    for (const [server, labels] of this.#servers) {
      if (labels.seen < stale) {
        this.#servers.delete(server);
        continue;
      }
      // forEach, not for-of: no [key, value] array is made per entry.
      labels.byName.forEach((label, key, byName) => {
        if (label.seen < stale) byName.delete(key);
      });
    }
  }

  /** The labels of one server's channels (`serverLabel` its label text), by account (undefined: the default one) and name. */
  ofServer(server: string, serverLabel: string): (account: string | undefined, name: string) => ChannelLabel {
    let labels = this.#servers.get(server);
    if (labels === undefined) this.#servers.set(server, (labels = { seen: 0, byName: new Map() }));
    labels.seen = this.#snapshot;
    const { byName } = labels;
    const snapshot = this.#snapshot;
    return (account, name) => {
      const key = account === undefined ? name : `${account}\u0000${name}`;
      let label = byName.get(key);
      if (label === undefined) {
        const accountLabel = account === undefined ? '' : `,account="${escapeLabelValue(account)}"`;
        const made = `${serverLabel}${accountLabel},subject="${escapeLabelValue(name)}"`;
        label = { bytes: labelBytes(made), startsBlock: hash(made) % BLOCK_CHANNELS === 0, seen: snapshot };
        byName.set(key, label);
      }
      label.seen = snapshot;
      return label;
    };
  }
}

const channelLabels = new ChannelLabels();
/**
 * Block tokens of the per-object levels, whose unchanged objects are kept from scrape to scrape
 * (sources/stan/channel-records.ts, sources/jetstream/queues.ts LogicalChannels).
 */
const channelTokens = new BlockTokens();
const streamTokens = new BlockTokens();
const consumerTokens = new BlockTokens();
const subscriptionTokens = new BlockTokens();
/** Consumer and subscription label parts, shared by every snapshot (see MAX_SHARED_LABELS). */
let sharedConsumerLabels: ConsumerLabels = new Map();
let sharedSubscriptionLabels: SubscriptionLabels = new Map();
let sharedLabelCount = 0;

/** Counts a label part made; the trees start again when they hold too many. */
function countSharedLabel(): void {
  if (++sharedLabelCount <= MAX_SHARED_LABELS) return;
  sharedConsumerLabels = new Map();
  sharedSubscriptionLabels = new Map();
  sharedLabelCount = 0;
}

/** The next level of a label tree under `key`, made on first use. */
function level<T>(tree: LabelTree<T>, key: string, make: new () => T): T {
  let next = tree.get(key);
  if (next === undefined) {
    next = new make();
    tree.set(key, next);
  }
  return next;
}

/**
 * The second label part of a consumer's series, made once per distinct group and durable and
 * found again by its values, without building a key for each of 30,000 consumers.
 */
function consumerLabelBytes(tree: ConsumerLabels, q: Consumer): Uint8Array {
  const byDurable = level(tree, q.group, Map<string, Uint8Array>);
  let bytes = byDurable.get(q.durable);
  if (bytes === undefined) {
    bytes = labelBytes(`,group="${escapeLabelValue(q.group)}",durable="${escapeLabelValue(q.durable)}"`);
    byDurable.set(q.durable, bytes);
    countSharedLabel();
  }
  return bytes;
}

/** The second label part of a subscription's series, made once per distinct client id, group, durable and index. */
function subscriptionLabelBytes(tree: SubscriptionLabels, sub: Subscription): Uint8Array {
  const byIndex = level(
    level(level(tree, sub.clientId, Map<string, LabelTree<Uint8Array[]>>), sub.group, Map<string, Uint8Array[]>),
    sub.durable,
    Array<Uint8Array>,
  );
  let bytes = byIndex[sub.index];
  if (bytes === undefined) {
    bytes = labelBytes(
      `,group="${escapeLabelValue(sub.group)}",durable="${escapeLabelValue(sub.durable)}",client_id="${escapeLabelValue(sub.clientId)}",sub_index="${sub.index}"`,
    );
    byIndex[sub.index] = bytes;
    countSharedLabel();
  }
  return bytes;
}

function snapshotLabels(snapshot: Snapshot): SnapshotLabels {
  let cached = labelCache.get(snapshot);
  if (cached) return cached;
  // The per-object levels are made at their final sizes.
  let stanChannels = 0;
  let streams = 0;
  let consumers = 0;
  for (const s of snapshot.servers) {
    if (s.backend === 'jetstream') streams += s.channels.length;
    else stanChannels += s.channels.length;
    for (const c of s.channels) consumers += c.consumers.length;
  }
  cached = {
    servers: labelled(),
    nodes: labelled(),
    stanNodes: labelled(),
    jetstreamNodes: labelled(),
    jetstreamIdentities: labelled(),
    jetstreamInfo: labelled(),
    streams: labelled(true, streams),
    identities: labelled(),
    info: labelled(),
    limits: labelled(),
    channels: labelled(true, stanChannels),
    consumers: labelled(true, consumers),
  };
  channelLabels.nextSnapshot();
  const consumerLabels = sharedConsumerLabels;
  for (const s of snapshot.servers) {
    const serverLabel = `server="${escapeLabelValue(s.name)}"`;
    add(cached.servers, labelBytes(serverLabel), NO_LABELS, s);
    const jetstream = s.backend === 'jetstream';
    for (const n of s.nodes) {
      const nodeBytes = labelBytes(`${serverLabel},node="${escapeLabelValue(n.node)}"`);
      add(cached.nodes, nodeBytes, NO_LABELS, n);
      add(jetstream ? cached.jetstreamNodes : cached.stanNodes, nodeBytes, NO_LABELS, n);
      const js = n.jetstream;
      if (js && !n.failure) {
        add(
          cached.jetstreamIdentities,
          labelBytes(
            labelText([
              ['server', s.name],
              ['node', n.node],
              ['server_id', js.serverId],
              ['server_name', js.serverName],
              ['version', js.version],
              ['cluster', js.cluster],
            ]),
          ),
          NO_LABELS,
          js,
        );
        add(cached.jetstreamInfo, nodeBytes, NO_LABELS, js);
      }
      if (n.failure || !n.info || !n.limits) continue;
      const i = n.info;
      add(
        cached.identities,
        labelBytes(
          labelText([
            ['server', s.name],
            ['node', n.node],
            ['cluster_id', i.clusterId],
            ['server_id', i.serverId],
            ['version', i.version],
            ['state', i.state],
            ['role', i.role],
          ]),
        ),
        NO_LABELS,
        i,
      );
      add(cached.info, nodeBytes, NO_LABELS, i);
      add(cached.limits, nodeBytes, NO_LABELS, n.limits);
    }
    const channelLevel = jetstream ? cached.streams : cached.channels;
    const labelOf = channelLabels.ofServer(s.name, serverLabel);
    let inBlock = 0;
    // Indexed loops: the two below run once per channel and queue of every server.
    const channels = s.channels;
    for (let k = 0; k < channels.length; k++) {
      const c = channels[k]!;
      const label = labelOf(c.account, c.name);
      // A server's first channel starts a block: blocks never span servers.
      if (inBlock === 0 || label.startsBlock || inBlock >= MAX_BLOCK_CHANNELS) {
        startBlock(channelLevel);
        startBlock(cached.consumers);
        inBlock = 0;
      }
      inBlock++;
      add(channelLevel, label.bytes, NO_LABELS, c);
      const queues = c.consumers;
      for (let j = 0; j < queues.length; j++) {
        const q = queues[j]!;
        add(cached.consumers, label.bytes, consumerLabelBytes(consumerLabels, q), q);
      }
    }
  }
  finish(cached.streams);
  finish(cached.channels);
  finish(cached.consumers);
  channelTokens.assign(cached.channels);
  streamTokens.assign(cached.streams);
  consumerTokens.assign(cached.consumers);
  labelCache.set(snapshot, cached);
  return cached;
}

function subscriptionLabels(labels: SnapshotLabels): Labelled<Subscription> {
  if (labels.subscriptions) return labels.subscriptions;
  const { items: channels, labels: labelsOfChannels, blockStarts = [] } = labels.channels;
  let count = 0;
  for (const c of channels) count += c.subscriptions.length;
  const subs = labelled<Subscription>(true, count);
  const tree = sharedSubscriptionLabels;
  let nextBlock = 0;
  for (let i = 0; i < channels.length; i++) {
    if (blockStarts[nextBlock] === i) {
      startBlock(subs);
      nextBlock++;
    }
    for (const sub of channels[i]!.subscriptions) {
      add(subs, labelsOfChannels[i]!, subscriptionLabelBytes(tree, sub), sub);
    }
  }
  finish(subs);
  subscriptionTokens.assign(subs);
  labels.subscriptions = subs;
  return subs;
}

const STAN_NODE_ROWS: ReadonlyArray<Row<NodeSnapshot>> = [
  ['stan_up', 'gauge', '1 when the last scrape of this node fully succeeded.', (n) => (n.failure ? 0 : 1)],
];

const NODE_ROWS: ReadonlyArray<Row<NodeSnapshot>> = [
  ['nats_queue_exporter_scrape_duration_seconds', 'gauge', "How long this node's part of the last scrape took.", (n) => n.durationSeconds],
];

const LOGICAL_SERVER_ROWS: ReadonlyArray<Row<ServerSnapshot>> = [
  [
    'queue_server_owner_up',
    'gauge',
    '1 when the node that owns the queue state (standalone, FT active, Raft leader) answered and its queue figures were read this scrape.',
    (s) => (s.owner === undefined ? 0 : 1),
  ],
  ['queue_server_nodes', 'gauge', 'Nodes configured for this server (2 for an FT pair, 3 or more for a Raft cluster).', (s) => s.nodes.length],
  ['queue_server_nodes_up', 'gauge', 'Nodes of this server that answered this scrape.', (s) => countUp(s.nodes)],
  [
    'queue_server_owner_conflict',
    'gauge',
    '1 when more than one node claimed the queue state this scrape (two FT actives, two Raft leaders, two JetStream meta leaders); the figures come from the first in configured order.',
    (s) => (s.claimers.length > 1 ? 1 : 0),
  ],
];

function countUp(nodes: readonly NodeSnapshot[]): number {
  let up = 0;
  for (const n of nodes) if (!n.failure) up++;
  return up;
}

const INFO_ROWS: ReadonlyArray<Row<StanServerInfo>> = [['stan_server_info', 'gauge', 'Identity and state of the server; always 1.', () => 1]];

/**
 * Writes the server-side families of a snapshot that `selection` asks for, NATS Streaming and
 * JetStream, family by family: nodes, logical servers (both only with the default families),
 * channels and streams, queues, then subscriptions.
 */
export async function writeServerFamilies(snapshot: Snapshot, out: ExpositionWriter, selection: FamilySelection): Promise<void> {
  const labels = snapshotLabels(snapshot);
  if (selection.default) {
    await writeRows(out, STAN_NODE_ROWS, labels.stanNodes);
    await writeRows(out, JETSTREAM_NODE_ROWS, labels.jetstreamNodes);
    await writeRows(out, NODE_ROWS, labels.nodes);
    await writeRows(out, LOGICAL_SERVER_ROWS, labels.servers);
    await writeRows(out, INFO_ROWS, labels.identities);
    await writeRows(out, SERVER_ROWS, labels.info);
    await writeRows(out, LIMIT_ROWS, labels.limits);
    await writeRows(out, JETSTREAM_INFO_ROWS, labels.jetstreamIdentities);
    await writeRows(out, JETSTREAM_SERVER_ROWS, labels.jetstreamInfo);
  }
  await writeRows(out, selectRows(CHANNEL_ROWS, selection), labels.channels);
  await writeRows(out, selectRows(STREAM_ROWS, selection), labels.streams);
  await writeRows(out, selectRows(CONSUMER_ROWS, selection), labels.consumers);
  const subscriptionRows = selectRows(SUBSCRIPTION_ROWS, selection);
  if (subscriptionRows.length > 0) await writeRows(out, subscriptionRows, subscriptionLabels(labels));
}
