/**
 * PromQL for each figure the status page shows, so its numbers can link to their series. Every
 * `{}` is where the page puts the label matchers of one queue (server, subject, group, durable,
 * and account for a JetStream queue outside the default account),
 * one logical server (server) or one node (server, node).
 */
export const QUEUE_PROMQL = {
  pending: 'queue_msgs_pending{}',
  undelivered: 'queue_msgs_undelivered{}',
  unacked: 'queue_msgs_unacked{}',
  members: 'queue_consumers{}',
  stalledMembers: 'queue_consumers_stalled{}',
  offline: 'queue_offline{}',
  oldestAge: 'queue_oldest_undelivered_age_seconds{}',
  clientPending: 'sum by (server, account, subject, group, durable) (queue_client_msgs_pending{})',
  delivery: 'rate(queue_last_sent_sequence{}[5m])',
} as const;

export const SERVER_PROMQL = {
  /** Per logical server. */
  ownerUp: 'queue_server_owner_up{}',
  ownerConflict: 'queue_server_owner_conflict{}',
  /** Per node, whatever its backend. */
  durationSeconds: 'nats_queue_exporter_scrape_duration_seconds{}',
  /** Per node, by backend: up, identity and the channel (stream) count. */
  stan: { up: 'stan_up{}', info: 'stan_server_info{}', channels: 'stan_server_channels{}' },
  jetstream: { up: 'jetstream_up{}', info: 'jetstream_server_info{}', channels: 'jetstream_server_streams{}' },
} as const;
