import { OldestAges } from '../../model/oldest-age.js';
import { QuietCursors } from '../../model/quiet-cursors.js';
import { repeatedNodes } from '../../model/same-server.js';
import type { JetStreamNodeInfo, NodeSnapshot, ServerSnapshot } from '../../model/types.js';
import type { SubjectMatcher } from '../../subjects.js';
import type { NodeTarget, ServerTarget } from '../../targets.js';
import type { AnswerCap, AnswerCaps } from '../answer-caps.js';
import { MonitorHttpClient } from '../http-client.js';
import { failureOf } from '../scrape-error.js';
import type { MonitorGet } from './jsz-reader.js';
import type { NodeStream } from './leaders.js';
import { JetStreamMessageTimes } from './message-times.js';
import { type JetStreamNodeRead, JszNodeReader, VARZ_PATH } from './node-reader.js';
import { LogicalChannels, logicalServerChannels } from './queues.js';

export interface JetStreamSourceOptions {
  timeoutMs: number;
  /** Accounts per /jsz request. */
  pageSize: number;
  selectSubject: SubjectMatcher;
  /** Most publish times read over --nats-url per scrape. */
  ageLookups: number;
  caps: AnswerCaps;
}

/** The cap of what the reader asks for: /varz, or a /jsz page of `pageSize` accounts. */
export function jetStreamCap(caps: AnswerCaps, path: string, pageSize: number): AnswerCap {
  return path === VARZ_PATH ? caps.varz : caps.jszPage(pageSize);
}

/** `http` as the node reader GETs: the deadline `signal`, and each path's cap. */
export function monitorGet(http: MonitorHttpClient, signal: AbortSignal, caps: AnswerCaps, pageSize: number): MonitorGet {
  return {
    body: (path, use) => http.read(path, signal, jetStreamCap(caps, path, pageSize), (_status, body) => use(body)),
    json: (path, body) => http.parseJson(path, body),
  };
}

/** Requests to one node at once: /varz beside the first /jsz page, then two pages. */
const CONNECTIONS = 2;

/** Publish-time lookups at once, and the longest they may add to a scrape. */
const AGE_LOOKUP_CONCURRENCY = 4;
const AGE_LOOKUP_BUDGET_MS = 1000;

/**
 * Reads one logical JetStream server (a standalone nats-server or the nodes of a cluster) into a
 * ServerSnapshot under one deadline: every node's /jsz, each stream's state from the node that
 * leads it, each consumer's figures from the node that leads that consumer. Unlike NATS
 * Streaming, no single node owns the queue figures: the owner named in the snapshot is the
 * JetStream meta leader (or, without one among the answering nodes, the first that answered),
 * and the figures are there while any node answered.
 */
export class JetStreamSource {
  readonly target: ServerTarget;
  readonly #opts: JetStreamSourceOptions;
  readonly #nodes: readonly JetStreamNode[];
  readonly #ages: OldestAges;
  readonly #quietCursors = new QuietCursors();
  readonly #made = new LogicalChannels();
  readonly #messageTimes: JetStreamMessageTimes | undefined;

  constructor(target: ServerTarget, opts: JetStreamSourceOptions) {
    this.target = target;
    this.#opts = opts;
    this.#nodes = target.nodes.map((node) => new JetStreamNode(node, opts));
    this.#ages = new OldestAges({ lookupsPerScrape: opts.ageLookups, concurrency: AGE_LOOKUP_CONCURRENCY });
    this.#messageTimes = target.natsClient && new JetStreamMessageTimes(target.natsClient);
  }

  async scrape(): Promise<ServerSnapshot> {
    return this.#scrapeWith(this.#opts.selectSubject);
  }

  /**
   * /jsz has no request for named streams with their consumers: all are read, and only the named
   * ones kept, before their ages are worked out (so lookups go to none that are dropped).
   */
  async scrapeChannels(names: readonly string[]): Promise<ServerSnapshot> {
    const wanted = new Set(names);
    return this.#scrapeWith((name) => wanted.has(name) && this.#opts.selectSubject(name));
  }

