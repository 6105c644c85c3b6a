import { FieldTable } from '../field-table.js';

/**
 * The fields of nats-server's /jsz (accounts=true&streams=true&consumers=true&config=true) and
 * /varz pages that the exporter uses (server/monitor.go, consumer.go, stream.go), one table per
 * kind of object: parse.ts checks each page by them, and jsz-reader.ts reads /jsz pages by them.
 */

export const VARZ_CLUSTER = new FieldTable({
  /** "" or missing for a standalone server. */
  name: { type: 'string', optional: true },
});

export const VARZ = new FieldTable({
  server_id: { type: 'string' },
  /** The name replicas lead under; the server id when no name was given. */
  server_name: { type: 'string' },
  version: { type: 'string' },
  cluster: { type: 'object', of: VARZ_CLUSTER, optional: true },
  start: { type: 'time' },
});

/** meta_cluster, and the cluster of a stream or consumer. */
export const PLACEMENT = new FieldTable({
  /** Server name of the replica that leads; "" or missing while there is none. */
  leader: { type: 'string', optional: true },
});

/** delivered and ack_floor of a consumer. */
export const SEQUENCE = new FieldTable({
  consumer_seq: { type: 'uint', optional: true },
  stream_seq: { type: 'uint' },
  last_active: { type: 'time', optional: true },
});

export const CONSUMER_CONFIG = new FieldTable({
  durable_name: { type: 'string', optional: true },
  deliver_subject: { type: 'string', optional: true },
  deliver_group: { type: 'string', optional: true },
  /** 0 or -1: no limit. */
  max_ack_pending: { type: 'number', optional: true },
  filter_subject: { type: 'string', optional: true },
  filter_subjects: { type: 'strings' },
});

export const CONSUMER = new FieldTable({
  name: { type: 'string' },
  config: { type: 'object', of: CONSUMER_CONFIG, whenMissing: 'the exporter asks /jsz with config=true, a proxy in between may have dropped the query' },
  /** Missing on a standalone server, whose consumers are not replicated. */
  cluster: { type: 'object', of: PLACEMENT, optional: true },
  delivered: { type: 'object', of: SEQUENCE },
  ack_floor: { type: 'object', of: SEQUENCE },
  num_pending: { type: 'uint' },
  num_ack_pending: { type: 'uint' },
  num_redelivered: { type: 'uint' },
  num_waiting: { type: 'uint' },
  push_bound: { type: 'boolean', optional: true },
  paused: { type: 'boolean', optional: true },
  /** When the server read these figures, on its own clock. */
  ts: { type: 'time' },
});

export const STREAM_STATE = new FieldTable({
  messages: { type: 'uint' },
  bytes: { type: 'uint' },
  first_seq: { type: 'uint' },
  last_seq: { type: 'uint' },
  /** Go's zero time (year 1) while the stream has no such message. */
  first_ts: { type: 'time', optional: true },
  last_ts: { type: 'time', optional: true },
  consumer_count: { type: 'uint', optional: true },
});

export const STREAM = new FieldTable({
  name: { type: 'string' },
  cluster: { type: 'object', of: PLACEMENT, optional: true },
  state: { type: 'object', of: STREAM_STATE },
  consumer_detail: { type: 'list', of: CONSUMER },
});

export const ACCOUNT = new FieldTable({
  id: { type: 'string' },
  name: { type: 'string' },
  stream_detail: { type: 'list', of: STREAM },
});

/** The server's JetStream config: its limits, -1 for none. */
export const SERVER_CONFIG = new FieldTable({
  max_memory: { type: 'number', optional: true },
  max_storage: { type: 'number', optional: true },
});

export const API = new FieldTable({
  total: { type: 'uint', optional: true },
  errors: { type: 'uint', optional: true },
});

export const JSZ_PAGE = new FieldTable({
  server_id: { type: 'string' },
  /** true: JetStream is off on this server. */
  disabled: { type: 'boolean', optional: true },
  /** JetStream accounts, the number to page through; missing before 2.10.28 / 2.11.2. */
  total: { type: 'uint', optional: true },
  memory: { type: 'uint', optional: true },
  storage: { type: 'uint', optional: true },
  config: { type: 'object', of: SERVER_CONFIG, optional: true },
  accounts: { type: 'uint', optional: true },
  streams: { type: 'uint', optional: true },
  consumers: { type: 'uint', optional: true },
  messages: { type: 'uint', optional: true },
  bytes: { type: 'uint', optional: true },
  api: { type: 'object', of: API, optional: true },
  meta_cluster: { type: 'object', of: PLACEMENT, optional: true },
  account_details: { type: 'list', of: ACCOUNT },
});
