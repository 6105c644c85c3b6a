/**
 * PromQL building blocks shared by the dashboards. Several sidecars can export the same queue,
 * so every server-side series is reduced with `max by (its identity)` before anything sums it.
 * Client-side figures (queue_client_*) are the exception: each sidecar reports only its own
 * pod's workers, so they are summed.
 */

export const QUEUE = 'server, subject, group, durable';
export const CHANNEL = 'server, subject';

/** Label matchers for the dashboard variables; `$group` is left out for channel-level series. */
export function selector(metric: string, scope: 'server' | 'channel' | 'queue'): string {
  const matchers = ['server=~"$server"'];
  if (scope !== 'server') matchers.push('subject=~"$subject"');
  if (scope === 'queue') matchers.push('group=~"$group"');
  return `${metric}{${matchers.join(', ')}}`;
}

/** One series per queue, however many sidecars export it. */
export function perQueue(metric: string): string {
  return `max by (${QUEUE}) (${selector(metric, 'queue')})`;
}

/**
 * Per-second rate of a sequence number, one series per identity. Only sequences (which grow by
 * one per message) and counters may be rated; `stan_channel_messages` is what the store holds now.
 */
export function sequenceRate(metric: 'stan_channel_last_sequence' | 'queue_last_sent_sequence'): string {
  const scope = metric === 'stan_channel_last_sequence' ? 'channel' : 'queue';
  const by = scope === 'channel' ? CHANNEL : QUEUE;
  return `max by (${by}) (rate(${selector(metric, scope)}[$__rate_interval]))`;
}

/** Share of the store's per-channel limit that each channel uses; servers without a limit drop out. */
export function storeUsage(channelMetric: 'stan_channel_messages' | 'stan_channel_bytes', limitMetric: 'stan_store_limit_messages' | 'stan_store_limit_bytes'): string {
  return `max by (${CHANNEL}) (${selector(channelMetric, 'channel')})\n  / on (server) group_left ()\nmax by (server) (${selector(limitMetric, 'server')} > 0)`;
}

/** Client-side figures: summed over sidecars, each of which reports its own pod's workers. */
export function clientSum(metric: 'queue_client_msgs_pending' | 'queue_client_bytes_pending' | 'queue_client_reports'): string {
  return `sum by (${QUEUE}) (${selector(metric, 'queue')})`;
}

export const QUEUE_LEGEND = '{{server}} {{subject}} {{group}} {{durable}}';
