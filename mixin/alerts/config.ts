/**
 * What a team tunes, in one place: which scrape jobs are the exporter's, which labels keep two
 * deployments apart, the alert thresholds with their per-queue overrides, and where the runbook
 * and Grafana live. The rules file, the Alertmanager inhibit rules and both dashboards are
 * generated from it (`npm run generate`).
 */
import { STATUS_RULES } from '../../src/http/status/rules.js';

/** A threshold a queue (by subject and group) or a channel (by subject) may override. */
export interface Threshold {
  scope: 'queue' | 'channel';
  default: number;
  overrides: ReadonlyArray<{ subject: string; group?: string; value: number }>;
  /** What the number is, for the rules file's comment. */
  means: string;
}

export const MONITORING = {
  /** Matches the scrape jobs of the exporter (the PodMonitor and ServiceMonitor in k8s/ give such names). */
  job: 'job=~".*nats-queue-exporter.*"',
  /**
   * Labels that tell deployments apart and are kept in every aggregation, as kubernetes-mixin's
   * `_config` keeps `cluster`: sidecars and a central exporter of one namespace merge, two
   * namespaces that both call their server "local" do not. Outside Kubernetes give each
   * deployment's scrape job a `namespace` label, or set this to ['job'].
   */
  identity: ['namespace'] as readonly string[],
  /**
   * How long a queue series is carried over a scrape without it (`last_over_time`): an FT takeover
   * or a Raft election leaves a scrape or two with no owner and no queue series, and a pending
   * alert must keep its `for` through it, a firing one must not resolve and fire again.
   */
  bridge: '3m',
  /**
   * The window of the scaling group's rates (arrival, completion, time to drain): at least four
   * scrapes, so a rate survives a missed scrape; shorter follows a change sooner.
   */
  scalingWindow: '2m',
  runbook: 'https://github.com/nats-queue-exporter/nats-queue-exporter/blob/main/docs/runbook.md',
  /** Base URL of the Grafana that has the dashboards, for each alert's dashboard_url. */
  grafana: 'http://localhost:3000',
  thresholds: {
    backlog_growing_messages: {
      scope: 'queue',
      // The status page's "growing" verdict uses the same number: one place for both.
      default: STATUS_RULES.growingMinPending,
      overrides: [],
      means: 'NatsQueueBacklogGrowing: smallest backlog (messages) worth a ticket when it keeps growing',
    },
    offline_backlog_messages: {
      scope: 'queue',
      default: 1,
      overrides: [],
      means: 'NatsQueueDurableOffline: smallest backlog (messages) of an offline durable worth a ticket',
    },
    store_usage_ratio: {
      scope: 'channel',
      default: 0.9,
      overrides: [],
      means: "NatsStreamingChannelNear{Message,Byte}Limit: share of the store's per-channel limit",
    },
    client_pending_messages: {
      scope: 'queue',
      default: 1000,
      overrides: [],
      means: 'NatsQueueClientPendingHigh: messages held inside the workers of one queue, all pods together',
    },
    oldest_undelivered_age_seconds: {
      scope: 'queue',
      default: 600,
      overrides: [],
      means: 'NatsQueueOldestMessageTooOld: seconds the oldest undelivered message of one queue may wait',
    },
  } satisfies Record<string, Threshold> as Record<ThresholdName, Threshold>,
};

export type ThresholdName =
  | 'backlog_growing_messages'
  | 'offline_backlog_messages'
  | 'store_usage_ratio'
  | 'client_pending_messages'
  | 'oldest_undelivered_age_seconds';
