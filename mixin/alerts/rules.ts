import { MONITORING } from './config.js';
import { INHIBIT_RULES } from './inhibit.js';
import { CHANNEL, QUEUE, SERVER, compare, now, over, seenAgo, sel, thresholdRecords } from './promql.js';

export interface AlertSpec {
  alert: string;
  /** Why the expression is built as it is, for the rules file's comment; only where it is not obvious. */
  why?: string;
  expr: string;
  for: string;
  severity: 'critical' | 'warning';
  summary: string;
  description: string;
  /** Which dashboard the alert links, with the alert's labels as its variables. */
  dashboard: 'queue' | 'channel' | 'server' | 'none';
}

const ID = MONITORING.identity;
const where = ID.map((l) => `{{ with $labels.${l} }} (${l} {{ . }}){{ end }}`).join('');
const consumer =
  '{{ if $labels.group }}queue group "{{ $labels.group }}"{{ if $labels.durable }} (durable "{{ $labels.durable }}"){{ end }}{{ else }}durable "{{ $labels.durable }}"{{ end }}';
/** JetStream streams outside the default account carry it; NATS Streaming channels never do. */
const account = '{{ with $labels.account }}, account {{ . }}{{ end }}';
const onQueue = `On server {{ $labels.server }}${where}${account}, subject {{ $labels.subject }}, ${consumer}`;
const onServer = `server {{ $labels.server }}${where}`;
const value = '{{ $value | humanize }}';

const on = (by: string): string => `on (${by})`;

/**
 * "at least " when the alert's queue has queue_oldest_undelivered_age_lower_bound 1: the
 * message is older than anything the exporter has seen, and the age is only a lower bound.
 */
const atLeast = `{{ with printf \`max(${sel('queue_oldest_undelivered_age_lower_bound', ...[...ID, 'server', 'account', 'subject', 'group', 'durable'].map((l) => `${l}=%q`))}) == 1\` ${[...ID, 'server', 'account', 'subject', 'group', 'durable'].map((l) => `$labels.${l}`).join(' ')} | query }}at least {{ end }}`;

/** A channel near the store's per-channel limit of messages or bytes. */
function nearLimit(kind: 'Message' | 'Byte', unit: 'messages' | 'bytes'): AlertSpec {
  const channel = `stan_channel_${unit}`;
  return {
    alert: `NatsStreamingChannelNear${kind}Limit`,
    expr: compare(
      `${now(channel, CHANNEL)}\n  / ${on(SERVER)} group_left ()\n(${now(`stan_store_limit_${unit}`, SERVER)} > 0)`,
      '>',
      'store_usage_ratio',
      channel,
    ),
    for: '15m',
    severity: 'warning',
    summary: `A channel holds nearly as many ${unit} as its store limit allows.`,
    description: `Channel {{ $labels.subject }} at ${onServer}${account} holds {{ $value | humanizePercentage }} of the store's per-channel ${kind.toLowerCase()} limit: at the limit the oldest messages are dropped, delivered or not.`,
    dashboard: 'channel',
  };
}

