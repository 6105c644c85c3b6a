import type { JetStreamTotals } from '../../model/types.js';
import { bool, invalid, type Json, list, num, object, objectField, str, time } from '../json-fields.js';

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
  const o = object(body, where);
  const disabled = bool(o, 'disabled', where, true);
  const config = objectField(o, 'config', where, true);
  const api = objectField(o, 'api', where, true);
  const meta = objectField(o, 'meta_cluster', where, true);
  return {
    serverId: str(o, 'server_id', where),
    disabled,
    total: o['total'] === undefined ? undefined : num(o, 'total', where),
    totals: {
      memoryBytes: num(o, 'memory', where, true),
      storageBytes: num(o, 'storage', where, true),
      maxMemoryBytes: config ? num(config, 'max_memory', `${where} config`, true) : 0,
      maxStorageBytes: config ? num(config, 'max_storage', `${where} config`, true) : 0,
      accounts: num(o, 'accounts', where, true),
      streams: num(o, 'streams', where, true),
      consumers: num(o, 'consumers', where, true),
      messages: num(o, 'messages', where, true),
      bytes: num(o, 'bytes', where, true),
      apiRequests: api ? num(api, 'total', `${where} api`, true) : 0,
      apiErrors: api ? num(api, 'errors', `${where} api`, true) : 0,
    },
    metaLeader: meta ? str(meta, 'leader', `${where} meta_cluster`, true) : undefined,
    accounts: list(o, 'account_details', where).map((a, i) => parseAccount(a, `${where} account_details[${i}]`)),
  };
}

function parseAccount(value: unknown, where: string): JszAccount {
  const o = object(value, where);
  const id = str(o, 'id', where);
  const at = `${where} (account "${id}")`;
  return {
    id,
    name: str(o, 'name', at),
    streams: list(o, 'stream_detail', at).map((s, i) => parseStream(s, `${at} stream_detail[${i}]`)),
  };
}

function parseCluster(o: Json, where: string): JszCluster | undefined {
  const cluster = objectField(o, 'cluster', where, true);
  return cluster && { leader: str(cluster, 'leader', `${where} cluster`, true) };
}

function parseStream(value: unknown, where: string): JszStream {
  const o = object(value, where);
  const name = str(o, 'name', where);
  const at = `${where} (stream "${name}")`;
  const state = objectField(o, 'state', at);
  const w = `${at} state`;
  return {
    name,
    cluster: parseCluster(o, at),
    messages: num(state, 'messages', w),
    bytes: num(state, 'bytes', w),
    firstSeq: num(state, 'first_seq', w),
    lastSeq: num(state, 'last_seq', w),
    firstPublishedMs: publishTime(state, 'first_ts', w),
    lastPublishedMs: publishTime(state, 'last_ts', w),
    consumerCount: num(state, 'consumer_count', w, true),
    consumers: list(o, 'consumer_detail', at).map((c, i) => parseConsumer(c, `${at} consumer_detail[${i}]`)),
  };
}

/** A stream's first_ts or last_ts: Go's zero time (year 1) while there is no such message, as in an empty stream. */
function publishTime(state: Json, key: string, where: string): number | undefined {
  const ms = time(state, key, where, true);
  return ms === undefined || ms <= 0 ? undefined : ms;
}

/** The filter of a consumer of the whole stream, shared: most have none. */
export const WHOLE_STREAM: readonly string[] = Object.freeze([]);

function filterSubjects(config: Json, where: string): readonly string[] {
  const one = str(config, 'filter_subject', where, true);
  const listed = list(config, 'filter_subjects', where);
  if (one === '' && listed.length === 0) return WHOLE_STREAM;
  const many = listed.map((s, i) => {
    if (typeof s !== 'string') throw invalid(where, `field "filter_subjects" [${i}] is not a string`);
    return s;
  });
  return one === '' ? many : [one, ...many];
}

function parseConsumer(value: unknown, where: string): JszConsumer {
  const o = object(value, where);
  const name = str(o, 'name', where);
  const at = `${where} (consumer "${name}")`;
  if (o['config'] === undefined) throw invalid(at, 'field "config" is missing: the exporter asks /jsz with config=true, a proxy in between may have dropped the query');
  const config = objectField(o, 'config', at);
  const delivered = objectField(o, 'delivered', at);
  const ackFloor = objectField(o, 'ack_floor', at);
  const c = `${at} config`;
  return {
    name,
    durableName: str(config, 'durable_name', c, true),
    deliverSubject: str(config, 'deliver_subject', c, true),
    deliverGroup: str(config, 'deliver_group', c, true),
    maxAckPending: num(config, 'max_ack_pending', c, true),
    filterSubjects: filterSubjects(config, c),
    cluster: parseCluster(o, at),
    deliveredStreamSeq: num(delivered, 'stream_seq', `${at} delivered`),
    ackFloorStreamSeq: num(ackFloor, 'stream_seq', `${at} ack_floor`),
    lastDeliveryMs: time(delivered, 'last_active', `${at} delivered`, true),
    lastAckMs: time(ackFloor, 'last_active', `${at} ack_floor`, true),
    numPending: num(o, 'num_pending', at),
    numAckPending: num(o, 'num_ack_pending', at),
    numRedelivered: num(o, 'num_redelivered', at),
    numWaiting: num(o, 'num_waiting', at),
    pushBound: bool(o, 'push_bound', at, true),
    paused: bool(o, 'paused', at, true),
    readAtMs: time(o, 'ts', at),
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
  const where = 'varz';
  const o = object(body, where);
  const cluster = objectField(o, 'cluster', where, true);
  return {
    serverId: str(o, 'server_id', where),
    serverName: str(o, 'server_name', where),
    version: str(o, 'version', where),
    cluster: cluster ? str(cluster, 'name', `${where} cluster`, true) : '',
    startTimeSeconds: time(o, 'start', where) / 1000,
  };
}
