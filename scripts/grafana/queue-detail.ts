import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { Layout, datasourceVariable, instantTable, labelVariable, singleStat, timeSeries } from './panels.js';
import { QUEUE, clientSum, perQueue, selector, sequenceRate } from './queries.js';

/** One queue: a subject and queue group over time, its members, and when it will be drained. */
export function queueDetail(): dashboard.DashboardBuilder {
  const layout = new Layout();
  const member = (metric: string): string => `max by (client_id, sub_index, durable) (${selector(metric, 'queue')})`;
  const d = new dashboard.DashboardBuilder('NATS Streaming queue')
    .uid('nats-queue-detail')
    .tags(['nats', 'nats-streaming', 'nats-queue-exporter'])
    .description('One subject and queue group: backlog over time, publish against delivery, members, and time to drain.')
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .withVariable(datasourceVariable())
    .withVariable(labelVariable({ name: 'server', label: 'Server', query: 'label_values(queue_msgs_pending, server)', multi: false }))
    .withVariable(labelVariable({ name: 'subject', label: 'Subject', query: 'label_values(queue_msgs_pending{server=~"$server"}, subject)', multi: false }))
    .withVariable(labelVariable({ name: 'group', label: 'Queue group', query: 'label_values(queue_msgs_pending{server=~"$server", subject=~"$subject"}, group)', multi: false }));

  d.withPanel(layout.place(singleStat({
    title: 'Pending',
    answers: 'Messages this consumer has not finished: undelivered + unacked.',
    queries: [{ expr: perQueue('queue_msgs_pending'), legend: '{{group}} {{durable}}' }],
    thresholds: [[null, 'green'], [1000, 'orange']],
  }), 6, 5));
  d.withPanel(layout.place(singleStat({
    title: 'Members online',
    answers: 'Members of the group the server sees online; 0 for a durable means it is offline.',
    queries: [{ expr: perQueue('queue_consumers'), legend: '{{group}} {{durable}}' }],
    thresholds: [[null, 'red'], [1, 'green']],
  }), 6, 5));
  d.withPanel(layout.place(singleStat({
    title: 'Stalled members',
    answers: 'Members whose in-flight window is full: the server sends them nothing until they ack.',
    queries: [{ expr: perQueue('queue_consumers_stalled'), legend: '{{group}} {{durable}}' }],
    thresholds: [[null, 'green'], [1, 'orange']],
  }), 6, 5));
  d.withPanel(layout.place(singleStat({
    title: 'Time to drain',
    answers: 'At the rate the backlog shrinks now, when it reaches zero. Empty while the backlog is steady or growing.',
    queries: [{
      expr: `${perQueue('queue_msgs_pending')}\n  /\n-(max by (${QUEUE}) (deriv(${selector('queue_msgs_pending', 'queue')}[$__rate_interval])) < 0)`,
      legend: '{{group}} {{durable}}',
    }],
    unit: 's',
    noValue: 'not draining',
  }), 6, 5));

  d.withPanel(layout.place(timeSeries({
    title: 'Pending, undelivered and unacked',
    answers: 'How the backlog moved: undelivered waits at the server, unacked is inside the members.',
    queries: [
      { expr: perQueue('queue_msgs_undelivered'), legend: 'undelivered {{group}} {{durable}}' },
      { expr: perQueue('queue_msgs_unacked'), legend: 'unacked {{group}} {{durable}}' },
    ],
    stacked: true,
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Publish rate versus delivery rate',
    answers: 'Messages published to the subject per second against messages sent to this group per second.',
    queries: [
      { expr: sequenceRate('stan_channel_last_sequence'), legend: 'published' },
      { expr: sequenceRate('queue_last_sent_sequence'), legend: 'delivered {{group}} {{durable}}' },
    ],
    unit: 'ops',
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Members and in-flight capacity',
    answers: 'Members online, members stalled, and how many unacked messages the members may hold together (sum of max in-flight).',
    queries: [
      { expr: perQueue('queue_consumers'), legend: 'members {{group}} {{durable}}' },
      { expr: perQueue('queue_consumers_stalled'), legend: 'stalled {{group}} {{durable}}' },
      { expr: perQueue('queue_max_inflight'), legend: 'max in-flight {{group}} {{durable}}' },
      { expr: perQueue('queue_msgs_unacked'), legend: 'unacked {{group}} {{durable}}' },
    ],
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Unacked per member',
    answers: 'Which member holds the unacked messages (needs the per-subscription series, on by default).',
    queries: [{ expr: member('stan_subscription_unacked_messages'), legend: '{{client_id}} #{{sub_index}}' }],
  }), 12, 8));
  d.withPanel(layout.place(instantTable({
    title: 'Members',
    answers: 'Each member now: unacked messages, its max in-flight, whether it is stalled, and the last sequence sent to it.',
    queries: [
      { expr: member('stan_subscription_unacked_messages'), legend: 'unacked' },
      { expr: member('stan_subscription_max_inflight'), legend: 'max in-flight' },
      { expr: member('stan_subscription_stalled'), legend: 'stalled' },
      { expr: member('stan_subscription_last_sent_sequence'), legend: 'last sent' },
    ],
    merge: true,
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Client-side pending',
    answers: 'Received messages the workers of this group have not finished, and how many workers report them.',
    queries: [
      { expr: clientSum('queue_client_msgs_pending'), legend: 'pending {{group}} {{durable}}' },
      { expr: clientSum('queue_client_reports'), legend: 'reporting clients {{group}} {{durable}}' },
    ],
  }), 12, 8));
  return d;
}
