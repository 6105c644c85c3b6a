import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MONITORING } from '../alerts/config.js';
import { Layout, YES_NO, exporterDashboard, flag, instantTable, singleStat, timeSeries } from './panels.js';
import { MEMBER, clientSum, completionRate, perQueue, publishRate, selector, sequenceRate, timeToDrain } from './queries.js';

/** The member panels read stan_subscription_*, which a default /metrics leaves out (docs/metrics.md#series-audit). */
const DETAILED_NOTE =
  'Needs the per-subscription stan_subscription_* series: run the exporter with --detailed-metrics, or add a scrape job of its /metrics/detailed (NATS Streaming only; empty otherwise).';

/**
 * One queue: a subject and queue group (or a durable) over time, its members, and when it will be
 * drained. A plain durable subscription has no group: leave Queue group on All and pick it in Durable.
 */
export function queueDetail(): dashboard.DashboardBuilder {
  const layout = new Layout();
  const member = (metric: string): string => `max by (${MEMBER}) (${selector(metric, 'queue')})`;
  const d = exporterDashboard({
    uid: 'nats-queue-detail',
    title: 'NATS Streaming queue',
    description:
      'One subject and queue group or durable, of NATS Streaming or JetStream: backlog over time, publish against delivery, members, lost messages, time to drain and the oldest waiting message.',
    multi: false,
    subjects: 'queue_msgs_pending',
  });

  const t = MONITORING.thresholds;
  d.withPanel(
    layout.place(
      singleStat({
        id: 1,
        title: 'Pending',
        answers: `Messages this consumer has not finished: undelivered + unacked. Orange above ${t.backlog_growing_messages.default}, where NatsQueueBacklogGrowing starts to watch it.`,
        queries: [{ expr: perQueue('queue_msgs_pending'), legend: '{{group}} {{durable}}' }],
        thresholds: [
          [null, 'green'],
          [t.backlog_growing_messages.default + 1, 'orange'],
        ],
      }),
      4,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 2,
        title: 'Members online',
        answers: 'Members of the group the server sees online; 0 for a durable means it is offline (NatsQueueDurableOffline).',
        queries: [{ expr: perQueue('queue_consumers'), legend: '{{group}} {{durable}}' }],
        thresholds: [
          [null, 'red'],
          [1, 'green'],
        ],
      }),
      3,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 3,
        title: 'Stalled members',
        answers:
          'Members whose in-flight window is full: the server sends them nothing until they ack. When all are, for 10 minutes, NatsQueueConsumerStalled warns.',
        queries: [{ expr: perQueue('queue_consumers_stalled'), legend: '{{group}} {{durable}}' }],
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
      3,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 4,
        title: 'Messages lost',
        answers: 'Messages the store limits evicted before this consumer got them (queue_msgs_evicted): red from the first, as NatsQueueMessagesLost pages.',
        queries: [{ expr: perQueue('queue_msgs_evicted'), legend: '{{group}} {{durable}}' }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
      3,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 5,
        title: 'Time to drain',
        answers:
          'At the rate the backlog shrinks now (completion rate less arrival rate), when it reaches zero. "not draining" while the backlog is steady or growing. The same figure KEDA can scale on: docs/autoscaling.md.',
        queries: [{ expr: timeToDrain(), legend: '{{group}} {{durable}}' }],
        unit: 's',
        noValue: 'not draining',
      }),
      4,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 12,
        title: 'Oldest waiting message',
        answers: `How long the first message after the cursor has waited since it was published (queue_oldest_undelivered_age_seconds); 0 when nothing waits. Orange from ${t.oldest_undelivered_age_seconds.default} s, where NatsQueueOldestMessageTooOld warns.`,
        queries: [{ expr: perQueue('queue_oldest_undelivered_age_seconds'), legend: '{{group}} {{durable}}' }],
        unit: 's',
        thresholds: [
          [null, 'green'],
          [t.oldest_undelivered_age_seconds.default, 'orange'],
        ],
      }),
      4,
      5,
    ),
  );
  d.withPanel(
    layout.place(
      singleStat({
        id: 13,
        title: 'Age known',
        answers:
          'Whether that age is exact (from the message\'s timestamp or the exporter\'s own publish history) or only a lower bound: "at least", the message is older than anything the exporter has seen and it has no --nats-url.',
        queries: [{ expr: perQueue('queue_oldest_undelivered_age_lower_bound'), legend: '{{group}} {{durable}}' }],
        mappings: flag('exact', 'at least', 'green', 'orange'),
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
      3,
      5,
    ),
  );

  d.withPanel(
    layout.place(
      timeSeries({
        id: 6,
        title: 'Pending, undelivered and unacked',
        answers: 'How the backlog moved: undelivered waits at the server, unacked is inside the members.',
        queries: [
          { expr: perQueue('queue_msgs_undelivered'), legend: 'undelivered {{group}} {{durable}}' },
          { expr: perQueue('queue_msgs_unacked'), legend: 'unacked {{group}} {{durable}}' },
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
        id: 7,
        title: 'Publish rate versus delivery rate',
        answers:
          'Messages published to the subject (a NATS Streaming channel or a JetStream stream) per second against messages sent to this group per second, and messages its workers finished (acked) per second: the completion rate, what arrived less what the backlog grew by.',
        queries: [
          { expr: publishRate(), legend: 'published' },
          { expr: sequenceRate('queue_last_sent_sequence'), legend: 'delivered {{group}} {{durable}}' },
          { expr: completionRate(), legend: 'completed {{group}} {{durable}}' },
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
        id: 8,
        title: 'Members and in-flight capacity',
        answers: 'Members online, members stalled, and how many unacked messages the members may hold together (sum of max in-flight).',
        queries: [
          { expr: perQueue('queue_consumers'), legend: 'members {{group}} {{durable}}' },
          { expr: perQueue('queue_consumers_stalled'), legend: 'stalled {{group}} {{durable}}' },
          { expr: perQueue('queue_max_inflight'), legend: 'max in-flight {{group}} {{durable}}' },
          { expr: perQueue('queue_msgs_unacked'), legend: 'unacked {{group}} {{durable}}' },
        ],
        unit: 'none',
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 9,
        title: 'Unacked per member',
        answers: `Which member of this queue holds the unacked messages. ${DETAILED_NOTE}`,
        queries: [{ expr: member('stan_subscription_unacked_messages'), legend: '{{client_id}} #{{sub_index}} {{group}} {{durable}}' }],
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
        title: 'Members',
        answers: `Each member of this queue now: unacked messages, its max in-flight, whether it is stalled, and the last sequence sent to it. ${DETAILED_NOTE}`,
        queries: [
          { expr: member('stan_subscription_unacked_messages'), legend: 'unacked' },
          { expr: member('stan_subscription_max_inflight'), legend: 'max in-flight' },
          { expr: member('stan_subscription_stalled'), legend: 'stalled' },
          { expr: member('stan_subscription_last_sent_sequence'), legend: 'last sent' },
        ],
        merge: true,
        columns: { stalled: { mappings: YES_NO } },
      }),
      12,
      8,
    ),
  );
  d.withPanel(
    layout.place(
      timeSeries({
        id: 11,
        title: 'Client-side pending',
        answers: 'Received messages the workers of this group have not finished, and how many workers report them.',
        queries: [
          { expr: clientSum('queue_client_msgs_pending'), legend: 'pending {{group}} {{durable}}' },
          { expr: clientSum('queue_client_reports'), legend: 'reporting clients {{group}} {{durable}}' },
        ],
        thresholds: [
          [null, 'green'],
          [t.client_pending_messages.default, 'orange'],
        ],
      }),
      12,
      8,
    ),
  );
  return d;
}
