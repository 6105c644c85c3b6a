import type { Channel, NodeSnapshot, StanServerInfo, ServerSnapshot, Snapshot, Subscription } from '../model/types.js';
import { type ExpositionWriter, labelBytes, labelText, NO_LABELS } from './exposition.js';
import { add, type Labelled, labelled, type Row, writeRows } from './families.js';

/**
 * --nss-compat: the families prometheus-nats-exporter v0.16.0 exports with -channelz -serverz
 * (collector/streaming.go), with its names, types, help texts, label names and label values, so
 * that dashboards and alerts written for it keep working. Where v0.16.0 is wrong in a way those
 * queries depend on, it is kept here on purpose:
 * - the serverz figures are counters, gauges among them (channels, clients, subscriptions,
 *   total_msgs, total_bytes: they go down); nss_chan_msgs_total and nss_chan_bytes_total are
 *   gauges named like counters;
 * - a durable queue group "DURABLE:GROUP" is split at every colon and only the piece after the
 *   first is kept as queue_name ("dur:grp:eu" gives queue_name "grp"); non-durable queue names
 *   are kept whole;
 * - the subscription inbox is a label, so a reconnect starts new series.
 * Unlike v0.16.0, every channel is here (it read the first 1,024 only).
 */

const SERVER_ROWS: ReadonlyArray<Row<StanServerInfo>> = [
  ['nss_server_bytes_total', 'counter', 'Total of bytes', (s) => s.bytes],
  ['nss_server_bytes_in', 'counter', 'Incoming bytes', (s) => s.receivedBytes],
  ['nss_server_bytes_out', 'counter', 'Outgoing bytes', (s) => s.sentBytes],
  ['nss_server_msgs_total', 'counter', 'Total of messages', (s) => s.messages],
  ['nss_server_msgs_in', 'counter', 'Incoming messages', (s) => s.receivedMessages],
  ['nss_server_msgs_out', 'counter', 'Outgoing messages', (s) => s.sentMessages],
  ['nss_server_channels', 'counter', 'Total channels', (s) => s.channels],
  ['nss_server_subscriptions', 'counter', 'Total subscriptions', (s) => s.subscriptions],
  ['nss_server_clients', 'counter', 'Total clients', (s) => s.clients],
  ['nss_server_active', 'gauge', 'Active server', (s) => (s.state === 'FT_ACTIVE' ? 1 : 0)],
];

const INFO_ROWS: ReadonlyArray<Row<StanServerInfo>> = [['nss_server_info', 'gauge', 'Info', () => 1]];

const CHANNEL_ROWS: ReadonlyArray<Row<Channel>> = [
  ['nss_chan_bytes_total', 'gauge', 'Total of bytes', (c) => c.bytes],
  ['nss_chan_msgs_total', 'gauge', 'Total of messages', (c) => c.messages],
  ['nss_chan_last_seq', 'gauge', 'Last seq', (c) => c.lastSeq],
];

const SUBSCRIPTION_ROWS: ReadonlyArray<Row<Subscription>> = [
  ['nss_chan_subs_last_sent', 'gauge', 'Last message sent', (s) => s.lastSent],
  ['nss_chan_subs_pending_count', 'gauge', 'Pending message count', (s) => s.unacked],
  ['nss_chan_subs_max_inflight', 'gauge', 'Max in flight message count', (s) => s.maxInflight],
];

/**
 * v0.16.0's server_id of each node for a URL given without an id: scheme://host:port, without
 * path or credentials (the URLs here never hold any). Nodes behind one host:port with different
 * paths (a proxy) would share that id, and their series would collide (v0.16.0 then failed the
 * whole scrape): those keep their path.
 */
function nssServerIds(snapshot: Snapshot): Map<NodeSnapshot, string> {
  const byOrigin = new Map<string, NodeSnapshot[]>();
  for (const server of snapshot.servers) for (const node of server.nodes) listAt(byOrigin, new URL(node.url).origin).push(node);
  const ids = new Map<NodeSnapshot, string>();
  for (const [origin, nodes] of byOrigin) for (const node of nodes) ids.set(node, nodes.length === 1 ? origin : node.url);
  return ids;
}

function listAt<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (list === undefined) map.set(key, (list = []));
  return list;
}

/** v0.16.0's queue_name: for a durable queue group, the piece of the group name before its first colon. */
function nssQueueName(sub: Subscription): string {
  if (sub.durable === '' || sub.group === '') return sub.group;
  const colon = sub.group.indexOf(':');
  return colon < 0 ? sub.group : sub.group.slice(0, colon);
}

