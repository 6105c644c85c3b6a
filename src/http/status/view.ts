import type { Collector } from '../../collector.js';
import { QUEUE_PROMQL, SERVER_PROMQL } from '../../metrics/promql.js';
import type { QueueRow, StatusHistory } from './history.js';
import { STATUS_RULES, VERDICTS } from './rules.js';

/** One configured server as the page shows it. No credentials: they live outside the URL. */
export interface ServerRow {
  name: string;
  url: string;
  /** null until its first scrape. */
  up: boolean | null;
  error: { reason: string; message: string } | null;
  state: string;
  role: string;
  channels: number | null;
  /** Start of its last scrape (ISO 8601). */
  lastScrape: string | null;
  durationSeconds: number | null;
}

/** The body of /api/v1/queues; the page renders it as it is. */
export interface StatusDocument {
  version: string;
  /** Start of the latest collection (ISO 8601); null before the first. */
  collectedAt: string | null;
  rules: typeof STATUS_RULES;
  verdicts: typeof VERDICTS;
  promql: { queue: typeof QUEUE_PROMQL; server: typeof SERVER_PROMQL };
  servers: ServerRow[];
  queues: QueueRow[];
}

/** Model -> the page's rows: the one place that decides what a server and a queue show. */
export function statusDocument(version: string, servers: ReturnType<Collector['lastResults']>, history: StatusHistory): StatusDocument {
  const collectedAt = history.collectedAt;
  return {
    version,
    collectedAt: collectedAt === undefined ? null : new Date(collectedAt).toISOString(),
    rules: STATUS_RULES,
    verdicts: VERDICTS,
    promql: { queue: QUEUE_PROMQL, server: SERVER_PROMQL },
    servers: servers.map(({ name, url, result }) => ({
      name,
      url,
      up: result ? !result.failure : null,
      error: result?.failure ? { reason: result.failure.reason, message: result.failure.message } : null,
      state: result?.info?.state ?? '',
      role: result?.info?.role ?? '',
      channels: result?.info?.channels ?? null,
      lastScrape: result ? new Date(result.at).toISOString() : null,
      durationSeconds: result ? result.durationSeconds : null,
    })),
    queues: history.rows(),
  };
}
