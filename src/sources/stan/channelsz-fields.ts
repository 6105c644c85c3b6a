import { FieldTable } from '../field-table.js';

/**
 * The fields of a channelsz?subs=1 page that the exporter uses (nats-streaming-server
 * server/monitor.go, v0.25.6): both channelsz-reader.ts and parse.ts read by these tables.
 */

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