  async #scrapeWith(keep: (stream: string) => boolean): Promise<ServerSnapshot> {
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    const reads = await Promise.all(this.#nodes.map((node) => node.read(deadline)));
    const repeated = repeatedNodes(reads.map((r) => ({ node: r.snapshot.node, serverId: r.snapshot.jetstream?.serverId })));
    const answered = reads.filter((r) => r.streams !== undefined && !repeated.some((n) => n.node === r.snapshot.node));
    const claimers = answered.filter((r) => r.snapshot.jetstream!.metaLeader);
    const owner = claimers[0] ?? answered[0];
    const channels = logicalServerChannels(
      answered.map((r) => r.streams!),
      this.#made,
    ).filter((c) => keep(c.name));
    const snapshot: ServerSnapshot = {
      name: this.target.name,
      backend: 'jetstream',
      nodes: reads.map((r) => r.snapshot),
      claimers: claimers.map((c) => c.snapshot.node),
      channels,
      ageLookups: 0,
    };
    if (repeated.length > 0) snapshot.repeated = repeated;
    if (owner) {
      snapshot.owner = owner.snapshot.node;
      this.#quietCursors.narrow(channels);
      const budget = AbortSignal.any([deadline, AbortSignal.timeout(AGE_LOOKUP_BUDGET_MS)]);
      snapshot.ageLookups = await this.#ages.annotate(this.target.name, channels, Date.now(), this.#messageTimes, budget);
    }
    const clientError = this.#messageTimes?.error;
    if (clientError !== undefined) snapshot.clientError = clientError;
    return snapshot;
  }

  cacheBytes(): number {
    let bytes = 0;
    for (const node of this.#nodes) bytes += node.cacheBytes;
    return bytes;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#nodes.map((n) => n.close()), this.#messageTimes?.close()]);
  }
}

/** One node's monitoring port: its HTTP connections and the reader that remembers its name. */
class JetStreamNode {
  readonly #target: NodeTarget;
  readonly #http: MonitorHttpClient;
  readonly #reader: JszNodeReader;
  readonly #opts: JetStreamSourceOptions;

  constructor(target: NodeTarget, opts: JetStreamSourceOptions) {
    this.#target = target;
    this.#opts = opts;
    this.#http = new MonitorHttpClient(target, { timeoutMs: opts.timeoutMs, connections: CONNECTIONS });
    this.#reader = new JszNodeReader(opts.pageSize);
  }

  get cacheBytes(): number {
    return this.#reader.cacheBytes;
  }

  async read(deadline: AbortSignal): Promise<{ snapshot: NodeSnapshot; streams?: NodeStream[] }> {
    const started = performance.now();
    const giveUp = new AbortController();
    const signal = AbortSignal.any([deadline, giveUp.signal]);
    const snapshot: NodeSnapshot = { node: this.#target.node, url: this.#target.url, durationSeconds: 0, checkedPages: 0 };
    try {
      const read = await this.#reader.read(monitorGet(this.#http, signal, this.#opts.caps, this.#opts.pageSize));
      snapshot.jetstream = nodeInfo(read);
      return { snapshot, streams: read.streams };
    } catch (err) {
      giveUp.abort();
      snapshot.failure = failureOf(err, this.#target.url);
      return { snapshot };
    } finally {
      snapshot.durationSeconds = (performance.now() - started) / 1000;
      snapshot.checkedPages = this.#reader.checkedPages;
    }
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}

function nodeInfo({ identity, jsz }: JetStreamNodeRead): JetStreamNodeInfo {
  return {
    serverId: identity.serverId,
    serverName: identity.serverName,
    version: identity.version,
    cluster: identity.cluster,
    startTimeSeconds: identity.startTimeSeconds,
    metaLeader: jsz.metaLeader !== undefined && jsz.metaLeader === identity.serverName,
    ...jsz.totals,
  };
}
