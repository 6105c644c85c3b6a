import { buildChannel } from '../../model/consumers.js';
import type { Channel, NodeSnapshot, ScrapeFailure, StanServerInfo, ServerSnapshot, StoreLimits } from '../../model/types.js';
import type { NodeTarget, ServerTarget } from '../../targets.js';
import type { SubjectMatcher } from '../../subjects.js';
import { failureOf, ScrapeError } from '../scrape-error.js';
import { OldestAges } from '../../model/oldest-age.js';
import { repeatedNodes } from '../../model/same-server.js';
import type { AnswerCap, AnswerCaps } from '../answer-caps.js';
import { MonitorHttpClient } from '../http-client.js';
import { StanMessageTimes } from './message-times.js';
import { NameTable, type ReadPage, readChannelsPage } from './channelsz-reader.js';
import { ChannelRecords } from './channel-records.js';
import { parseChannel, parseChannelsPage, parseServerz, parseStorez } from './parse.js';

export interface StanSourceOptions {
  timeoutMs: number;
  pageSize: number;
  selectSubject: SubjectMatcher;
  caps: AnswerCaps;
  /** Most publish times read over --nats-url per scrape. */
  ageLookups: number;
  /**
   * Also read what only --nss-compat renders: every subscription's inbox, and the channels of
   * the nodes that list them without owning the figures (NodeSnapshot.listedChannels: Raft
   * followers, a second claimer). Off, neither costs anything.
   */
  nssCompat?: boolean;
}

/** Publish-time lookups at once, and the longest they may add to a scrape. */
const AGE_LOOKUP_CONCURRENCY = 4;
const AGE_LOOKUP_BUDGET_MS = 1000;

/**
 * channelsz pages requested at once after the first one has told the total: one page is parsed
 * here while the server encodes the next (its JSON encoding is the slow part). More in flight
 * was no faster in npm run bench and held more pages in memory at once.
 */
export const PAGE_CONCURRENCY = 2;

/** Reads the owner's channels (all, or those `--subjects auto` names) into `into`. */
type ChannelReader = (node: StanNode, info: StanServerInfo, signal: AbortSignal, into: Map<string, Channel>) => Promise<void>;

/** A node's serverz and storez, or why they could not be read. */
interface NodeState {
  node: StanNode;
  started: number;
  info?: StanServerInfo;
  limits?: StoreLimits;
  failure?: ScrapeFailure;
}

/**
 * Reads one logical NATS Streaming server (a standalone server, an FT pair or a Raft cluster)
 * into a ServerSnapshot, under one deadline for the whole server: serverz and storez of every
 * node, then every channelsz?subs=1 page of the node that owns the queue state.
 */
export class StanSource {
  readonly target: ServerTarget;
  readonly #opts: StanSourceOptions;
  readonly #nodes: readonly StanNode[];
  readonly #ages: OldestAges;
  readonly #messageTimes: StanMessageTimes | undefined;

  constructor(target: ServerTarget, opts: StanSourceOptions) {
    this.target = target;
    this.#opts = opts;
    this.#nodes = target.nodes.map((node) => new StanNode(node, opts));
    this.#ages = new OldestAges({ lookupsPerScrape: opts.ageLookups, concurrency: AGE_LOOKUP_CONCURRENCY });
    this.#messageTimes = target.natsClient && new StanMessageTimes(target.natsClient);
  }

  async scrape(): Promise<ServerSnapshot> {
    return this.#scrapeWith((node, info, signal, into) =>
      node.readChannels(info.channels, this.#opts.caps.channelszPage(this.#opts.pageSize, info), signal, into),
    );
  }

  /** serverz and storez as scrape() reads them, and of the owner's channels only those named (`--subjects auto`). */
  async scrapeChannels(names: readonly string[]): Promise<ServerSnapshot> {
    return this.#scrapeWith((node, info, signal, into) => node.readNamedChannels(names, this.#opts.caps.channelszChannel(info.subscriptions), signal, into));
  }