export const ALERTS: readonly AlertSpec[] = [
  {
    alert: 'NatsQueueExporterDown',
    why: 'absent(): when no target of the jobs is discovered at all there is no up series to be 0.',
    expr: `${sel('up')} == 0\nor\nabsent(${sel('up')})`,
    for: '5m',
    severity: 'warning',
    summary: 'Prometheus scrapes no nats-queue-exporter, or cannot scrape one.',
    description: `{{ if $labels.instance }}Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}${where}, up {{ $value | humanize }}) for 5 minutes: the queues it exports are not watched.{{ else }}No target of a nats-queue-exporter job has been scraped for 5 minutes: none is discovered, and no queue is watched.{{ end }}`,
    dashboard: 'none',
  },
  {
    alert: 'NatsStreamingServerDown',
    expr: `max by (${SERVER}) (${sel('stan_up')}) == 0`,
    for: '2m',
    severity: 'critical',
    summary: 'No node of a NATS Streaming server can be read by any exporter.',
    description: `No exporter has read any node of ${onServer} for 2 minutes (stan_up ${value}): the server (every node of its FT pair or Raft cluster) is down or unreachable, and every queue on it is unwatched.`,
    dashboard: 'server',
  },
  {
    alert: 'NatsJetStreamServerDown',
    expr: `max by (${SERVER}) (${sel('jetstream_up')}) == 0`,
    for: '2m',
    severity: 'critical',
    summary: 'No node of a JetStream server can be read by any exporter.',
    description: `No exporter has read any node of JetStream ${onServer} for 2 minutes (jetstream_up ${value}): the nats-server (every node of its cluster) is down or its monitoring port unreachable, and every stream and consumer on it is unwatched.`,
    dashboard: 'server',
  },
  {
    alert: 'NatsStreamingServerWithoutOwner',
    why: "The owner is the node whose queue figures are exported: the FT active, the Raft leader, a standalone server. A JetStream server has its figures while any node answers (owner_up is then 1), so this stays NATS Streaming's.",
    expr: `max by (${SERVER}) (${sel('queue_server_nodes_up')}) > 0\nand ${on(SERVER)}\nmax by (${SERVER}) (${sel('queue_server_owner_up')}) == 0`,
    for: '2m',
    severity: 'critical',
    summary: 'A NATS Streaming server has nodes up but none owns the queues.',
    description: `${value} node(s) of ${onServer} answer, but for 2 minutes none has been the FT active or the Raft leader: clients cannot publish or receive, and no queue figures are read.`,
    dashboard: 'server',
  },
  {
    alert: 'NatsStreamingOwnerConflict',
    why: 'Two nodes claim the queues (two FT actives after a partition, two Raft leaders, two JetStream meta leaders): the exporter reads the first claimer in configured order; for a moment during an election this is normal.',
    expr: `max by (${SERVER}) (${sel('queue_server_owner_conflict')}) == 1`,
    for: '2m',
    severity: 'critical',
    summary: 'Two nodes of a server both claim to lead it.',
    description: `More than one node of ${onServer} has claimed to be the FT active, the Raft leader or the JetStream meta leader for 2 minutes (queue_server_owner_conflict ${value}): NATS Streaming clients may write to both, and its queue figures come from the first of them in the exporter's configured order only; a JetStream cluster is split.`,
    dashboard: 'server',
  },
  {
    alert: 'NatsStreamingRedundancyLost',
    expr: `max by (${SERVER}) (${sel('queue_server_nodes')}) - max by (${SERVER}) (${sel('queue_server_nodes_up')}) > 0\nand ${on(SERVER)}\nmax by (${SERVER}) (${sel('queue_server_nodes_up')}) > 0`,
    for: '5m',
    severity: 'warning',
    summary: 'An FT pair, a Raft cluster or a JetStream cluster has lost a node.',
    description: `${value} node(s) of ${onServer} have not answered any exporter for 5 minutes while others do: the server still works, but one more failure stops it (a JetStream cluster: its R3 streams at their majority).`,
    dashboard: 'server',
  },
  {
    alert: 'NatsStreamingServerVanished',
    why: "A server (NATS Streaming or JetStream) that was exported in the last day and has no stan_up or jetstream_up now: dropped from the exporters' flags or from discovery.",
    expr: `(\n  group by (${SERVER}) (max_over_time(${sel('stan_up')}[1d]))\n  or\n  group by (${SERVER}) (max_over_time(${sel('jetstream_up')}[1d]))\n)\nunless ${on(SERVER)}\n(\n  group by (${SERVER}) (${sel('stan_up')})\n  or\n  group by (${SERVER}) (${sel('jetstream_up')})\n)`,
    for: '5m',
    severity: 'warning',
    summary: 'A server that was watched is no longer exported.',
    description: `No exporter has exported ${onServer} for 5 minutes, though one did in the last day (value ${value}): its queues are not watched.`,
    dashboard: 'server',
  },
  {
    alert: 'NatsQueueStuck',
    why: 'The offset guard: a queue first seen less than 10 minutes ago has no history to be unchanged over.',
    expr: `${now('queue_msgs_undelivered', QUEUE)} > 0\nand ${on(QUEUE)}\n${over('changes', 'queue_last_sent_sequence', '10m', QUEUE)} == 0\nand ${on(QUEUE)}\n${seenAgo('queue_last_sent_sequence', '10m', QUEUE)}\nunless ${on(QUEUE)}\n${now('queue_offline', QUEUE)} == 1`,
    for: '5m',
    severity: 'critical',
    summary: 'A queue has messages waiting and nothing has been delivered for 15 minutes.',
    description: `${onQueue} has ${value} messages waiting and its cursor has not moved for 15 minutes although members are online.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueHandlersHung',
    why: 'Unacked held and unchanged, cursor unchanged: nothing acked, nothing delivered. Offline durables keep their unacked count and are left to NatsQueueDurableOffline.',
    expr: `${now('queue_msgs_unacked', QUEUE)} > 0\nand ${on(QUEUE)}\n${over('changes', 'queue_msgs_unacked', '15m', QUEUE)} == 0\nand ${on(QUEUE)}\n${over('changes', 'queue_last_sent_sequence', '15m', QUEUE)} == 0\nand ${on(QUEUE)}\n${seenAgo('queue_msgs_unacked', '15m', QUEUE)}\nunless ${on(QUEUE)}\n${now('queue_offline', QUEUE)} == 1`,
    for: '15m',
    severity: 'warning',
    summary: 'Members of a queue have held unacked messages for 30 minutes without acking or receiving any.',
    description: `${onQueue}: its members have held ${value} unacked messages for 30 minutes, acked none of them and received nothing new: their handlers hang.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueBacklogGrowing',
    expr: `${compare(now('queue_msgs_pending', QUEUE), '>', 'backlog_growing_messages', 'queue_msgs_pending')}\nand ${on(QUEUE)}\n${over('deriv', 'queue_msgs_pending', '10m', QUEUE)} > 0\nand ${on(QUEUE)}\n${seenAgo('queue_msgs_pending', '10m', QUEUE)}\nand ${on(QUEUE)}\n${now('queue_consumers', QUEUE)} > 0`,
    for: '10m',
    severity: 'warning',
    summary: "A queue's backlog keeps growing although it has consumers.",
    description: `${onQueue} has ${value} messages pending and the number has grown for 20 minutes while members were online: they consume slower than publishers publish.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueConsumerStalled',
    why: 'Every online member at its in-flight limit at every evaluation for 10 minutes; members taking turns at the limit keep the group working.',
    expr: `(${now('queue_consumers_stalled', QUEUE)} >= ${on(QUEUE)} ${now('queue_consumers', QUEUE)}) > 0`,
    for: '10m',
    severity: 'warning',
    summary: 'Every member of a queue has been at its in-flight limit for 10 minutes.',
    description: `${onQueue}: all ${value} online member(s) have held max-in-flight unacked messages for 10 minutes: the server sends them nothing more until they ack.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueDurableOffline',
    expr: `${compare(now('queue_msgs_pending', QUEUE), '>=', 'offline_backlog_messages', 'queue_msgs_pending')}\nand ${on(QUEUE)}\n${now('queue_offline', QUEUE)} == 1`,
    for: '15m',
    severity: 'warning',
    summary: 'A durable consumer with a backlog has had no member online for 15 minutes.',
    description: `${onQueue} has had no member online for 15 minutes and ${value} messages wait for it.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueMessagesLost',
    why: "queue_msgs_evicted: the consumer's cursor is below the channel's first sequence minus one, so messages were evicted by the store limits before it got them.",
    expr: `${now('queue_msgs_evicted', QUEUE)} > 0`,
    for: '1m',
    severity: 'critical',
    summary: 'Messages were evicted by the store limits before a consumer got them.',
    description: `${onQueue} has lost ${value} messages: the store's limits evicted them from the channel before they were delivered to it.`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueVanished',
    why: 'Only while the server is read (NATS Streaming: it has an owner; JetStream: a node answers): a server that is down or between owners has no queue series at all, and its own alert says so.',
    expr: `max by (${QUEUE}) (last_over_time(${sel('queue_msgs_pending')}[1h])) > 0\nunless ${on(QUEUE)}\nmax by (${QUEUE}) (${sel('queue_msgs_pending')})\nand ${on(SERVER)}\n(\n  max by (${SERVER}) (${sel('queue_server_owner_up')}) == 1\n  or\n  max by (${SERVER}) (${sel('jetstream_up')}) == 1\n)`,
    for: '5m',
    severity: 'warning',
    summary: 'A queue with a backlog is no longer exported although its server is.',
    description: `${onQueue} had ${value} messages pending when it vanished from the exporters within the last hour, and has not come back for 5 minutes while its server is read: its members left and a non-durable group was dropped with its backlog, or its pods went away in --subjects auto mode.`,
    dashboard: 'queue',
  },
  nearLimit('Message', 'messages'),
  nearLimit('Byte', 'bytes'),
  {
    alert: 'NatsQueueOldestMessageTooOld',
    why: 'The age is a duration already, so a short for only rides out a scrape. A lower bound (the message is older than the exporter\'s history, no --nats-url) only grows: it never fires early, and the description says "at least".',
    expr: compare(now('queue_oldest_undelivered_age_seconds', QUEUE), '>', 'oldest_undelivered_age_seconds', 'queue_oldest_undelivered_age_seconds'),
    for: '2m',
    severity: 'warning',
    summary: 'The oldest message waiting in a queue has waited longer than the queue promises.',
    description: `${onQueue}: its oldest undelivered message has waited ${atLeast}${'{{ $value | humanizeDuration }}'}, more than the threshold (oldest_undelivered_age_seconds).`,
    dashboard: 'queue',
  },
  {
    alert: 'NatsQueueClientPendingHigh',
    why: 'Each pod reports its own workers: the copies of one pod (two replicas) are reduced with max, the pods are summed.',
    expr: compare(
      `sum by (${QUEUE}) (max by (${QUEUE}, instance) (${sel('queue_client_msgs_pending')}))`,
      '>',
      'client_pending_messages',
      'queue_client_msgs_pending',
    ),
    for: '10m',
    severity: 'warning',
    summary: 'Workers hold many received messages they have not finished.',
    description: `${onQueue}: its workers have held ${value} received, unfinished messages for 10 minutes (client-side Pending()).`,
    dashboard: 'queue',
  },
];

