import type { Logger } from './log.js';
import type { SelfMetrics } from './metrics/self-metrics.js';
import type { ClientPending, ServerSnapshot, Snapshot } from './model/types.js';
import { narrowToScope, reportedScope } from './probes/scope.js';

/** Anything that can read one server into the model: one per configured server. */
export interface ServerSource {
  readonly target: { name: string; url: string };
  scrape(): Promise<ServerSnapshot>;
  /** Reads only the named channels; names the server does not have are left out. */
  scrapeChannels(names: readonly string[]): Promise<ServerSnapshot>;
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
}

/**
 * Collects all servers concurrently, on demand. Requests that arrive while a collection runs
 * share it, so concurrent scrapes cost NATS one sweep.
 */
export class Collector {
  readonly #sources: readonly ServerSource[];
  readonly #log: Logger;
  readonly #selfMetrics: SelfMetrics;
  readonly #clientReports: ClientReports | undefined;
  readonly #subjectsAuto: boolean;
  #inflight: Promise<Snapshot> | undefined;
  #last = new Map<string, ServerSnapshot & { at: number }>();

  constructor(sources: readonly ServerSource[], log: Logger, selfMetrics: SelfMetrics, opts: CollectorOptions = {}) {
    this.#sources = sources;
    this.#log = log;
    this.#selfMetrics = selfMetrics;
    this.#clientReports = opts.clientReports;
    this.#subjectsAuto = opts.subjectsAuto ?? false;
  }

  collect(): Promise<Snapshot> {
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** The collection in flight, if any: shutdown waits for it. */
  get inflight(): Promise<Snapshot> | undefined {
    return this.#inflight;
  }

  /** The last result of each server, for the landing page. */
  lastResults(): Array<{ name: string; url: string; result?: ServerSnapshot & { at: number } }> {
    return this.#sources.map((s) => {
      const result = this.#last.get(s.target.name);
      return result ? { name: s.target.name, url: s.target.url, result } : { name: s.target.name, url: s.target.url };
    });
  }

  async #run(): Promise<Snapshot> {
    const startedAt = Date.now();
    const clientPending = this.#clientReports?.pending(performance.now()) ?? [];
    const servers = await Promise.all(this.#sources.map((s) => this.#scrapeServer(s, clientPending)));
    for (const s of servers) this.#record(s, startedAt);
    return { startedAt, servers, clientPending };
  }

  async #scrapeServer(source: ServerSource, clientPending: readonly ClientPending[]): Promise<ServerSnapshot> {
    if (!this.#subjectsAuto) return source.scrape();
    const scope = reportedScope(clientPending, source.target.name);
    return narrowToScope(await source.scrapeChannels([...scope.keys()]), scope);
  }

  #record(s: ServerSnapshot, at: number): void {
    const previous = this.#last.get(s.name);
    if (s.failure) {
      this.#selfMetrics.countError(s.name, s.failure.reason);
      const changed = previous?.failure?.message !== s.failure.message;
      const entry = { server: s.name, reason: s.failure.reason, err: s.failure.message };
      if (changed) this.#log.warn(entry, 'scrape of server failed');
      else this.#log.debug(entry, 'scrape of server failed again');
    } else if (previous?.failure) {
      this.#log.info({ server: s.name }, 'scrape of server succeeds again');
    }
    this.#last.set(s.name, { ...s, channels: [], at });
  }

  async close(): Promise<void> {
    await Promise.all(this.#sources.map((s) => s.close()));
  }
}
