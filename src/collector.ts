import type { Logger } from './log.js';
import type { SelfMetrics } from './metrics/self-metrics.js';
import type { ClientPending, NodeSnapshot, ServerSnapshot, Snapshot } from './model/types.js';
import { repeatedNodeMessage } from './model/same-server.js';
import { narrowToScope, reportedScope } from './reports/scope.js';
import type { ServerTarget } from './targets.js';

/** Anything that can read one logical server into the model: one per configured NAME. */
export interface ServerSource {
  readonly target: ServerTarget;
  scrape(): Promise<ServerSnapshot>;
  /** Reads only the named channels; names the server does not have are left out. */
  scrapeChannels(names: readonly string[]): Promise<ServerSnapshot>;
  /** Bytes kept from one scrape to the next (the incremental scrape's records). */
  cacheBytes?(): number;
  close(): Promise<void>;
}

/** The client-side reports of this pod's workers (the probe store). */
export interface ClientReports {
  /** Live figures; `now` is performance.now(). */
  pending(now: number): ClientPending[];
}

export interface CollectorOptions {
  clientReports?: ClientReports;
  /** `--subjects auto`: read only the channels and consumers the client reports name. */
  subjectsAuto?: boolean;
  /** Sees each finished collection before its requesters do (the status page's history). */
  onCollection?: (snapshot: Snapshot) => void;
}

/** When /metrics last started a collection, and how long before that the one before it. */
export interface ScrapeCadence {
  sinceLastMs: number;
  intervalMs: number | undefined;
}

/**
 * Collects all servers concurrently, on demand. Requests that arrive while a collection runs
 * share it, so concurrent scrapes cost NATS one sweep.
 */
export class Collector {
  readonly #sources: readonly ServerSource[];
  readonly #log: Logger;
  /** A child logger per logical server, and one per node under it; keyed by server, or server and node. */
  readonly #childLogs = new Map<string, Logger>();
  readonly #selfMetrics: SelfMetrics;
  readonly #clientReports: ClientReports | undefined;
  readonly #subjectsAuto: boolean;
  readonly #onCollection: ((snapshot: Snapshot) => void) | undefined;
  #inflight: Promise<Snapshot> | undefined;
  #lastEndedAt: number | undefined;
  #lastScrapeStart: number | undefined;
  #scrapeIntervalMs: number | undefined;
  #last = new Map<string, ServerSnapshot & { at: number }>();

  constructor(sources: readonly ServerSource[], log: Logger, selfMetrics: SelfMetrics, opts: CollectorOptions = {}) {
    this.#sources = sources;
    this.#log = log;
    this.#selfMetrics = selfMetrics;
    this.#clientReports = opts.clientReports;
    this.#subjectsAuto = opts.subjectsAuto ?? false;
    this.#onCollection = opts.onCollection;
  }

