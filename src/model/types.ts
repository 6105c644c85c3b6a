import type { Backend } from '../targets.js';
import type { RepeatedNode } from './same-server.js';

/**
 * The backend-neutral picture of one scrape. Sources build it, metrics render it.
 * Nothing in here knows a metric name or a monitoring endpoint.
 */

/**
 * Why a node's part of a scrape failed. `exporter_error` is a fault of the exporter itself (a bug),
 * kept apart so that nobody chases a healthy server.
 */
export type ScrapeErrorReason = 'timeout' | 'connect' | 'http_status' | 'invalid_response' | 'exporter_error';

export interface StanServerInfo {
  clusterId: string;
  serverId: string;
  version: string;
  /** The Go version the server was built with. */
  goVersion: string;
  /** STANDALONE, FT_ACTIVE, FT_STANDBY, FAILED, SHUTDOWN, CLUSTERED */
  state: string;
  /** Leader, Follower, Candidate, Shutdown in a Raft cluster; "" otherwise */
  role: string;
  startTimeSeconds: number;
  /** The start time as the server wrote it (RFC 3339 with nanoseconds). */
  startTime: string;
  clients: number;
  subscriptions: number;
  channels: number;
  messages: number;
  bytes: number;
  openFds: number;
  maxFds: number;
  receivedMessages: number;
  receivedBytes: number;
  sentMessages: number;
  sentBytes: number;
}

/** A nats-server node's JetStream figures, as one /jsz answer gives them. */
export interface JetStreamTotals {
  memoryBytes: number;
  storageBytes: number;
  /** JetStream's configured limits on this node; 0 = none. */
  maxMemoryBytes: number;
  maxStorageBytes: number;
  accounts: number;
  /** Streams and consumers on this node, replicas included. */
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  apiRequests: number;
  apiErrors: number;
}

/** A nats-server node as /varz and /jsz describe it (JetStream). */
export interface JetStreamNodeInfo extends JetStreamTotals {
  serverId: string;
  /** The name replicas name their leader by. */
  serverName: string;
  version: string;
  /** Cluster name; "" for a standalone server. */
  cluster: string;
  startTimeSeconds: number;
  /** This node leads the JetStream meta group (always false standalone). */
  metaLeader: boolean;
}

/** Per-channel limits of the store; 0 means unlimited. */
export interface StoreLimits {
  channels: number;
  subscriptions: number;
  messages: number;
  bytes: number;
  ageSeconds: number;
}

/** One subscription as the server reports it. */
export interface SubscriptionFacts {
  clientId: string;
  /**
   * The subscription's inbox, read only when asked for ("" otherwise): random and new on every
   * reconnect, so no series of this exporter's own carries it.
   */
  inbox: string;
  /** Queue group name without the durable prefix, or "". */
  group: string;
  /** Durable name, or "". */
  durable: string;
  unacked: number;
  lastSent: number;
  maxInflight: number;
  ackWaitSeconds: number;
  stalled: boolean;
  offline: boolean;
}

export interface Subscription extends SubscriptionFacts {
  /**
   * Tells apart subscriptions that share channel, group, durable and client id (a client may
   * subscribe twice): 0 for the first in the server's order, 1 for the next, and so on.
   */
  index: number;
}

/**
 * A consumer of a channel that owns a cursor: a queue group (durable or not) or a durable
 * subscription. Plain ephemeral subscriptions are not consumers in this sense.
 */
export interface Consumer {
  group: string;
  durable: string;
  /** Highest sequence sent to any member: the consumer's cursor. */
  lastSent: number;
  /** Published and not yet sent to any member. */
  undelivered: number;
  /** Sent to members and not yet acked. */
  unacked: number;
  /** undelivered + unacked: what this consumer has not finished. */
  pending: number;
  /** Members online. */
  members: number;
  /** Online members whose in-flight window is full. */
  stalledMembers: number;
  /** Sum of the online members' max in-flight. */
  maxInflight: number;
  /** A durable consumer with no member online. */
  offline: boolean;
  /**
   * Messages the store evicted (limits) before this consumer got them: max(0, first_seq - 1 - cursor).
   * They can never be delivered to it.
   */
  evicted: number;
  /** Unacked messages delivered more than once; undefined where the backend does not count them (STAN). */
  redelivered?: number;
  /**
   * Where the first undelivered message lies, set by a backend that cannot tell it is the one
   * after the cursor (JetStream: filter subjects, deleted messages). Undefined: it is sequence
   * max(cursor, first_seq - 1) + 1.
   */
  undeliveredRange?: SeqRange;
  /** How long the first message after the cursor has waited; undefined while nothing can be said. 0 exact when nothing waits. */
  oldestUndeliveredAge?: MessageAge;
  /**
   * Where the oldest unacked message lies, for a backend that knows (JetStream: above the ack
   * floor); null when nothing is unacked; undefined when the backend cannot say (NATS Streaming).
   */
  oldestUnacked?: SeqRange | null;
  /** How long the oldest unacked message has waited since it was published; set with oldestUnacked. */
  oldestUnackedAge?: MessageAge;
}

