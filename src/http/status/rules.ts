/**
 * The status page's verdicts and every number they use, in one table. The verdicts follow
 * README "Stuck or slow?" and the alert rules (alerts/nats-queue-exporter.rules.yml), judged
 * over the exporter's own recent collections instead of Prometheus' series.
 */
export const STATUS_RULES = {
  /** Collections the history keeps per queue (the sparkline's points; bounds its memory). */
  historyCollections: 20,
  /** How far back growth and slowness are judged: README's rate(...[5m]). Stuck is judged against the previous collection. */
  windowSeconds: 300,
  /** Growing: smallest backlog worth a ticket when it keeps growing (the alerts' backlog_growing_messages). */
  growingMinPending: 100,
  /** The page starts a collection only when the last one is older than this... */
  freshSeconds: 15,
  /** ...or, while /metrics is scraped, older than 1.5 scrape intervals, up to this. */
  maxReuseSeconds: 120,
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

export interface Judgement {
  verdict: Verdict;
  /** One sentence for the person on call. */
  why: string;
}

/**
 * `previous` is the queue's collection before this one, `windowStart` its oldest inside the window
 * (or `previous` when that is older). Stuck needs nothing to move since `previous`, so a queue
 * whose members stop acking is stuck by its second collection after; growing and slow look at the
 * whole window. Without an earlier collection, only what one look shows.
 */
export function judge(now: QueueSample, previous: EarlierSample | undefined, windowStart: EarlierSample | undefined): Judgement {
  if (now.offline) return { verdict: 'offline', why: `durable with no member online; ${now.pending} pending and growing with every publish` };
  if (now.pending === 0) return { verdict: 'idle', why: 'nothing pending' };
  if (!previous || !windowStart) return { verdict: 'healthy', why: 'first collection of this queue: its motion shows from the next one' };
  if (now.lastSent === previous.lastSent && now.pending >= previous.pending) {
    const stalled = now.stalledMembers === now.members
      ? `all ${now.members} member(s) stalled at their in-flight limit: they receive but do not ack`
      : `${now.stalledMembers} of ${now.members} member(s) stalled`;
    return { verdict: 'stuck', why: `${now.pending} pending, cursor unmoved at ${now.lastSent} and nothing acked for ${secondsBetween(previous, now)} s; ${stalled}` };
  }
  const seconds = secondsBetween(windowStart, now);
  const delivered = now.lastSent - windowStart.lastSent;
  const published = now.channelLastSeq - windowStart.channelLastSeq;
  if (now.members > 0 && now.pending > STATUS_RULES.growingMinPending && now.pending > windowStart.pending) {
    return { verdict: 'growing', why: `pending rose from ${windowStart.pending} to ${now.pending} in ${seconds} s with ${now.members} member(s) online` };
  }
  if (delivered > 0 && published > delivered && now.undelivered > 0) {
    return { verdict: 'slow', why: `${published} published and ${delivered} delivered in ${seconds} s: publishing outpaces delivery` };
  }
  return { verdict: 'healthy', why: `${delivered} delivered in ${seconds} s` };
}

function secondsBetween(a: EarlierSample, b: EarlierSample): number {
  return Math.round((b.at - a.at) / 1000);
}
