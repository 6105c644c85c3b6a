import { MONITORING } from '../alerts/config.js';

/**
 * PromQL building blocks shared by the dashboards. Several sidecars can export the same queue,
 * so every server-side series is reduced with `max by (its identity)` before anything sums it.
 * Client-side figures (queue_client_*) are the exception: each sidecar reports only its own
 * pod's workers, so they are summed. The identity labels (mixin/alerts/config.ts) lead every
 * aggregation, and no query keeps a node label: across an FT takeover or a Raft election a
 * queue's line goes on as one line.
 */

const ID = MONITORING.identity;
export const SERVER = [...ID, 'server'].join(', ');
/** `account`: a JetStream stream outside the default account (NATS Streaming series have none). */
export const CHANNEL = `${SERVER}, account, subject`;
export const QUEUE = `${CHANNEL}, group, durable`;
export const MEMBER = `${QUEUE}, client_id, sub_index`;

/** The dashboards' "All" for the job variable: the configured job matcher's regex. */
export const JOB_REGEX = /^job=~"(.+)"$/.exec(MONITORING.job)?.[1] ?? '.+';

/** The variables that select series, in order; channel and server series have no group or durable. */
export const IDENTITY_VARIABLES = ID;

/** Label matchers for the dashboard variables, for series of a server, a channel or a queue. */
export function selector(metric: string, scope: 'server' | 'channel' | 'queue'): string {
  const matchers = ['job=~"$job"', ...ID.map((l) => `${l}=~"$${l}"`), 'server=~"$server"'];
  if (scope !== 'server') matchers.push('account=~"$account"', 'subject=~"$subject"');
  if (scope === 'queue') matchers.push('group=~"$group"', 'durable=~"$durable"');
  return `${metric}{${matchers.join(', ')}}`;
}

/** `at` is '' or ' @ end()': see top(). */
export type At = '' | ' @ end()';

/** One series per server (over its nodes and copies). */
export function perServer(metric: string, at: At = ''): string {
  return `max by (${SERVER}) (${selector(metric, 'server')}${at})`;
}

/** One series per queue, however many sidecars export it. */
export function perQueue(metric: string, at: At = ''): string {
  return `max by (${QUEUE}) (${selector(metric, 'queue')}${at})`;
}

/**
 * Per-second rate of a sequence number, one series per identity. Only sequences (which grow by
 * one per message) and counters may be rated; `stan_channel_messages` is what the store holds now.
 */
export function sequenceRate(metric: 'stan_channel_last_sequence' | 'jetstream_stream_last_sequence' | 'queue_last_sent_sequence', at: At = ''): string {
  const scope = metric === 'queue_last_sent_sequence' ? 'queue' : 'channel';
  const by = scope === 'channel' ? CHANNEL : QUEUE;
  return `max by (${by}) (rate(${selector(metric, scope)}[$__rate_interval]${at}))`;
}

/** Publish rate per channel of both backends: a NATS Streaming channel's or a JetStream stream's last sequence. */
export function publishRate(at: At = ''): string {
  return `(\n${sequenceRate('stan_channel_last_sequence', at)}\nor\n${sequenceRate('jetstream_stream_last_sequence', at)}\n)`;
}

/**
 * Messages published per second to each queue's channel or stream, and finished (acked) per second
 * by its workers: what arrived less what the backlog grew by. The same figures as the scaling
 * recording rules (mixin/alerts/scaling.ts), over the dashboard's rate interval.
 */
export function completionRate(at: At = ''): string {
  const arrival = `${perQueue('queue_msgs_pending', at)} * 0\n+ on (${CHANNEL}) group_left ()\n${publishRate(at)}`;
  return `clamp_min(\n${arrival}\n- on (${QUEUE})\n${backlogSlope(at)},\n0\n)`;
}

/** How fast each queue's backlog grows (negative: shrinks), per second. */
function backlogSlope(at: At): string {
  return `max by (${QUEUE}) (deriv(${selector('queue_msgs_pending', 'queue')}[$__rate_interval]${at}))`;
}

/**
 * Seconds until each queue's backlog is empty at the rate it shrinks now: backlog / (completion
 * rate - arrival rate). Absent while the backlog holds or grows, where the recording rule reads +Inf.
 */
export function timeToDrain(at: At = ''): string {
  return `${perQueue('queue_msgs_pending', at)}\n  /\n-(${backlogSlope(at)} < 0)`;
}

/** Share of the store's per-channel limit that each channel uses; servers without a limit drop out. */
export function storeUsage(
  channelMetric: 'stan_channel_messages' | 'stan_channel_bytes',
  limitMetric: 'stan_store_limit_messages' | 'stan_store_limit_bytes',
  at: At = '',
): string {
  return `max by (${CHANNEL}) (${selector(channelMetric, 'channel')}${at})\n  / on (${SERVER}) group_left ()\nmax by (${SERVER}) (${selector(limitMetric, 'server')}${at} > 0)`;
}

/** Client-side figures: summed over sidecars, each of which reports its own pod's workers. */
export function clientSum(metric: 'queue_client_msgs_pending' | 'queue_client_bytes_pending' | 'queue_client_reports', at: At = ''): string {
  return `sum by (${QUEUE}) (${selector(metric, 'queue')}${at})`;
}

/**
 * The `n` series of `expr` that are largest at the end of the time range, drawn over the whole
 * range: a plain topk() picks anew at every step and so draws many more than `n` lines.
 */
export function top(n: number, expr: (at: At) => string, by: string): string {
  return `${expr('')}\nand on (${by})\ntopk(${n}, ${expr(' @ end()')})`;
}

export const QUEUE_LEGEND = '{{server}} {{account}} {{subject}} {{group}} {{durable}}';
