/**
 * What an exposition spends on each object, for the series budget of `npm run bench` and
 * `npm run bench:jetstream`: the series of the per-channel, per-queue and per-subscription
 * families, and the channels and queues they cover.
 */

/** The series of one exposition, by the object each family describes. */
export interface SeriesBudget {
  /** Series of per-channel families: stan_channel_*, jetstream_stream_*, the peer's nss_chan_* (not nss_chan_subs_*). */
  channelSeries: number;
  /** Series of per-queue families: queue_* with a group or durable label (not queue_client_*, queue_server_*). */
  queueSeries: number;
  /** Series of per-subscription families: stan_subscription_*, the peer's nss_chan_subs_*. */
  subscriptionSeries: number;
  /** Every series of the answer. */
  allSeries: number;
  /** Distinct channels (streams) the answer names in its per-channel or per-queue series. */
  channels: number;
  /** Distinct queue_msgs_pending series. */
  queues: number;
}

const CHANNEL_FAMILY = /^(stan_channel_|jetstream_stream_|nss_chan_(?!subs_))/;
const SUBSCRIPTION_FAMILY = /^(stan_subscription_|nss_chan_subs_)/;
const QUEUE_FAMILY = /^queue_(?!client_|server_)/;
const QUEUE_LABELS = /[{,](group|durable)="/;
/** The label that names the channel: `subject` in this exporter's families, `channel` in nss_*. */
const CHANNEL_LABEL = /[{,](?:subject|channel)="((?:[^"\\]|\\.)*)"/;

export function seriesBudget(text: string): SeriesBudget {
  const budget: SeriesBudget = { channelSeries: 0, queueSeries: 0, subscriptionSeries: 0, allSeries: 0, channels: 0, queues: 0 };
  const channelNames = new Set<string>();
  const queueChannelNames = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    budget.allSeries++;
    if (CHANNEL_FAMILY.test(line)) {
      budget.channelSeries++;
      const channel = CHANNEL_LABEL.exec(line)?.[1];
      if (channel !== undefined) channelNames.add(channel);
    } else if (SUBSCRIPTION_FAMILY.test(line)) {
      budget.subscriptionSeries++;
    } else if (QUEUE_FAMILY.test(line) && QUEUE_LABELS.test(line.slice(0, line.lastIndexOf('}') + 1))) {
      budget.queueSeries++;
      if (line.startsWith('queue_msgs_pending{')) {
        budget.queues++;
        const channel = CHANNEL_LABEL.exec(line)?.[1];
        if (channel !== undefined) queueChannelNames.add(channel);
      }
    }
  }
  // Should a series budget leave out every per-channel family, the queues still name their channels.
  budget.channels = channelNames.size || queueChannelNames.size;
  return budget;
}

/** `nats_queue_exporter_scrape_cache_bytes` of an exposition, or undefined when the exporter has no such gauge. */
export function scrapeCacheBytes(text: string): number | undefined {
  const m = /^nats_queue_exporter_scrape_cache_bytes(?:\{\})? (\S+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}