export interface RenderedRule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  comment?: string;
}

const anchor = (alert: string): string => `${MONITORING.runbook}#${alert.toLowerCase()}`;

function dashboardUrl(spec: AlertSpec): string | undefined {
  if (spec.dashboard === 'none') return undefined;
  const labels =
    spec.dashboard === 'queue'
      ? [...ID, 'server', 'account', 'subject', 'group', 'durable']
      : spec.dashboard === 'channel'
        ? [...ID, 'server', 'account', 'subject']
        : [...ID, 'server'];
  const uid = spec.dashboard === 'queue' ? 'nats-queue-detail' : 'nats-queue-overview';
  return `${MONITORING.grafana}/d/${uid}?${labels.map((l) => `var-${l}={{ $labels.${l} | urlquery }}`).join('&')}`;
}

/**
 * How long an alert that mutes others (the source of an inhibit rule) keeps firing after its
 * condition ends. When a cause goes away, its source and targets often resolve in the same
 * evaluation (an exporter target gone, a channel deleted), but Prometheus posts each rule's alerts
 * to Alertmanager on its own: a source resolved a moment before its targets would unmute them, and
 * a flush in between sends them as firing. Two evaluations at the usual 1m interval.
 */
export const INHIBIT_SOURCE_KEEP_FIRING_FOR = '2m';

/** The alert names that some inhibit rule mutes others with. */
function inhibitSources(): Set<string> {
  const sources = new Set<string>();
  for (const rule of INHIBIT_RULES) {
    for (const m of rule.source_matchers) {
      const names = /^alertname=~?"([^"]+)"$/.exec(m)?.[1];
      if (names) for (const n of names.split('|')) sources.add(n);
    }
  }
  return sources;
}

export function renderRules(): RenderedRule[] {
  const sources = inhibitSources();
  const thresholds: RenderedRule[] = thresholdRecords();
  const alerts: RenderedRule[] = ALERTS.map((a) => {
    const url = dashboardUrl(a);
    return {
      alert: a.alert,
      expr: a.expr,
      for: a.for,
      ...(sources.has(a.alert) ? { keep_firing_for: INHIBIT_SOURCE_KEEP_FIRING_FOR } : {}),
      labels: { severity: a.severity },
      annotations: { summary: a.summary, description: a.description, runbook_url: anchor(a.alert), ...(url ? { dashboard_url: url } : {}) },
      ...(a.why ? { comment: a.why } : {}),
    };
  });
  return [...thresholds, ...alerts];
}
