import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { Layout, datasourceVariable, instantTable, labelVariable, singleStat, timeSeries } from './panels.js';
import { QUEUE, QUEUE_LEGEND, clientSum, perQueue, selector, sequenceRate, storeUsage } from './queries.js';

/** Queues overview: every server and queue group at a glance. */
export function queuesOverview(): dashboard.DashboardBuilder {
  const layout = new Layout();
  const d = new dashboard.DashboardBuilder('NATS Streaming queues overview')
    .uid('nats-queue-overview')
    .tags(['nats', 'nats-streaming', 'nats-queue-exporter'])
    .description('Servers, the biggest backlogs, publish against delivery, stalled and offline consumers, store limits and client-side pending.')
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .withVariable(datasourceVariable())
    .withVariable(labelVariable({ name: 'server', label: 'Server', query: 'label_values(stan_up, server)', multi: true }))
    .withVariable(labelVariable({ name: 'subject', label: 'Subject', query: 'label_values(stan_channel_last_sequence{server=~"$server"}, subject)', multi: true }))
    .withVariable(labelVariable({ name: 'group', label: 'Queue group', query: 'label_values(queue_msgs_pending{server=~"$server", subject=~"$subject"}, group)', multi: true }));

  d.withRow(layout.row('Servers'));
  d.withPanel(layout.place(singleStat({
    title: 'Servers up',
    answers: 'Can the exporter read each server\'s monitoring port? DOWN means its queues are not watched (stan_up, best of all exporters).',
    queries: [{ expr: `max by (server) (${selector('stan_up', 'server')})`, legend: '{{server}}' }],
    mappings: [{ type: dashboard.MappingType.ValueToText, options: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } } }],
    thresholds: [[null, 'red'], [1, 'green']],
  }), 10, 5));
  d.withPanel(layout.place(instantTable({
    title: 'Server state, role and version',
    answers: 'Which server is the FT active or the Raft leader, and which version each runs.',
    queries: [{ expr: `max by (server, cluster_id, state, role, version) (${selector('stan_server_info', 'server')})` }],
  }), 14, 5));

  d.withRow(layout.row('Queues'));
  d.withPanel(layout.place(instantTable({
    title: 'Top queue groups by backlog',
    answers: 'Which consumers have the most messages not finished (undelivered + unacked), now.',
    queries: [{ expr: `topk(10, ${perQueue('queue_msgs_pending')})` }],
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Undelivered versus unacked',
    answers: 'Is the backlog waiting at the server (undelivered: consumers too slow or stalled) or inside the consumers (unacked: being worked on)?',
    queries: [
      { expr: `sum(${perQueue('queue_msgs_undelivered')})`, legend: 'undelivered' },
      { expr: `sum(${perQueue('queue_msgs_unacked')})`, legend: 'unacked' },
    ],
    stacked: true,
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Publish rate versus delivery rate',
    answers: 'Do consumers keep up? Publish rate per channel (rate of its last sequence) against delivery rate per consumer (rate of its cursor).',
    queries: [
      { expr: sequenceRate('stan_channel_last_sequence'), legend: 'published {{server}} {{subject}}' },
      { expr: sequenceRate('queue_last_sent_sequence'), legend: `delivered ${QUEUE_LEGEND}` },
    ],
    unit: 'ops',
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Stalled members',
    answers: 'Which consumers have members whose in-flight window is full, so the server sends them nothing until they ack?',
    queries: [{ expr: perQueue('queue_consumers_stalled'), legend: QUEUE_LEGEND }],
  }), 12, 8));
  d.withPanel(layout.place(instantTable({
    title: 'Offline durables',
    answers: 'Which durable consumers have no member online, and how many messages wait for them.',
    queries: [{ expr: `${perQueue('queue_msgs_pending')}\nand on (${QUEUE})\n${perQueue('queue_offline')} == 1` }],
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Store usage against limits',
    answers: 'How close each channel is to the store\'s per-channel message and byte limits (top 10); at the limit the oldest messages are dropped.',
    queries: [
      { expr: `topk(10, ${storeUsage('stan_channel_messages', 'stan_store_limit_messages')})`, legend: 'messages {{server}} {{subject}}' },
      { expr: `topk(10, ${storeUsage('stan_channel_bytes', 'stan_store_limit_bytes')})`, legend: 'bytes {{server}} {{subject}}' },
    ],
    unit: 'percentunit',
  }), 12, 8));
  d.withPanel(layout.place(timeSeries({
    title: 'Client-side pending',
    answers: 'How many received messages sit inside the workers, not yet finished (their Pending(), reported to the sidecars).',
    queries: [{ expr: clientSum('queue_client_msgs_pending'), legend: QUEUE_LEGEND }],
  }), 24, 8));
  return d;
}
