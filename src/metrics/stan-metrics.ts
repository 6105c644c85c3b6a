import type { Channel, Consumer, ServerInfo, ServerSnapshot, Snapshot, StoreLimits, Subscription } from '../model/types.js';
import { type ExpositionFormat, FamilyWriter, type MetricType, labelText } from './exposition.js';

/**
 * The only place that maps the model onto metric names. Each table row is one family: its
 * name, type, help and how to read its value from a model object.
 */
type Row<T> = readonly [name: string, type: MetricType, help: string, value: (item: T) => number | undefined];

const SERVER_ROWS: ReadonlyArray<Row<ServerInfo>> = [
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

const CHANNEL_ROWS: ReadonlyArray<Row<Channel>> = [
  ['stan_channel_messages', 'gauge', 'Messages the channel holds now (not a count of publishes: use stan_channel_last_sequence for rates).', (c) => c.messages],
  ['stan_channel_bytes', 'gauge', 'Bytes the channel holds now.', (c) => c.bytes],
  ['stan_channel_first_sequence', 'gauge', 'Sequence of the oldest message still held.', (c) => c.firstSeq],
  ['stan_channel_last_sequence', 'gauge', 'Sequence of the newest message; its rate is the publish rate.', (c) => c.lastSeq],
  ['stan_channel_subscriptions', 'gauge', 'Subscriptions on the channel, offline durables included.', (c) => c.subscriptionCount],
];

const CONSUMER_ROWS: ReadonlyArray<Row<Consumer>> = [
  ['queue_msgs_pending', 'gauge', 'Messages this queue group or durable has not finished: undelivered + unacked.', (q) => q.pending],
  ['queue_msgs_undelivered', 'gauge', 'Messages published and not yet sent to any member: max(0, last_seq - max(cursor, first_seq - 1)).', (q) => q.undelivered],
  ['queue_msgs_unacked', 'gauge', 'Messages sent to members and not yet acked (sum of pending_count).', (q) => q.unacked],
  ['queue_last_sent_sequence', 'gauge', 'The consumer cursor: highest sequence sent to any member; its rate is the delivery rate.', (q) => q.lastSent],
  ['queue_consumers', 'gauge', 'Members online.', (q) => q.members],
  ['queue_consumers_stalled', 'gauge', 'Online members whose in-flight window is full.', (q) => q.stalledMembers],
  ['queue_max_inflight', 'gauge', 'Sum of the online members\' max in-flight.', (q) => q.maxInflight],
  ['queue_offline', 'gauge', '1 when a durable consumer has no member online (its backlog still counts).', (q) => (q.offline ? 1 : 0)],
];

const SUBSCRIPTION_ROWS: ReadonlyArray<Row<Subscription>> = [
  ['stan_subscription_unacked_messages', 'gauge', 'Messages sent to this subscription and not yet acked.', (s) => s.unacked],
  ['stan_subscription_last_sent_sequence', 'gauge', 'Highest sequence sent to this subscription.', (s) => s.lastSent],
  ['stan_subscription_max_inflight', 'gauge', 'Most unacked messages the server sends this subscription.', (s) => s.maxInflight],
  ['stan_subscription_ack_wait_seconds', 'gauge', 'Seconds the server waits for an ack before redelivering.', (s) => s.ackWaitSeconds],
  ['stan_subscription_stalled', 'gauge', '1 when the subscription\'s in-flight window is full.', (s) => (s.stalled ? 1 : 0)],
  ['stan_subscription_offline', 'gauge', '1 for a durable whose client is gone.', (s) => (s.offline ? 1 : 0)],
];

function writers<T>(rows: ReadonlyArray<Row<T>>): Array<[FamilyWriter, Row<T>[3]]> {
  return rows.map(([name, type, help, value]) => [new FamilyWriter({ name, type, help }), value]);
}

function addAll<T>(families: Array<[FamilyWriter, Row<T>[3]]>, labels: string, item: T): void {
  for (const [writer, value] of families) {
    const v = value(item);
    if (v !== undefined) writer.add(labels, v);
  }
}

export interface RenderOptions {
  subscriptionMetrics: boolean;
}

/** Renders the NATS Streaming families of a snapshot, one string per family. */
export function renderStanFamilies(snapshot: Snapshot, format: ExpositionFormat, opts: RenderOptions): string[] {
  const up = new FamilyWriter({ name: 'stan_up', type: 'gauge', help: '1 when the last scrape of this server fully succeeded.' });
  const duration = new FamilyWriter({
    name: 'nats_queue_exporter_scrape_duration_seconds',
    type: 'gauge',
    help: 'How long this server\'s part of the last scrape took.',
  });
  const info = new FamilyWriter({ name: 'stan_server_info', type: 'gauge', help: 'Identity and state of the server; always 1.' });
  const server = writers(SERVER_ROWS);
  const limits = writers(LIMIT_ROWS);
  const channel = writers(CHANNEL_ROWS);
  const consumer = writers(CONSUMER_ROWS);
  const subscription = opts.subscriptionMetrics ? writers(SUBSCRIPTION_ROWS) : [];

  for (const s of snapshot.servers) {
    renderServer(s);
  }

  function renderServer(s: ServerSnapshot): void {
    const serverLabel = labelText([['server', s.name]]);
    up.add(serverLabel, s.failure ? 0 : 1);
    duration.add(serverLabel, s.durationSeconds);
    if (s.failure || !s.info || !s.limits) return;
    const i = s.info;
    info.add(labelText([['server', s.name], ['cluster_id', i.clusterId], ['server_id', i.serverId], ['version', i.version], ['state', i.state], ['role', i.role]]), 1);
    addAll(server, serverLabel, i);
    addAll(limits, serverLabel, s.limits);
    for (const c of s.channels) {
      const channelLabels = `${serverLabel},${labelText([['subject', c.name]])}`;
      addAll(channel, channelLabels, c);
      for (const q of c.consumers) {
        addAll(consumer, `${channelLabels},${labelText([['group', q.group], ['durable', q.durable]])}`, q);
      }
      if (subscription.length === 0) continue;
      for (const sub of c.subscriptions) {
        const labels = `${channelLabels},${labelText([['group', sub.group], ['durable', sub.durable], ['client_id', sub.clientId], ['sub_index', String(sub.index)]])}`;
        addAll(subscription, labels, sub);
      }
    }
  }

  const all = [up, duration, info, ...server.map(([w]) => w), ...limits.map(([w]) => w), ...channel.map(([w]) => w),
    ...consumer.map(([w]) => w), ...subscription.map(([w]) => w)];
  return all.map((w) => w.render(format)).filter((text) => text !== '');
}