  /** For /metrics: a new collection, or the one in flight. */
  collect(): Promise<Snapshot> {
    if (!this.#inflight) {
      const now = performance.now();
      if (this.#lastScrapeStart !== undefined) this.#scrapeIntervalMs = now - this.#lastScrapeStart;
      this.#lastScrapeStart = now;
    }
    return this.#start();
  }

  /**
   * For readers that must not add load on NATS (the status page): nothing when the last
   * collection ended less than maxAgeMs ago, else the one in flight, else a new one. What was
   * collected reaches them through onCollection.
   */
  async refresh(maxAgeMs: number): Promise<void> {
    if (!this.#inflight && this.#lastEndedAt !== undefined && performance.now() - this.#lastEndedAt < maxAgeMs) return;
    await this.#start();
  }

  /** How often /metrics collects; undefined before its first collection. */
  scrapeCadence(): ScrapeCadence | undefined {
    if (this.#lastScrapeStart === undefined) return undefined;
    return { sinceLastMs: performance.now() - this.#lastScrapeStart, intervalMs: this.#scrapeIntervalMs };
  }

  #start(): Promise<Snapshot> {
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined;
      this.#lastEndedAt = performance.now();
    });
    return this.#inflight;
  }

  /** The collection in flight, if any: shutdown waits for it. */
  get inflight(): Promise<Snapshot> | undefined {
    return this.#inflight;
  }

  /** The last result of each server, for the status page; `at` is when that collection started. */
  lastResults(): Array<{ target: ServerTarget; result?: ServerSnapshot & { at: number } }> {
    return this.#sources.map((s) => {
      const result = this.#last.get(s.target.name);
      return result ? { target: s.target, result } : { target: s.target };
    });
  }

  async #run(): Promise<Snapshot> {
    const startedAt = Date.now();
    const clientPending = this.#clientReports?.pending(performance.now()) ?? [];
    const servers = await Promise.all(this.#sources.map((s) => this.#scrapeServer(s, clientPending)));
    for (const s of servers) this.#record(s, startedAt);
    const snapshot = { startedAt, servers, clientPending };
    try {
      this.#onCollection?.(snapshot);
    } catch (err) {
      // The page's bookkeeping must never cost a scrape its answer.
      this.#log.error({ err }, 'recording a collection for the status page failed');
    }
    return snapshot;
  }

  async #scrapeServer(source: ServerSource, clientPending: readonly ClientPending[]): Promise<ServerSnapshot> {
    if (!this.#subjectsAuto) return source.scrape();
    const scope = reportedScope(clientPending, source.target.name);
    return narrowToScope(await source.scrapeChannels([...scope.keys()]), scope);
  }

  #record(s: ServerSnapshot, at: number): void {
    const previous = this.#last.get(s.name);
    const log = this.#childLog(s.name);
    for (const node of s.nodes)
      this.#recordNode(
        s.name,
        this.#childLog(s.name, node.node),
        node,
        previous?.nodes.find((n) => n.node === node.node),
      );
    for (const r of s.repeated ?? []) {
      const before = previous?.repeated?.some((p) => p.node === r.node && p.serverId === r.serverId);
      if (!before) this.#childLog(s.name, r.node).warn({ sameAs: r.sameAs }, repeatedNodeMessage(r));
    }
    const conflict = s.claimers.length > 1;
    const conflictBefore = (previous?.claimers.length ?? 0) > 1;
    if (conflict && !conflictBefore) {
      log.warn(
        { owner: s.owner, alsoClaiming: s.claimers.filter((n) => n !== s.owner) },
        'more than one node claims the queue state (two FT actives, two Raft leaders, two JetStream meta leaders); exporting the first in configured order',
      );
    } else if (!conflict && conflictBefore) {
      log.info({ owner: s.owner }, 'one node claims the queue state again');
    }
    if (s.clientError !== previous?.clientError) {
      if (s.clientError) log.warn({ reason: s.clientError }, 'the --nats-url connection for exact message ages failed; ages are estimated');
      else if (previous?.clientError) log.info('the --nats-url connection works again');
    }
    if (s.ageLookups > 0) this.#selfMetrics.countAgeLookups(s.name, s.ageLookups);
    this.#last.set(s.name, { ...s, channels: [], at });
  }

  #childLog(server: string, node?: string): Logger {
    const key = node === undefined ? server : `${server}\n${node}`;
    let child = this.#childLogs.get(key);
    if (!child) {
      child = node === undefined ? this.#log.child({ server }) : this.#childLog(server).child({ node });
      this.#childLogs.set(key, child);
    }
    return child;
  }

  #recordNode(server: string, log: Logger, n: NodeSnapshot, previous: NodeSnapshot | undefined): void {
    if (n.checkedPages > 0) this.#selfMetrics.countCheckedPages(server, n.node, n.checkedPages);
    if (n.failure) {
      this.#selfMetrics.countError(server, n.node, n.failure.reason);
      // scrapeError is the reason label of nats_queue_exporter_scrape_errors_total.
      const entry = { scrapeError: n.failure.reason, reason: n.failure.message };
      const changed = previous?.failure?.message !== n.failure.message;
      if (!changed) log.debug(entry, 'scrape of server failed again');
      else if (n.failure.reason === 'exporter_error')
        log.error({ ...entry, err: n.failure.cause }, 'exporter fault while scraping a server (a bug in nats-queue-exporter, not in the server)');
      else log.warn(entry, 'scrape of server failed');
    } else if (previous?.failure) {
      log.info('scrape of server succeeds again');
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#sources.map((s) => s.close()));
  }
}
