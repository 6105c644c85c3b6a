import type { ServerTarget } from '../../config.js';
import { buildChannel } from '../../model/consumers.js';
import type { Channel, ServerInfo, ServerSnapshot } from '../../model/types.js';
import type { SubjectMatcher } from '../../subjects.js';
import { ScrapeError } from '../scrape-error.js';
import type { AnswerCap, AnswerCaps } from './answer-caps.js';
import { MonitorHttpClient } from './http-client.js';
import { NameTable, type ReadPage, readChannelsPage } from './channelsz-reader.js';
import { parseChannel, parseChannelsPage, parseServerz, parseStorez } from './parse.js';

export interface StanSourceOptions {
  timeoutMs: number;
  pageSize: number;
  selectSubject: SubjectMatcher;
  caps: AnswerCaps;
}

/**
 * channelsz pages requested at once after the first one has told the total: one page is parsed
 * here while the server encodes the next (its JSON encoding is the slow part). More in flight
 * was no faster in npm run bench and held more pages in memory at once.
 */
export const PAGE_CONCURRENCY = 2;

/**
 * Reads one NATS Streaming server's monitoring endpoints into a ServerSnapshot: serverz,
 * storez and every channelsz?subs=1 page, under one deadline for the whole server.
 */
export class StanSource {
  readonly target: ServerTarget;
  readonly #opts: StanSourceOptions;
  readonly #http: MonitorHttpClient;
  readonly #names = new NameTable();

  constructor(target: ServerTarget, opts: StanSourceOptions) {
    this.target = target;
    this.#opts = opts;
    this.#http = new MonitorHttpClient(target, { timeoutMs: opts.timeoutMs, connections: PAGE_CONCURRENCY });
  }

  async scrape(): Promise<ServerSnapshot> {
    return this.#scrapeWith((info, signal, into) => this.#readChannels(info.channels, this.#opts.caps.channelszPage(this.#opts.pageSize, info), signal, into));
  }

  /** serverz and storez as scrape() reads them, and of the channels only those named (`--subjects auto`). */
  async scrapeChannels(names: readonly string[]): Promise<ServerSnapshot> {
    return this.#scrapeWith((info, signal, into) => this.#readNamedChannels(names, this.#opts.caps.channelszChannel(info.subscriptions), signal, into));
  }

  async #scrapeWith(readChannels: (info: ServerInfo, signal: AbortSignal, into: Map<string, Channel>) => Promise<void>): Promise<ServerSnapshot> {
    const started = performance.now();
    const giveUp = new AbortController();
    const signal = AbortSignal.any([AbortSignal.timeout(this.#opts.timeoutMs), giveUp.signal]);
    const name = this.target.name;
    try {
      const channels = new Map<string, Channel>();
      const info = parseServerz((await this.#http.getJson('/streaming/serverz', signal, this.#opts.caps.serverz)).body);
      const [storez] = await Promise.all([
        this.#http.getJson('/streaming/storez', signal, this.#opts.caps.storez),
        holdsQueueState(info) ? readChannels(info, signal, channels) : undefined,
      ]);
      const limits = parseStorez(storez.body);
      return { name, durationSeconds: seconds(started), info, limits, channels: [...channels.values()] };
    } catch (err) {
      giveUp.abort();
      const failure = err instanceof ScrapeError
        ? { reason: err.reason, message: err.message }
        : { reason: 'invalid_response' as const, message: `unexpected error: ${(err as Error).message}` };
      return { name, durationSeconds: seconds(started), failure, channels: [] };
    }
  }

  /**
   * Pages through channelsz until total, PAGE_CONCURRENCY pages at a time from the first one on
   * (serverz told how many channels to expect), each page normalised as soon as it arrives while
   * the server still encodes the others. Channels keep the server's order (sorted by name).
   */
  async #readChannels(expected: number, cap: AnswerCap, signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const pageSize = this.#opts.pageSize;
    const readPage = async (offset: number): Promise<{ total: number; count: number; channels: Channel[] }> => {
      const where = `channelsz offset ${offset}`;
      const path = `/streaming/channelsz?subs=1&offset=${offset}&limit=${pageSize}`;
      const page = await this.#http.read(path, signal, cap, (_status, body) => readChannelsPage(body, this.#names) ?? this.#checkedPage(path, body, where));
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
  }

  /**
   * A page readChannelsPage was not sure of, read by JSON.parse and the checked parser: it throws
   * the error that says what is wrong, or (for JSON the fast reader leaves alone, such as escaped
   * keys) gives the page.
   */
  #checkedPage(path: string, body: Buffer, where: string): ReadPage {
    const page = parseChannelsPage(this.#http.parseJson(path, body), where);
    return { total: page.total, count: page.count, channels: page.channels.map((raw) => parseChannel(raw, where)) };
  }

  /**
   * One channelsz?channel=NAME&subs=1 per selected name, a few at a time. A 404 means the server
   * has no such channel (nothing was published or subscribed there yet): it is left out.
   */
  async #readNamedChannels(names: readonly string[], cap: AnswerCap, signal: AbortSignal, into: Map<string, Channel>): Promise<void> {
    const wanted = names.filter((name) => this.#opts.selectSubject(name));
    const found: Array<Channel | undefined> = [];
    let next = 0;
    const readNext = async (): Promise<void> => {
      for (let i = next++; i < wanted.length; i = next++) {
        const name = wanted[i]!;
        const res = await this.#http.getJson(`/streaming/channelsz?channel=${encodeURIComponent(name)}&subs=1`, signal, cap, [404]);
        if (res.status === 404) continue;
        const parsed = parseChannel(res.body, `channelsz channel ${name}`);
        found[i] = buildChannel(parsed.facts, parsed.subscriptions);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PAGE_CONCURRENCY, wanted.length) }, readNext));
    for (const channel of found) if (channel) into.set(channel.name, channel);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }
}

/**
 * Whether this node's channel and subscription figures are the ones to export. An FT standby has
 * none. In a Raft cluster every node lists every channel: only the leader's are exported, so a
 * queue is never counted once per node, and followers are spared the channelsz sweep.
 */
export function holdsQueueState(info: ServerInfo): boolean {
  if (info.state === 'FT_STANDBY') return false;
  if (info.state === 'CLUSTERED') return info.role === 'Leader';
  return true;
}

function seconds(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
