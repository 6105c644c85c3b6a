import { FieldTable } from '../field-table.js';

/**
 * The fields of nats-streaming-server's /streaming pages that the exporter uses (server/monitor.go,
 * v0.25.6), one table per kind of object: parse.ts checks each page by them, and
 * channelsz-reader.ts reads channelsz?subs=1 pages by them.
 */

export const SERVERZ = new FieldTable({
  cluster_id: { type: 'string' },
  server_id: { type: 'string' },
  version: { type: 'string' },
  go: { type: 'string', optional: true },
  /** STANDALONE, FT_ACTIVE, FT_STANDBY, CLUSTERED, FAILED, SHUTDOWN. */
  state: { type: 'string' },
  /** Leader, Follower, Candidate (clustered only). */
  role: { type: 'string', optional: true },
  start_time: { type: 'time' },
  clients: { type: 'uint' },
  subscriptions: { type: 'uint' },
  channels: { type: 'uint' },
  total_msgs: { type: 'uint' },
  total_bytes: { type: 'uint' },
  open_fds: { type: 'uint', optional: true },
  max_fds: { type: 'number', optional: true },
  in_msgs: { type: 'uint' },
  in_bytes: { type: 'uint' },
  out_msgs: { type: 'uint' },
  out_bytes: { type: 'uint' },
});

/** The store limits: 0 for none. */
export const STORE_LIMITS = new FieldTable({
  max_channels: { type: 'number', optional: true },
  max_subscriptions: { type: 'number', optional: true },
  max_msgs: { type: 'number', optional: true },
  max_bytes: { type: 'number', optional: true },
  /** Nanoseconds (Go's time.Duration). */
  max_age: { type: 'number', optional: true },
});

export const STOREZ = new FieldTable({
  limits: { type: 'object', of: STORE_LIMITS },
});

export const SUBSCRIPTION = new FieldTable({
  client_id: { type: 'string' },
  /** Read only with --nss-compat; then required. */
  inbox: { type: 'string' },
  /** "DURABLE:GROUP" for a durable queue group. */
  queue_name: { type: 'string', optional: true },
  durable_name: { type: 'string', optional: true },
  is_durable: { type: 'boolean' },
  is_offline: { type: 'boolean' },
  is_stalled: { type: 'boolean' },
  max_inflight: { type: 'uint' },
  /** Seconds. */
  ack_wait: { type: 'number' },
  last_sent: { type: 'uint' },
  pending_count: { type: 'uint' },
});

export const CHANNEL = new FieldTable({
  name: { type: 'string' },
  msgs: { type: 'uint' },
  bytes: { type: 'uint' },
  first_seq: { type: 'uint' },
  last_seq: { type: 'uint' },
  subs_count: { type: 'uint' },
  subscriptions: { type: 'list', of: SUBSCRIPTION },
});

export const CHANNELS_PAGE = new FieldTable({
  total: { type: 'uint' },
  count: { type: 'uint' },
  channels: { type: 'list', of: CHANNEL },
});