/**
 * A message known only to lie between two sequences of its channel: at `from` or later, at `to`
 * or earlier. from == to names it.
 */
export interface SeqRange {
  from: number;
  to: number;
  /**
   * How a client connection finds it: the first message at or after `from` on one of these
   * subjects ([]: on any subject). Undefined when no lookup finds it (several consumers counted
   * as one queue): then only from == to is looked up.
   */
  firstOn?: readonly string[];
}

/**
 * How long a message has waited since it was published. `exact`: from the message's own
 * timestamp. `estimated`: from the exporter's publish history (within a scrape interval or so).
 * `at_least`: the message is older than anything the exporter has seen; `seconds` is a lower bound.
 */
export interface MessageAge {
  seconds: number;
  kind: 'exact' | 'estimated' | 'at_least';
}

/** A channel's own figures, as the server reports them. */
export interface ChannelFacts {
  name: string;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  subscriptionCount: number;
}

export interface Channel extends ChannelFacts {
  /**
   * The account (JetStream) the channel belongs to when not the server's default one; queues of
   * different accounts may share subject, group and durable.
   */
  account?: string;
  /**
   * Unix ms when first_seq and last_seq were published, where the backend reports them
   * (JetStream first_ts, last_ts): exact points of the publish history.
   */
  firstPublishedMs?: number;
  lastPublishedMs?: number;
  consumers: Consumer[];
  subscriptions: Subscription[];
}

export interface ScrapeFailure {
  reason: ScrapeErrorReason;
  message: string;
  /** With `exporter_error`: the exporter's own error, whose stack goes to the log. */
  cause?: Error;
}

/** One node's part of a scrape: a standalone server, or one node of an FT pair or Raft cluster. */
export interface NodeSnapshot {
  /** The node label (NAME/NODE=URL, else the URL's host:port). */
  node: string;
  /** Monitoring base URL, without credentials. */
  url: string;
  durationSeconds: number;
  /** Set when this node's scrape failed; then info, limits and jetstream are absent. */
  failure?: ScrapeFailure;
  /** A NATS Streaming node's serverz and storez. */
  info?: StanServerInfo;
  limits?: StoreLimits;
  /** A JetStream node's varz and jsz. */
  jetstream?: JetStreamNodeInfo;
  /** channelsz pages of this scrape that the fast reader left to the checked parser. */
  checkedPages: number;
  /**
   * The channels this node lists itself when it is not the owner, read only when asked for
   * (--nss-compat): a Raft follower's copy, or a second claimer's. Never queue figures: counting
   * them too would count every queue once per node.
   */
  listedChannels?: Channel[];
}

/**
 * One logical server (a standalone server, an FT pair or a Raft cluster) in one scrape: every
 * node's own figures, and the queue figures of the node that owns them.
 */
export interface ServerSnapshot {
  /** The configured NAME: the `server` label of every queue, channel and subscription. */
  name: string;
  /** Whose channels these are: NATS Streaming channels or JetStream streams. */
  backend: Backend;
  nodes: NodeSnapshot[];
  /**
   * The node whose channels were read this scrape: the STANDALONE server, the FT_ACTIVE node of a
   * pair, the Raft Leader. Undefined when no node owns them (all standby, an election, all down,
   * or the owner failed while its channels were read); then `channels` is empty.
   */
  owner?: string;
  /**
   * The nodes that claimed ownership, in configured order; more than one (two actives, two
   * leaders) is a conflict, and `owner` is then the first.
   */
  claimers: string[];
  /** Nodes that are an earlier node under another URL (the same server_id): never claimers. */
  repeated?: RepeatedNode[];
  /** The owner's channels; empty without an owner. */
  channels: Channel[];
  /** Publish times read over `--nats-url` this scrape. */
  ageLookups: number;
  /** Why the `--nats-url` connection failed, while it does. */
  clientError?: string;
}

/** Names one consumer across servers: the labels its queue series carry. */
export interface ConsumerKey {
  /** The configured NAME of the (logical) server the subscriptions use. */
  server: string;
  /**
   * The JetStream account, as the server's queue series label it (Channel.account); undefined
   * for the default account, for NATS Streaming, and when the report does not say.
   */
  account?: string;
  subject: string;
  group: string;
  durable: string;
}

/**
 * What the workers beside this exporter report about their own subscriptions: messages they
 * hold and have not finished (stan.go's sub.Pending(); the Node probe library's count). A
 * different figure from the server's: never add it to Consumer.pending.
 */
export interface ClientPending extends ConsumerKey {
  /** Sums over the live reports. */
  messages: number;
  bytes: number;
  /** Clients whose live report includes this consumer. */
  reports: number;
  /** Sums over the reports that carried the figure; undefined when none did. */
  dropped?: number;
  maxInflight?: number;
}

export interface Snapshot {
  /** Unix time in milliseconds when the collection started. */
  startedAt: number;
  servers: ServerSnapshot[];
  clientPending: ClientPending[];
}