interface NssLabels {
  servers: Labelled<StanServerInfo>;
  identities: Labelled<StanServerInfo>;
  channels: Labelled<Channel>;
  subscriptions: Labelled<Subscription>;
}

const labelCache = new WeakMap<Snapshot, NssLabels>();

/** A subscription's label part and the values it was made of. */
interface SubscriptionLabelPart {
  clientId: string;
  group: string;
  durable: string;
  offline: boolean;
  bytes: Uint8Array;
}

/**
 * The label part of each subscription (client_id, inbox, queue_name, is_durable, is_offline,
 * durable_name), kept from one snapshot to the next by inbox. Unlike this exporter's own series,
 * every subscription's labels differ here (the inbox is in them), so building them afresh for
 * 50,000 subscriptions made garbage on every scrape; inboxes stay the same while clients stay
 * connected. A part not used by the last snapshot is dropped with the one before it. One table
 * serves every exporter in the process: a part is used only when the values it was made of match.
 */
class SubscriptionLabelParts {
  #current = new Map<string, SubscriptionLabelPart>();
  #previous = new Map<string, SubscriptionLabelPart>();

  get(sub: Subscription): Uint8Array {
    let part = this.#current.get(sub.inbox) ?? this.#previous.get(sub.inbox);
    if (part === undefined || part.clientId !== sub.clientId || part.group !== sub.group || part.durable !== sub.durable || part.offline !== sub.offline) {
      const bytes = labelBytes(
        `,${labelText([
          ['client_id', sub.clientId],
          ['inbox', sub.inbox],
          ['queue_name', nssQueueName(sub)],
          ['is_durable', String(sub.durable !== '')],
          ['is_offline', String(sub.offline)],
          ['durable_name', sub.durable],
        ])}`,
      );
      part = { clientId: sub.clientId, group: sub.group, durable: sub.durable, offline: sub.offline, bytes };
    }
    this.#current.set(sub.inbox, part);
    return part.bytes;
  }

  /** After a snapshot's labels are built: what it did not use goes with the next one. */
  endSnapshot(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }
}

const subscriptionParts = new SubscriptionLabelParts();

/** The channels a node lists: the owner's (the logical server's), or a follower's own listing. */
function listedChannels(server: ServerSnapshot, node: NodeSnapshot): readonly Channel[] {
  return node.node === server.owner ? server.channels : (node.listedChannels ?? []);
}

function nssLabels(snapshot: Snapshot): NssLabels {
  let cached = labelCache.get(snapshot);
  if (cached) return cached;
  cached = { servers: labelled(), identities: labelled(), channels: labelled(), subscriptions: labelled() };
  const serverIds = nssServerIds(snapshot);
  for (const server of snapshot.servers)
    for (const node of server.nodes) {
      if (node.failure || !node.info) continue;
      const i = node.info;
      const serverId = serverIds.get(node)!;
      add(cached.servers, labelBytes(labelText([['server_id', serverId]])), NO_LABELS, i);
      add(
        cached.identities,
        labelBytes(
          labelText([
            ['server_id', serverId],
            ['cluster_id', i.clusterId],
            ['version', i.version],
            ['go_version', i.goVersion],
            ['state', i.state],
            ['role', i.role],
            ['start_time', i.startTime],
          ]),
        ),
        NO_LABELS,
        i,
      );
      const serverPart = labelText([
        ['server_id', serverId],
        ['server_role', i.role],
      ]);
      for (const c of listedChannels(server, node)) {
        const channelBytes = labelBytes(`${serverPart},${labelText([['channel', c.name]])}`);
        add(cached.channels, channelBytes, NO_LABELS, c);
        for (const sub of c.subscriptions) add(cached.subscriptions, channelBytes, subscriptionParts.get(sub), sub);
      }
    }
  subscriptionParts.endSnapshot();
  labelCache.set(snapshot, cached);
  return cached;
}

/**
 * Writes the nss_* families of every node that answered, as v0.16.0 did for each URL it was
 * given: server_id is the node's URL, so nodes of one logical server stay apart as they were.
 */
export async function writeNssFamilies(snapshot: Snapshot, out: ExpositionWriter): Promise<void> {
  const labels = nssLabels(snapshot);
  await writeRows(out, SERVER_ROWS, labels.servers);
  await writeRows(out, INFO_ROWS, labels.identities);
  await writeRows(out, CHANNEL_ROWS, labels.channels);
  await writeRows(out, SUBSCRIPTION_ROWS, labels.subscriptions);
}
