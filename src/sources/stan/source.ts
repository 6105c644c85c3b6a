import { buildChannel } from '../../model/consumers.js';
import type { Channel, NodeSnapshot, ScrapeFailure, ServerInfo, ServerSnapshot, StoreLimits } from '../../model/types.js';
import type { NodeTarget, ServerTarget } from '../../targets.js';
import type { SubjectMatcher } from '../../subjects.js';
import { ScrapeError } from '../scrape-error.js';
import { OldestAges } from '../../model/oldest-age.js';
import { MonitorHttpClient } from './http-client.js';
import { StanMessageTimes } from './message-times.js';
import { NameTable, type ReadPage, readChannelsPage } from './channelsz-reader.js';
import { parseChannel, parseChannelsPage, parseServerz, parseStorez } from './parse.js';

export interface StanSourceOptions {
  timeoutMs: number;
  pageSize: number;
  selectSubject: SubjectMatcher;
  /** Most publish times read over --nats-url per scrape. */
  ageLookups: number;
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
type ChannelReader = (node: StanNode, info: ServerInfo, signal: AbortSignal, into: Map<string, Channel>) => Promise<void>;

/** A node's serverz and storez, or why they could not be read. */
interface NodeState {
  node: StanNode;
  started: number;
  info?: ServerInfo;
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
    return this.#scrapeWith((node, info, signal, into) => node.readChannels(info.channels, signal, into));
  }

  /** serverz and storez as scrape() reads them, and of the owner's channels only those named (`--subjects auto`). */
  async scrapeChannels(names: readonly string[]): Promise<ServerSnapshot> {
    return this.#scrapeWith((node, _info, signal, into) => node.readNamedChannels(names, signal, into));
  }

  async #scrapeWith(readChannels: ChannelReader): Promise<ServerSnapshot> {
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    // Ownership is decided on every node's answer. A node that has not answered within half the
    // deadline counts as down, so that one hung node cannot use up the time of the owner's sweep.
    const decide = this.#nodes.length > 1 ? AbortSignal.any([deadline, AbortSignal.timeout(this.#opts.timeoutMs / 2)]) : deadline;
    const states = await Promise.all(this.#nodes.map((node) => node.readState(decide)));
    const claimers = states.filter((s) => s.info !== undefined && ownsQueueState(s.info));
    const owner = claimers[0];
    const channels = new Map<string, Channel>();
    if (owner) {
      try {
        await readChannels(owner.node, owner.info!, deadline, channels);
      } catch (err) {
        owner.failure = failureOf(err, owner.node.target.url);
        delete owner.info;
        delete owner.limits;
        channels.clear();
      }
    }
    const ownerAnswered = owner !== undefined && owner.failure === undefined;
    const snapshot: ServerSnapshot = {
      name: this.target.name,
      nodes: states.map((s) => nodeSnapshot(s, s === owner)),
      ownerConflict: claimers.length > 1,
      channels: ownerAnswered ? [...channels.values()] : [],
      ageLookups: 0,
    };
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
  /** Pages of the current scrape that the fast reader left to the checked parser. */
  checkedPages = 0;
  /** When this node's part of the current scrape ended. */
  ended = 0;

  constructor(target: NodeTarget, opts: StanSourceOptions) {
    this.target = target;
    this.#opts = opts;
    this.#http = new MonitorHttpClient(target, { timeoutMs: opts.timeoutMs, connections: PAGE_CONCURRENCY });
  }

  /** serverz and storez together; a failure of either gives up the other. */
  async readState(deadline: AbortSignal): Promise<NodeState> {
    const started = performance.now();
    this.checkedPages = 0;
    const giveUp = new AbortController();
    const signal = AbortSignal.any([deadline, giveUp.signal]);
    try {
      const [serverz, storez] = await Promise.all([
        this.#http.getJson('/streaming/serverz', signal),
        this.#http.getJson('/streaming/storez', signal),
      ]);
      const state: NodeState = { node: this, started, info: parseServerz(serverz.body), limits: parseStorez(storez.body) };
      this.ended = performance.now();
      return state;
    } catch (err) {
      giveUp.abort();
      this.ended = performance.now();
      return { node: this, started, failure: failureOf(err, this.target.url) };
    }
  }

  /**
   * Pages through channelsz until total, PAGE_CONCURRENCY pages at a time from the first one on
   * (serverz told how many channels to expect), each page normalised as soon as it arrives while
   * the server still encodes the others. Channels keep the server's order (sorted by name).
   */
  async readChannels(expected: number, signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const pageSize = this.#opts.pageSize;
    const readPage = async (offset: number): Promise<{ total: number; count: number; channels: Channel[] }> => {
      const where = `channelsz offset ${offset}`;
      const path = `/streaming/channelsz?subs=1&offset=${offset}&limit=${pageSize}`;
      const page = await this.#http.read(path, signal, (_status, body) => readChannelsPage(body, this.#names) ?? this.#checkedPage(path, body, where));
      this.ended = performance.now();
      const channels: Channel[] = [];
      for (const parsed of page.channels) {
        if (this.#opts.selectSubject(parsed.facts.name)) channels.push(buildChannel(parsed.facts, parsed.subscriptions));
      }
      return { total: page.total, count: page.count, channels };
    };
    const pages: Channel[][] = [];
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
    return { total: page.total, count: page.count, channels: page.channels.map((raw) => parseChannel(raw, where)) };
  }

  /**
   * One channelsz?channel=NAME&subs=1 per selected name, a few at a time. A 404 means the server
   * has no such channel (nothing was published or subscribed there yet): it is left out.
   */
  async readNamedChannels(names: readonly string[], signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const wanted = names.filter((name) => this.#opts.selectSubject(name));
    const found: Array<Channel | undefined> = [];
    let next = 0;
    const readNext = async (): Promise<void> => {
      for (let i = next++; i < wanted.length; i = next++) {
        const name = wanted[i]!;
        const res = await this.#http.getJson(`/streaming/channelsz?channel=${encodeURIComponent(name)}&subs=1`, signal, [404]);
        if (res.status === 404) continue;
        const parsed = parseChannel(res.body, `channelsz channel ${name}`);
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
export function ownsQueueState(info: ServerInfo): boolean {
  return info.state === 'STANDALONE' || info.state === 'FT_ACTIVE' || (info.state === 'CLUSTERED' && info.role === 'Leader');
}

/** A failure as the model holds it; an error that is not a ScrapeError is the exporter's own fault. */
function failureOf(err: unknown, url: string): ScrapeFailure {
  if (err instanceof ScrapeError) return { reason: err.reason, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { reason: 'exporter_error', message: `exporter fault while reading ${url}: ${e.message}`, cause: e };
}

function nodeSnapshot(state: NodeState, owner: boolean): NodeSnapshot {
  const { node } = state;
  const snapshot: NodeSnapshot = {
    node: node.target.node,
    url: node.target.url,
    durationSeconds: (node.ended - state.started) / 1000,
    checkedPages: owner ? node.checkedPages : 0,
  };
  if (state.failure) snapshot.failure = state.failure;
  if (state.info) snapshot.info = state.info;
  if (state.limits) snapshot.limits = state.limits;
  return snapshot;
}
