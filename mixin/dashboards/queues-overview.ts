import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MONITORING } from '../alerts/config.js';
import { Layout, exporterDashboard, flag, instantTable, singleStat, timeSeries } from './panels.js';
import {
  CHANNEL,
  QUEUE,
  QUEUE_LEGEND,
  SERVER,
  clientSum,
  perQueue,
  perServer,
  publishRate,
  selector,
  sequenceRate,
  storeUsage,
  timeToDrain,
  top,
} from './queries.js';

/**
 * The detail dashboard for the row's queue, with the row's labels as its variables. The account is
 * left on All: a NATS Streaming or default-account row has no account field to fill it with.
 */
const QUEUE_LINK = `/d/nats-queue-detail?${['job', ...MONITORING.identity].map((v) => `\${${v}:queryparam}`).join('&')}&${['server', 'subject', 'group', 'durable'].map((l) => `var-${l}=\${__data.fields.${l}}`).join('&')}&\${__url_time_range}`;

/** Queues overview: every server and queue group at a glance, never more than about 20 lines a panel. */
export function queuesOverview(): dashboard.DashboardBuilder {
  const layout = new Layout();
  const d = exporterDashboard({
    uid: 'nats-queue-overview',
    title: 'NATS Streaming queues overview',
    description:
      'Servers and their nodes, the biggest backlogs, publish against delivery, stalled, offline and losing consumers, store limits and client-side pending.',
    multi: true,
    subjects: '{__name__=~"stan_channel_last_sequence|jetstream_stream_last_sequence"}',
  });

  d.withRow(layout.row(1, 'Servers'));
  d.withPanel(
    layout.place(
      singleStat({
        id: 2,
        title: 'Servers up',
        answers:
          'Can an exporter read any node of each server (an FT pair, a Raft or JetStream cluster is one server)? DOWN means no node answers and its queues are not watched.',
        queries: [{ expr: `${perServer('stan_up')}\nor\n${perServer('jetstream_up')}`, legend: '{{server}}' }],
        mappings: flag('DOWN', 'UP', 'red', 'green'),
        thresholds: [
          [null, 'red'],
          [1, 'green'],
        ],
      }),
      6,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 3,
        title: 'Queue owner',
        answers:
          'Is one node of each NATS Streaming server the owner (FT active, Raft leader, standalone) whose queue figures are read? NO OWNER: no queue series, and NatsStreamingServerWithoutOwner pages after 2 minutes. (JetStream has a leader per consumer, not one owner.)',
        queries: [{ expr: perServer('queue_server_owner_up'), legend: '{{server}}' }],
        mappings: flag('NO OWNER', 'OWNER UP', 'red', 'green'),
        thresholds: [
          [null, 'red'],
          [1, 'green'],
        ],
      }),
      6,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      instantTable({
        id: 4,
        title: 'Nodes',
        answers:
          'Each node of each server: whether an exporter reads it and, for NATS Streaming, its state (FT_ACTIVE, FT_STANDBY, CLUSTERED...), its Raft role and its version.',
        queries: [
          {
            expr: `max by (${SERVER}, node) (${selector('stan_up', 'server')})\nor\nmax by (${SERVER}, node) (${selector('jetstream_up', 'server')})`,
            legend: 'up',
          },
          { expr: `max by (${SERVER}, node, state, role, version) (${selector('stan_server_info', 'server')})`, legend: 'info' },
        ],
        merge: true,
        columns: { up: { mappings: flag('DOWN', 'UP', 'red', 'green') } },
      }),
      12,
      5,
    ),
  );

  d.withRow(layout.row(5, 'Queues'));
  d.withPanel(
    layout.place(
      instantTable({
        id: 6,
        title: 'Top queue groups by backlog',
        answers:
          'Which consumers have the most messages not finished (undelivered + unacked), now, and when each will have none at the rate its backlog shrinks (empty while it holds or grows); a row opens the queue dashboard.',
        queries: [
          { expr: `topk(10, ${perQueue('queue_msgs_pending')})`, legend: 'pending' },
          { expr: `${timeToDrain()}\nand on (${QUEUE})\ntopk(10, ${perQueue('queue_msgs_pending')})`, legend: 'time to drain' },
        ],
        merge: true,
        columns: { 'time to drain': { unit: 's' } },
        link: { title: 'Queue dashboard', url: QUEUE_LINK },
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 7,
        title: 'Undelivered versus unacked',
        answers: 'Is the backlog waiting at the server (undelivered: consumers too slow or stalled) or inside the consumers (unacked: being worked on)?',
        queries: [
          { expr: `sum(${perQueue('queue_msgs_undelivered')})`, legend: 'undelivered' },
          { expr: `sum(${perQueue('queue_msgs_unacked')})`, legend: 'unacked' },
        ],
        stacked: true,
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 8,
        title: 'Publish rate versus delivery rate',
        answers:
          'Do consumers keep up? Publish rate of the 10 busiest channels and JetStream streams (rate of their last sequence) against delivery rate of the 10 busiest consumers (rate of their cursor), busiest at the end of the range.',
        queries: [
          { expr: top(10, publishRate, CHANNEL), legend: 'published {{server}} {{account}} {{subject}}' },
          { expr: top(10, (at) => sequenceRate('queue_last_sent_sequence', at), QUEUE), legend: `delivered ${QUEUE_LEGEND}` },
        ],
        unit: 'ops',
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 9,
        title: 'Stalled members',
        answers:
          'Which consumers have members whose in-flight window is full, so the server sends them nothing until they ack? The 10 with most, at the end of the range.',
        queries: [{ expr: top(10, (at) => `${perQueue('queue_consumers_stalled', at)} > 0`, QUEUE), legend: QUEUE_LEGEND }],
        unit: 'none',
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      instantTable({
        id: 10,
        title: 'Offline durables',
        answers: 'Which durable consumers have no member online, and how many messages wait for them (the 10 with most).',
        queries: [{ expr: `topk(10, ${perQueue('queue_msgs_pending')}\nand on (${QUEUE})\n${perQueue('queue_offline')} == 1)` }],
        link: { title: 'Queue dashboard', url: QUEUE_LINK },
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      instantTable({
        id: 11,
        title: 'Messages lost to store limits',
        answers:
          'Which consumers lost messages that the store limits evicted before they were delivered to them (queue_msgs_evicted; NatsQueueMessagesLost pages).',
        queries: [{ expr: `topk(10, ${perQueue('queue_msgs_evicted')} > 0)` }],
        thresholds: [[null, 'red']],
        link: { title: 'Queue dashboard', url: QUEUE_LINK },
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 12,
        title: 'Store usage against limits',
        answers:
          "How close the 10 fullest channels are to the store's per-channel message and byte limits; at the limit the oldest messages are dropped. The dashed line is where NatsStreamingChannelNear*Limit warns.",
        queries: [
          { expr: top(10, (at) => storeUsage('stan_channel_messages', 'stan_store_limit_messages', at), CHANNEL), legend: 'messages {{server}} {{subject}}' },
          { expr: top(10, (at) => storeUsage('stan_channel_bytes', 'stan_store_limit_bytes', at), CHANNEL), legend: 'bytes {{server}} {{subject}}' },
        ],
        unit: 'percentunit',
        thresholds: [
          [null, 'green'],
          [MONITORING.thresholds.store_usage_ratio.default, 'orange'],
        ],
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 13,
        title: 'Client-side pending',
        answers:
          'How many received messages sit inside the workers, not yet finished (their Pending(), reported to the sidecars): the 10 queues with most. The dashed line is where NatsQueueClientPendingHigh warns.',
        queries: [{ expr: top(10, (at) => clientSum('queue_client_msgs_pending', at), QUEUE), legend: QUEUE_LEGEND }],
        thresholds: [
          [null, 'green'],
          [MONITORING.thresholds.client_pending_messages.default, 'orange'],
        ],
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 14,
        title: 'Oldest waiting messages',
        answers:
          'How long the oldest undelivered message of each queue has waited (queue_oldest_undelivered_age_seconds): the 10 queues with the oldest at the end of the range. The dashed line is where NatsQueueOldestMessageTooOld warns.',
        queries: [{ expr: top(10, (at) => perQueue('queue_oldest_undelivered_age_seconds', at), QUEUE), legend: QUEUE_LEGEND }],
        unit: 's',
        thresholds: [
          [null, 'green'],
          [MONITORING.thresholds.oldest_undelivered_age_seconds.default, 'orange'],
        ],
      }),
      12,
      8,
    ),
  );
  return d;
}
