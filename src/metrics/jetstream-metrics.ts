import type { Channel, JetStreamNodeInfo, NodeSnapshot } from '../model/types.js';
import type { Row } from './families.js';
import type { TieredRow } from './tiers.js';

/**
 * The JetStream families: per node (labels server, node) and per stream (server, subject, and
 * account outside the default account). Queue families are shared with NATS Streaming. Each
 * per-stream row leads with its tier (tiers.ts): only what a dashboard, alert or the status page
 * reads is on /metrics by default.
 */

export const JETSTREAM_NODE_ROWS: ReadonlyArray<Row<NodeSnapshot>> = [
  ['jetstream_up', 'gauge', '1 when the last scrape of this nats-server node (varz and every jsz page) fully succeeded.', (n) => (n.failure ? 0 : 1)],
];

export const JETSTREAM_INFO_ROWS: ReadonlyArray<Row<JetStreamNodeInfo>> = [
  ['jetstream_server_info', 'gauge', 'Identity of the nats-server node; always 1.', () => 1],
];

export const JETSTREAM_SERVER_ROWS: ReadonlyArray<Row<JetStreamNodeInfo>> = [
  ['jetstream_server_meta_leader', 'gauge', '1 when this node leads the JetStream meta group (0 standalone).', (s) => (s.metaLeader ? 1 : 0)],
  ['jetstream_server_start_time_seconds', 'gauge', 'Unix time the server started.', (s) => s.startTimeSeconds],
  ['jetstream_server_memory_bytes', 'gauge', 'Memory JetStream uses on this node.', (s) => s.memoryBytes],
  ['jetstream_server_storage_bytes', 'gauge', 'File storage JetStream uses on this node.', (s) => s.storageBytes],
  ['jetstream_server_max_memory_bytes', 'gauge', 'Memory JetStream may use on this node (0 = none configured).', (s) => s.maxMemoryBytes],
  ['jetstream_server_max_storage_bytes', 'gauge', 'File storage JetStream may use on this node (0 = none configured).', (s) => s.maxStorageBytes],
  ['jetstream_server_accounts', 'gauge', 'Accounts with JetStream on this node.', (s) => s.accounts],
  ['jetstream_server_streams', 'gauge', 'Streams on this node, replicas included.', (s) => s.streams],
  ['jetstream_server_consumers', 'gauge', 'Consumers on this node, replicas included.', (s) => s.consumers],
  ['jetstream_server_messages', 'gauge', 'Messages held on this node, replicas included.', (s) => s.messages],
  ['jetstream_server_bytes', 'gauge', 'Bytes held on this node, replicas included.', (s) => s.bytes],
  ['jetstream_server_api_requests_total', 'counter', 'JetStream API requests this node served since it started.', (s) => s.apiRequests],
  ['jetstream_server_api_errors_total', 'counter', 'JetStream API requests this node answered with an error since it started.', (s) => s.apiErrors],
];

export const STREAM_ROWS: ReadonlyArray<TieredRow<Channel>> = [
  ['detailed', 'jetstream_stream_messages', 'gauge', 'Messages the stream holds now (from its leader).', (c) => c.messages],
  ['detailed', 'jetstream_stream_bytes', 'gauge', 'Bytes the stream holds now.', (c) => c.bytes],
  ['detailed', 'jetstream_stream_first_sequence', 'gauge', 'Sequence of the oldest message still held.', (c) => c.firstSeq],
  ['default', 'jetstream_stream_last_sequence', 'gauge', 'Sequence of the newest message; its rate is the publish rate.', (c) => c.lastSeq],
  ['detailed', 'jetstream_stream_consumers', 'gauge', 'Consumers of the stream, ephemeral ones included.', (c) => c.subscriptionCount],
];