  async #scrapeWith(readChannels: ChannelReader): Promise<ServerSnapshot> {
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    // Ownership is decided on every node's answer. A node that has not answered within half the
    // deadline counts as down, so that one hung node cannot use up the time of the owner's sweep.
    const decide = this.#nodes.length > 1 ? AbortSignal.any([deadline, AbortSignal.timeout(this.#opts.timeoutMs / 2)]) : deadline;
    const states = await Promise.all(this.#nodes.map((node) => node.readState(decide)));
    const repeated = repeatedNodes(states.map((s) => ({ node: s.node.target.node, serverId: s.info?.serverId })));
    const distinct = states.filter((s) => !repeated.some((r) => r.node === s.node.target.node));
    const claimers = distinct.filter((s) => s.info !== undefined && ownsQueueState(s.info));
    const owner = claimers[0];
    const channels = new Map<string, Channel>();
    const readOwner = async (): Promise<void> => {
      if (!owner) return;
      try {
        await readChannels(owner.node, owner.info!, deadline, channels);
      } catch (err) {
        failed(owner, err);
        channels.clear();
      }
    };
    // v0.16.0 read every URL it was given: a Raft follower's listing is part of its answer.
    const listers = this.#opts.nssCompat ? distinct.filter((s) => s !== owner && s.info !== undefined && listsChannels(s.info)) : [];
    const listed = new Map<NodeState, Channel[]>();
    const readListed = async (state: NodeState): Promise<void> => {
      const into = new Map<string, Channel>();
      try {
        await state.node.readChannels(state.info!.channels, this.#opts.caps.channelszPage(this.#opts.pageSize, state.info!), deadline, into);
        listed.set(state, [...into.values()]);
      } catch (err) {
        failed(state, err);
      }
    };
    await Promise.all([readOwner(), ...listers.map(readListed)]);
    const ownerAnswered = owner !== undefined && owner.failure === undefined;
    const snapshot: ServerSnapshot = {
      name: this.target.name,
      backend: 'stan',
      nodes: states.map((s) => nodeSnapshot(s, s === owner || listed.has(s), listed.get(s))),
      claimers: claimers.map((c) => c.node.target.node),
      channels: ownerAnswered ? [...channels.values()] : [],
      ageLookups: 0,
    };
    if (repeated.length > 0) snapshot.repeated = repeated;
    if (ownerAnswered) {
      snapshot.owner = owner.node.target.node;
      this.#messageTimes?.useCluster(owner.info!.clusterId);
      const budget = AbortSignal.any([deadline, AbortSignal.timeout(AGE_LOOKUP_BUDGET_MS)]);
      snapshot.ageLookups = await this.#ages.annotate(this.target.name, snapshot.channels, Date.now(), this.#messageTimes, budget);
    }
    const clientError = this.#messageTimes?.error;
    if (clientError !== undefined) snapshot.clientError = clientError;
    return snapshot;
  }

  cacheBytes(): number {
    let bytes = 0;
    for (const node of this.#nodes) bytes += node.records.bytes;
    return bytes;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#nodes.map((n) => n.close()), this.#messageTimes?.close()]);
  }
}

/** One node's monitoring port: its HTTP connections and the names its pages repeat. */
class StanNode {
  readonly target: NodeTarget;
  readonly #opts: StanSourceOptions;
  readonly #http: MonitorHttpClient;
  readonly #names = new NameTable();
  /** Subscription inboxes, read only with --nss-compat. */
  readonly #inboxes: NameTable | undefined;
  /** The last sweep's channel records and what they were made into. */
  readonly records = new ChannelRecords();
  /** Pages of the current scrape that the fast reader left to the checked parser. */
  checkedPages = 0;
  /** When this node's part of the current scrape ended. */
  ended = 0;
  /** Whether /varz answered 200, once asked. */
  #varzAnswered: boolean | undefined;

  constructor(target: NodeTarget, opts: StanSourceOptions) {
    this.target = target;
    this.#opts = opts;
    this.#http = new MonitorHttpClient(target, { timeoutMs: opts.timeoutMs, connections: PAGE_CONCURRENCY });
    this.#inboxes = opts.nssCompat ? new NameTable() : undefined;
  }

  /** serverz and storez together; a failure of either gives up the other. */
  async readState(deadline: AbortSignal): Promise<NodeState> {
    const started = performance.now();
    this.checkedPages = 0;
    const giveUp = new AbortController();
    const signal = AbortSignal.any([deadline, giveUp.signal]);
    try {
      const [serverz, storez] = await Promise.all([
        this.#http.getJson('/streaming/serverz', signal, this.#opts.caps.serverz),
        this.#http.getJson('/streaming/storez', signal, this.#opts.caps.storez),
      ]);
      const state: NodeState = { node: this, started, info: parseServerz(serverz.body), limits: parseStorez(storez.body) };
      this.ended = performance.now();
      return state;
    } catch (err) {
      giveUp.abort();
      const failure = failureOf(err, this.target.url);
      if (err instanceof ScrapeError && err.status === 404 && (await this.#answersVarz(deadline))) {
        failure.message += `; its /varz answers, so this is a nats-server without NATS Streaming (or one still starting): for its JetStream queues give it with --jetstream ${this.target.server}=${this.target.url}`;
      }
      this.ended = performance.now();
      return { node: this, started, failure };
    }
  }

  /**
   * Whether the port answers nats-server's /varz, asked at the first 404 of serverz or storez
   * and remembered once a status came back.
   */
  async #answersVarz(deadline: AbortSignal): Promise<boolean> {
    if (this.#varzAnswered === undefined) {
      try {
        this.#varzAnswered = await this.#http.read('/varz', deadline, this.#opts.caps.varz, () => true);
      } catch (err) {
        if (err instanceof ScrapeError && err.reason === 'http_status') this.#varzAnswered = false;
        return false;
      }
    }
    return this.#varzAnswered;
  }

  /**
   * Pages through channelsz until total, PAGE_CONCURRENCY pages at a time from the first one on
   * (serverz told how many channels to expect), each page normalised as soon as it arrives while
   * the server still encodes the others. Channels keep the server's order (sorted by name).
   */
  async readChannels(expected: number, cap: AnswerCap, signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const pageSize = this.#opts.pageSize;
    const readPage = async (offset: number): Promise<{ total: number; count: number; channels: Channel[] }> => {
      const where = `channelsz offset ${offset}`;
      const path = `/streaming/channelsz?subs=1&offset=${offset}&limit=${pageSize}`;
      const page = await this.#http.read(
        path,
        signal,
        cap,
        (_status, body) => readChannelsPage(body, this.#names, this.#inboxes, this.records, this.#opts.selectSubject) ?? this.#checkedPage(path, body, where),
      );
      this.ended = performance.now();
      const channels: Channel[] = [];
      for (const read of page.channels) {
        if (!this.#opts.selectSubject(read.facts.name)) continue;
        let channel = read.built;
        if (channel === undefined) {
          channel = buildChannel(read.facts, read.subscriptions);
          if (read.record) this.records.keep(read.record.key, read.record.bytes, channel, read.record.consumerOf);
        }
        channels.push(channel);
      }
      return { total: page.total, count: page.count, channels };
    };
    const pages: Channel[][] = [];
    this.records.beginScrape();
    // The first page is always read: channels may have been created since serverz answered.
    let total = Math.max(expected, 1);
    let next = 0;
    let ended = false;
    const readPages = async (): Promise<void> => {
      while (!ended && next < total) {
        const offset = next;
        next += pageSize;
        const page = await readPage(offset);
        pages[offset / pageSize] = page.channels;
        // A page that comes back empty ends the list; channels created meanwhile raise the total.
        if (page.count === 0) ended = true;
        else total = Math.max(total, page.total);
      }
    };
    await Promise.all(Array.from({ length: PAGE_CONCURRENCY }, readPages));
    this.records.endScrape();
    // A channel that moved to the next page while the pages were read is kept once, as last seen.
    for (const page of pages) for (const channel of page ?? []) into.set(channel.name, channel);
    this.ended = performance.now();
  }

  /**
   * A page readChannelsPage was not sure of, read by JSON.parse and the checked parser: it throws
   * the error that says what is wrong, or (for JSON the fast reader leaves alone, such as escaped
   * keys) gives the page.
   */
  #checkedPage(path: string, body: Buffer, where: string): ReadPage {
    this.checkedPages++;
    const page = parseChannelsPage(this.#http.parseJson(path, body), where);
    return { total: page.total, count: page.count, channels: page.channels.map((raw) => parseChannel(raw, where, this.#inboxes !== undefined)) };
  }

  /**
   * One channelsz?channel=NAME&subs=1 per selected name, a few at a time. A 404 means the server
   * has no such channel (nothing was published or subscribed there yet): it is left out.
   */
  async readNamedChannels(names: readonly string[], cap: AnswerCap, signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const wanted = names.filter((name) => this.#opts.selectSubject(name));
    const found: Array<Channel | undefined> = [];
    let next = 0;
    const readNext = async (): Promise<void> => {
      for (let i = next++; i < wanted.length; i = next++) {
        const name = wanted[i]!;
        const res = await this.#http.getJson(`/streaming/channelsz?channel=${encodeURIComponent(name)}&subs=1`, signal, cap, [404]);
        if (res.status === 404) continue;
        const parsed = parseChannel(res.body, `channelsz channel ${name}`, this.#inboxes !== undefined);
        found[i] = buildChannel(parsed.facts, parsed.subscriptions);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, wanted.length) }, readNext));
    for (const channel of found) if (channel) into.set(channel.name, channel);
    this.ended = performance.now();
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}

/**
 * Whether this node claims the queue state: a standalone server, the active node of an FT pair,
 * the leader of a Raft cluster. An FT standby has no channels; a Raft follower lists every channel
 * too, but only the leader's figures are exported, so a queue is never counted once per node, and
 * followers are spared the channelsz sweep.
 */
export function ownsQueueState(info: StanServerInfo): boolean {
  return info.state === 'STANDALONE' || info.state === 'FT_ACTIVE' || (info.state === 'CLUSTERED' && info.role === 'Leader');
}

/** States that list channels: all but an FT standby (and a failed or shut down server). */
function listsChannels(info: StanServerInfo): boolean {
  return info.state === 'STANDALONE' || info.state === 'FT_ACTIVE' || info.state === 'CLUSTERED';
}

/** A node whose channels could not be read failed this scrape, whatever its serverz said. */
function failed(state: NodeState, err: unknown): void {
  state.failure = failureOf(err, state.node.target.url);
  delete state.info;
  delete state.limits;
}

/** `swept`: this node's channelsz was read this scrape; `listedChannels`: what it listed, when it is not the owner. */
function nodeSnapshot(state: NodeState, swept: boolean, listedChannels: Channel[] | undefined): NodeSnapshot {
  const { node } = state;
  const snapshot: NodeSnapshot = {
    node: node.target.node,
    url: node.target.url,
    durationSeconds: (node.ended - state.started) / 1000,
    checkedPages: swept ? node.checkedPages : 0,
  };
  if (state.failure) snapshot.failure = state.failure;
  if (state.info) snapshot.info = state.info;
  if (state.limits) snapshot.limits = state.limits;
  if (listedChannels) snapshot.listedChannels = listedChannels;
  return snapshot;
}
