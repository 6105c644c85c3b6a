import { MONITORING } from './config.js';
import { CHANNEL, QUEUE, now, over, sel } from './promql.js';

/**
 * The recording rules made for scaling workers (KEDA's prometheus trigger, an HPA through
 * prometheus-adapter) and for the dashboards: one series per queue whichever node or exporter
 * answers, read with the alerts' de-duplication (`max by` over copies, carried over an owner
 * change by the bridge).
 *
 * Names follow Prometheus' `level:metric:operations`: the level `queue` keeps the identity labels
 * and server, account, subject, group, durable; the metric is the exporter's metric read, or a
 * name in its style (with its unit) for a derived figure; the operations are what was applied,
 * with their window.
 */

const W = MONITORING.scalingWindow;
const on = `on (${QUEUE})`;

export const BACKLOG = 'queue:queue_msgs_pending:max';
export const OLDEST_AGE = 'queue:queue_oldest_undelivered_age_seconds:max';
export const ARRIVAL_RATE = `queue:queue_arrived_messages:rate${W}`;
export const COMPLETION_RATE = `queue:queue_completed_messages:rate${W}`;
export const TIME_TO_DRAIN = `queue:queue_time_to_drain_seconds:rate${W}`;

export interface RecordingRule {
  record: string;
  expr: string;
  comment: string;
}

/** The channel's (or stream's) publish rate, one series per channel. */
const channelRate = `max by (${CHANNEL}) (rate(${sel('stan_channel_last_sequence')}[${W}]))\nor\nmax by (${CHANNEL}) (rate(${sel('jetstream_stream_last_sequence')}[${W}]))`;

export const SCALING_RULES: readonly RecordingRule[] = [
  {
    record: BACKLOG,
    expr: now('queue_msgs_pending', QUEUE),
    comment: 'Backlog: messages the queue has not finished (undelivered + unacked), carried over an owner change.',
  },
  {
    record: OLDEST_AGE,
    expr: now('queue_oldest_undelivered_age_seconds', QUEUE),
    comment: 'Seconds the oldest undelivered message of the queue has waited.',
  },
  {
    record: ARRIVAL_RATE,
    expr: `${BACKLOG} * 0\n+ on (${CHANNEL}) group_left ()\n(\n  ${channelRate.replaceAll('\n', '\n  ')}\n)`,
    comment:
      "Messages published per second to the queue's channel (stream): the rate of its last sequence, which rate() reads as a counter, so a channel made anew does not count as negative. A JetStream consumer with filter subjects is given its whole stream's rate.",
  },
  {
    record: COMPLETION_RATE,
    expr: `clamp_min(\n  ${ARRIVAL_RATE}\n  - ${on}\n  ${over('deriv', 'queue_msgs_pending', W, QUEUE)},\n  0\n)`,
    comment:
      "Messages the queue's workers finish (ack) per second: what arrived less what the backlog grew by. Derived from the backlog, so time to drain needs no cursor (which a member leaving a queue group can move back).",
  },
  {
    record: TIME_TO_DRAIN,
    expr: `(${BACKLOG} > 0)\n/ ${on}\nclamp_min(${COMPLETION_RATE} - ${on} ${ARRIVAL_RATE}, 0)\nor ${on}\n${BACKLOG} == 0`,
    comment:
      'Seconds until the backlog is empty at the current net rate: backlog / (completion rate - arrival rate). +Inf while the backlog grows or holds, 0 when empty, absent until the queue has two scrapes (no rate yet).',
  },
];
