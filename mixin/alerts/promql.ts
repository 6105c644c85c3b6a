import { MONITORING, type ThresholdName } from './config.js';

/**
 * PromQL pieces of the rules. Several sidecars (and two Prometheus replicas behind Thanos or
 * Mimir) may hold copies of one server-side series, so each is reduced with `max by (identity)`
 * before it is compared; client-side figures are per pod, so they are summed over pods after the
 * replicas' copies of each pod are reduced.
 */

const ID = MONITORING.identity;

export const SERVER = [...ID, 'server'].join(', ');
/**
 * A JetStream stream outside the default account carries `account`: two accounts' streams (and
 * their consumers) of the same name are different channels and queues. NATS Streaming series have
 * no such label, which `by` treats as the empty value.
 */
export const CHANNEL = [...ID, 'server', 'account', 'subject'].join(', ');
export const QUEUE = [...ID, 'server', 'account', 'subject', 'group', 'durable'].join(', ');

/** `metric{job=~"..."}`, with more matchers if given. */
export function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${[MONITORING.job, ...matchers].join(', ')}}`;
}

/**
 * The value now, carried over a scrape or two without the series (see MONITORING.bridge), one
 * series per identity however many copies there are.
 */
export function now(metric: string, by: string): string {
  return `max by (${by}) (last_over_time(${sel(metric)}[${MONITORING.bridge}]))`;
}

/** One series per identity, of a range function over the metric. */
export function over(fn: string, metric: string, window: string, by: string): string {
  return `max by (${by}) (${fn}(${sel(metric)}[${window}]))`;
}

/**
 * Present when the series existed `ago` before now: a window of that length then covers the
 * series' history, so a young series (a new queue) cannot look unchanged for the whole window.
 */
export function seenAgo(metric: string, ago: string, by: string): string {
  return `max by (${by}) (${sel(metric)} offset ${ago})`;
}

const THRESHOLD = 'nats_queue:alert_threshold';

/**
 * The threshold for each queue (or channel) of `metric`: its override where one is recorded,
 * else the default (for each queue seen, bridged like the value it is compared with). Compared with `op on (subject[, group]) group_left ()`. `max` merges copies
 * of a threshold series (two replicas' recordings read through Thanos), so a duplicate changes
 * nothing instead of making the comparison fail.
 */
export function threshold(name: ThresholdName, metric: string): string {
  const keys = MONITORING.thresholds[name].scope === 'queue' ? 'subject, group' : 'subject';
  return `(\n  max by (${keys}) (${THRESHOLD}{threshold="${name}", subject!=""})\n  or on (${keys})\n  ${now(metric, keys)} * 0 + on () group_left () max (${THRESHOLD}{threshold="${name}", subject=""})\n)`;
}

/** `left OP threshold`, matched per queue or channel. */
export function compare(left: string, op: '>' | '>=', name: ThresholdName, metric: string): string {
  const keys = MONITORING.thresholds[name].scope === 'queue' ? 'subject, group' : 'subject';
  return `${left}\n  ${op} on (${keys}) group_left ()\n${threshold(name, metric)}`;
}

export function thresholdRecords(): Array<{ record: string; expr: string; labels: Record<string, string>; comment: string }> {
  return (Object.keys(MONITORING.thresholds) as ThresholdName[]).flatMap((name) => {
    const t = MONITORING.thresholds[name];
    return [
      { record: THRESHOLD, expr: `vector(${t.default})`, labels: { threshold: name }, comment: `${t.means}. Default.` },
      ...t.overrides.map((o) => ({
        record: THRESHOLD,
        expr: `vector(${o.value})`,
        labels: { threshold: name, subject: o.subject, ...(t.scope === 'queue' ? { group: o.group ?? '' } : {}) },
        comment: `Override for subject ${o.subject}${t.scope === 'queue' ? `, group "${o.group ?? ''}"` : ''}.`,
      })),
    ];
  });
}
