import type { JetStreamTotals } from '../../model/types.js';
import type { Checked } from '../field-table.js';
import { ACCOUNT, CONSUMER, JSZ_PAGE, type PLACEMENT, STREAM, VARZ } from './fields.js';

/**
 * Checks and converts nats-server's /jsz (accounts, streams, consumers and their config) and
 * /varz answers (server/monitor.go, consumer.go, stream.go; v2.10.27 and v2.12.15 recorded in
 * test/fixtures/jetstream). Fields the server marks omitempty may be missing.
 */

/** Raft placement of a replicated stream or consumer. */
export interface JszCluster {
  /** Server name of the replica that leads it; "" while it has none (an election). */
  leader: string;
}

export interface JszConsumer {
  name: string;
  /** config.durable_name: "" for an ephemeral consumer (the server deletes it when inactive). */
  durableName: string;
  /** config.deliver_subject: "" for a pull consumer. */
  deliverSubject: string;
  deliverGroup: string;
  /** config.max_ack_pending: 0 or -1 means no limit. */
  maxAckPending: number;
  /** config.filter_subject and filter_subjects: the subjects the consumer takes; [] for all of the stream. */
  filterSubjects: readonly string[];
  /** Absent on a standalone server, whose consumers are not replicated. */
  cluster?: JszCluster;
  /** delivered.stream_seq: the highest stream sequence sent, the consumer's cursor. */
  deliveredStreamSeq: number;
  /** ack_floor.stream_seq: every message up to it is acked. */
  ackFloorStreamSeq: number;
  /** Unix ms of the last delivery and the last ack; undefined before the first. */
  lastDeliveryMs: number | undefined;
  lastAckMs: number | undefined;
  numPending: number;
  numAckPending: number;
  numRedelivered: number;
  /** Pull requests waiting (pull consumers only). */
  numWaiting: number;
  /** A push consumer with a subscriber on its deliver subject. */
  pushBound: boolean;
  paused: boolean;
  /** Unix ms when the server read these figures, on its own clock. */
  readAtMs: number;
}

