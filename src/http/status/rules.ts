/**
 * The status page's verdicts and every number they use, in one table. The verdicts follow
 * docs/metrics.md "Stuck or slow?" and the alert rules (alerts/nats-queue-exporter.rules.yml), judged
 * over the exporter's own recent collections instead of Prometheus' series.
 */
export const STATUS_RULES = {
  /** Collections the history keeps per queue: the sparkline's points; with three numbers each, most of its memory. */
  historyCollections: 12,
  /** How far back growth and slowness are judged (docs/metrics.md's rate(...[5m])), as far as the collections held reach. Stuck is judged against the previous collection. */
  windowSeconds: 300,
  /** Growing: smallest backlog worth a ticket when it keeps growing; the default of the alerts' backlog_growing_messages (mixin/alerts/config.ts). */
  growingMinPending: 100,
  /** The page starts a collection only when the last one is older than this... */
  freshSeconds: 15,
  /** ...or, while /metrics is scraped, older than 1.5 scrape intervals, up to this. */
  maxReuseSeconds: 120,
  /** The history is kept while the page's data was asked for within this long; then dropped until the next look. */
  keepUnviewedSeconds: 3600,
} as const;

/** Worst first: the page's order. */
export const VERDICTS = ['stuck', 'offline', 'growing', 'slow', 'healthy', 'idle'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One queue in one collection. */
export interface QueueSample {
  at: number;
  pending: number;
  undelivered: number;
  /** The cursor: queue_last_sent_sequence. */
  lastSent: number;
  /** The channel's last sequence: its rate is the publish rate. */
  channelLastSeq: number;
  members: number;
  stalledMembers: number;
  offline: boolean;
}

/** What a queue's motion is judged from: its figures in an earlier collection. */
export type EarlierSample = Pick<QueueSample, 'at' | 'pending' | 'lastSent' | 'channelLastSeq'>;

/**
 * What one look shows without motion: every member's in-flight window full while messages wait
 * undelivered is slow at best (the handlers are the bottleneck, docs/metrics.md "Stuck or slow?"), and
 * stuck when the next collection shows nothing acked.
 */
function allStalledWithWaiting(now: QueueSample): boolean {
  return now.members > 0 && now.stalledMembers === now.members && now.undelivered > 0;
}

/**
 * `previous` is the queue's collection before this one, `windowStart` its oldest inside the window
 * (or `previous` when that is older). Stuck needs nothing to move since `previous`, so a queue
 * whose members stop acking is stuck by its second collection after; growing and slow look at the
 * whole window. Without an earlier collection, only what one look shows, never better than that.
 */
export function judge(now: QueueSample, previous: EarlierSample | undefined, windowStart: EarlierSample | undefined): Verdict {
  if (now.offline) return 'offline';
  if (now.pending === 0) return 'idle';
  if (!previous || !windowStart) return allStalledWithWaiting(now) ? 'slow' : 'healthy';
  if (now.lastSent === previous.lastSent && now.pending >= previous.pending) return 'stuck';
  if (now.members > 0 && now.pending > STATUS_RULES.growingMinPending && now.pending > windowStart.pending) return 'growing';
  const delivered = now.lastSent - windowStart.lastSent;
  if (delivered > 0 && now.channelLastSeq - windowStart.channelLastSeq > delivered && now.undelivered > 0) return 'slow';
  return 'healthy';
}

/** The verdict in one sentence for the person on call, from the figures judge() used. */
export function explain(verdict: Verdict, now: QueueSample, previous: EarlierSample | undefined, windowStart: EarlierSample | undefined): string {
  if (verdict === 'offline') return `durable with no member online; ${now.pending} pending and growing with every publish`;
  if (verdict === 'idle') return 'nothing pending';
  if (!previous || !windowStart) {
    return allStalledWithWaiting(now)
      ? `all ${now.members} member(s) stalled at their in-flight limit with ${now.undelivered} undelivered waiting: the handlers are the bottleneck; first collection of this queue: whether they ack at all shows from the next one`
      : 'first collection of this queue: its motion shows from the next one';
  }
  const seconds = secondsBetween(windowStart, now);
  switch (verdict) {
    case 'stuck': {
      const stalled =
        now.stalledMembers === now.members
          ? `all ${now.members} member(s) stalled at their in-flight limit: they receive but do not ack`
          : `${now.stalledMembers} of ${now.members} member(s) stalled`;
      return `${now.pending} pending, cursor unmoved at ${now.lastSent} and nothing acked for ${secondsBetween(previous, now)} s; ${stalled}`;
    }
    case 'growing':
      return `pending rose from ${windowStart.pending} to ${now.pending} in ${seconds} s with ${now.members} member(s) online`;
    case 'slow':
      return `${now.channelLastSeq - windowStart.channelLastSeq} published and ${now.lastSent - windowStart.lastSent} delivered in ${seconds} s: publishing outpaces delivery`;
    default:
      return `${now.lastSent - windowStart.lastSent} delivered in ${seconds} s`;
  }
}

/** Messages per second over the window, from the figures the history keeps. */
export interface QueueRates {
  published: number;
  acked: number;
  windowSeconds: number;
}

/**
 * Published: the channel's (stream's) last sequence moved. Acked: whatever was published and is
 * no longer pending (pending = undelivered + unacked). Undefined when the window has no length
 * or the sequence went back (a server that lost its messages).
 */
export function queueRates(now: EarlierSample, windowStart: EarlierSample): QueueRates | undefined {
  const windowSeconds = (now.at - windowStart.at) / 1000;
  const published = now.channelLastSeq - windowStart.channelLastSeq;
  if (windowSeconds <= 0 || published < 0) return undefined;
  const acked = published - (now.pending - windowStart.pending);
  return { published: published / windowSeconds, acked: acked / windowSeconds, windowSeconds };
}

/**
 * Time to drain: the backlog over the net completion rate (acked minus published per second),
 * the same as the recording rule's. 0 when nothing is pending, "growing" while acks do not
 * outpace publishing, undefined without rates (a queue's first collection).
 */
export function timeToDrain(pending: number, rates: QueueRates | undefined): number | 'growing' | undefined {
  if (pending === 0) return 0;
  if (!rates) return undefined;
  const net = rates.acked - rates.published;
  return net > 0 ? pending / net : 'growing';
}

function secondsBetween(a: EarlierSample, b: EarlierSample): number {
  return Math.round((b.at - a.at) / 1000);
}