export interface JszStream {
  name: string;
  /** A standalone server reports itself as the leader of its streams. */
  cluster?: JszCluster;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** Unix ms when first_seq and last_seq were published; undefined while the stream has no such message (Go's zero time). */
  firstPublishedMs: number | undefined;
  lastPublishedMs: number | undefined;
  consumerCount: number;
  consumers: JszConsumer[];
}

export interface JszAccount {
  /** The account's identity (its public key under an operator; the config name otherwise). */
  id: string;
  /** Its name tag under an operator, otherwise the same as id. */
  name: string;
  streams: JszStream[];
}

export interface JszPage {
  serverId: string;
  /** `{"disabled": true}`: JetStream is off on this server. */
  disabled: boolean;
  /**
   * JetStream accounts on the server, the number to page through. Undefined from servers
   * before 2.10.28 / 2.11.2, which send no `total`.
   */
  total: number | undefined;
  totals: JetStreamTotals;
  /** Server name of the meta leader; undefined on a standalone server. */
  metaLeader: string | undefined;
  accounts: JszAccount[];
}

export function parseJszPage(body: unknown, where: string): JszPage {
  const o = JSZ_PAGE.check(body, where);
  return {
    serverId: o.server_id,
    disabled: o.disabled ?? false,
    total: o.total,
    totals: {
      memoryBytes: o.memory ?? 0,
      storageBytes: o.storage ?? 0,
      maxMemoryBytes: o.config?.max_memory ?? 0,
      maxStorageBytes: o.config?.max_storage ?? 0,
      accounts: o.accounts ?? 0,
      streams: o.streams ?? 0,
      consumers: o.consumers ?? 0,
      messages: o.messages ?? 0,
      bytes: o.bytes ?? 0,
      apiRequests: o.api?.total ?? 0,
      apiErrors: o.api?.errors ?? 0,
    },
    metaLeader: o.meta_cluster && (o.meta_cluster.leader ?? ''),
    accounts: o.account_details.map((a, i) => parseAccount(a, `${where} account_details[${i}]`)),
  };
}

function parseAccount(value: unknown, where: string): JszAccount {
  const id = ACCOUNT.field(value, where, 'id');
  const at = `${where} (account "${id}")`;
  const o = ACCOUNT.check(value, at);
  return { id, name: o.name, streams: o.stream_detail.map((s, i) => parseStream(s, `${at} stream_detail[${i}]`)) };
}

const clusterOf = (placement: Checked<typeof PLACEMENT.fields> | undefined): JszCluster | undefined => placement && { leader: placement.leader ?? '' };

/** A stream's first_ts or last_ts: Go's zero time (year 1) while there is no such message, as in an empty stream. */
const publishTime = (ms: number | undefined): number | undefined => (ms === undefined || ms <= 0 ? undefined : ms);

function parseStream(value: unknown, where: string): JszStream {
  const name = STREAM.field(value, where, 'name');
  const at = `${where} (stream "${name}")`;
  const o = STREAM.check(value, at);
  return {
    name,
    cluster: clusterOf(o.cluster),
    messages: o.state.messages,
    bytes: o.state.bytes,
    firstSeq: o.state.first_seq,
    lastSeq: o.state.last_seq,
    firstPublishedMs: publishTime(o.state.first_ts),
    lastPublishedMs: publishTime(o.state.last_ts),
    consumerCount: o.state.consumer_count ?? 0,
    consumers: o.consumer_detail.map((c, i) => parseConsumer(c, `${at} consumer_detail[${i}]`)),
  };
}

/** The filter of a consumer of the whole stream, shared: most have none. */
export const WHOLE_STREAM: readonly string[] = Object.freeze([]);

/** config.filter_subject and filter_subjects as one list; WHOLE_STREAM when neither names one. */
export function filterSubjects(one: string, many: string[]): readonly string[] {
  if (one === '' && many.length === 0) return WHOLE_STREAM;
  return one === '' ? many : [one, ...many];
}

function parseConsumer(value: unknown, where: string): JszConsumer {
  const name = CONSUMER.field(value, where, 'name');
  const at = `${where} (consumer "${name}")`;
  const o = CONSUMER.check(value, at);
  return {
    name,
    durableName: o.config.durable_name ?? '',
    deliverSubject: o.config.deliver_subject ?? '',
    deliverGroup: o.config.deliver_group ?? '',
    maxAckPending: o.config.max_ack_pending ?? 0,
    filterSubjects: filterSubjects(o.config.filter_subject ?? '', o.config.filter_subjects),
    cluster: clusterOf(o.cluster),
    deliveredStreamSeq: o.delivered.stream_seq,
    ackFloorStreamSeq: o.ack_floor.stream_seq,
    lastDeliveryMs: o.delivered.last_active,
    lastAckMs: o.ack_floor.last_active,
    numPending: o.num_pending,
    numAckPending: o.num_ack_pending,
    numRedelivered: o.num_redelivered,
    numWaiting: o.num_waiting,
    pushBound: o.push_bound ?? false,
    paused: o.paused ?? false,
    readAtMs: o.ts,
  };
}

/** What /varz tells about the node: who it is. */
export interface VarzIdentity {
  serverId: string;
  /** The name replicas lead under (cluster.leader); the server id when no name was given. */
  serverName: string;
  version: string;
  /** The cluster's name; "" for a standalone server. */
  cluster: string;
  startTimeSeconds: number;
}

export function parseVarz(body: unknown): VarzIdentity {
  const o = VARZ.check(body, 'varz');
  return { serverId: o.server_id, serverName: o.server_name, version: o.version, cluster: o.cluster?.name ?? '', startTimeSeconds: o.start / 1000 };
}
