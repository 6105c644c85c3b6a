import type { Collector } from '../../collector.js';
import type { NodeSnapshot } from '../../model/types.js';
import type { Backend } from '../../targets.js';
import { QUEUE_PROMQL, SERVER_PROMQL } from '../../metrics/promql.js';
import type { RecentCollections } from './recent-collections.js';
import { STATUS_RULES, VERDICTS } from './rules.js';

/** One node (monitoring port) of a logical server. No credentials: they live outside the URL. */
export interface NodeRow {
  node: string;
  url: string;
  /** null until its first scrape. */
  up: boolean | null;
  error: { reason: string; message: string } | null;
  /** NATS Streaming: STANDALONE, FT_ACTIVE, FT_STANDBY, CLUSTERED...; JetStream: standalone or its cluster. */
  state: string;
  /** A Raft role (NATS Streaming), or "meta leader" (JetStream). */
  role: string;
  /** Its queue figures are the ones exported (STANDALONE, FT_ACTIVE, Raft Leader). */
  owner: boolean;
  /** Channels (NATS Streaming) or streams, replicas included (JetStream). */
  channels: number | null;
  durationSeconds: number | null;
}

/** One configured logical server: a standalone server, an FT pair or a Raft cluster. */
export interface ServerRow {
  name: string;
  /** stan (NATS Streaming) or jetstream. */
  backend: Backend;
  /** The node whose queue figures are shown; null when none owns them (all down, standby, an election). */
  owner: string | null;
  /** More than one node claimed the figures; the first in configured order is shown. */
  ownerConflict: boolean;
  /** Start of its last scrape (ISO 8601); null before the first. */
  lastScrape: string | null;
  nodes: NodeRow[];
}

/** The body of /api/v1/queues but its last field, `queues`: QueueRow[] (the page renders it as it is). */
export interface StatusHead {
  version: string;
  /** Start of the latest collection (ISO 8601); null before the first. */
  collectedAt: string | null;
  rules: typeof STATUS_RULES;
  verdicts: typeof VERDICTS;
  promql: { queue: typeof QUEUE_PROMQL; server: typeof SERVER_PROMQL };
  servers: ServerRow[];
}

/** What a node says it is: state, role and how many channels or streams it has. */
function identity(node: NodeSnapshot | undefined): Pick<NodeRow, 'state' | 'role' | 'channels'> {
  if (node?.info) return { state: node.info.state, role: node.info.role, channels: node.info.channels };
  if (node?.jetstream) {
    const js = node.jetstream;
    return { state: js.cluster ? `cluster ${js.cluster}` : 'standalone', role: js.metaLeader ? 'meta leader' : '', channels: js.streams };
  }
  return { state: '', role: '', channels: null };
}

/** JSON text is sent in pieces of about this many characters. */
const CHUNK = 64 * 1024;

/**
 * The body of /api/v1/queues as JSON text in pieces, one queue row at a time: the whole text of a large
 * server's queues never has to exist at once (npm run bench:status).
 */
export function* statusJson(version: string, servers: ReturnType<Collector['lastResults']>, history: RecentCollections): Generator<string> {
  let text = `${JSON.stringify(statusHead(version, servers, history)).slice(0, -1)},"queues":[`;
  let first = true;
  for (const row of history.rows()) {
    text += (first ? '' : ',') + JSON.stringify(row);
    first = false;
    if (text.length >= CHUNK) {
      yield text;
      text = '';
    }
  }
  yield `${text}]}`;
}

/** Model -> the page's rows: the one place that decides what a server and a node show (QueueRow is the history's). */
function statusHead(version: string, servers: ReturnType<Collector['lastResults']>, history: RecentCollections): StatusHead {
  const collectedAt = history.collectedAt;
  return {
    version,
    collectedAt: collectedAt === undefined ? null : new Date(collectedAt).toISOString(),
    rules: STATUS_RULES,
    verdicts: VERDICTS,
    promql: { queue: QUEUE_PROMQL, server: SERVER_PROMQL },
    servers: servers.map(({ target, result }) => ({
      name: target.name,
      backend: target.backend,
      owner: result?.owner ?? null,
      ownerConflict: (result?.claimers.length ?? 0) > 1,
      lastScrape: result ? new Date(result.at).toISOString() : null,
      nodes: target.nodes.map((t) => {
        const node = result?.nodes.find((n) => n.node === t.node);
        return {
          node: t.node,
          url: t.url,
          up: node ? !node.failure : null,
          error: node?.failure ? { reason: node.failure.reason, message: node.failure.message } : null,
          ...identity(node),
          owner: result?.owner === t.node,
          durationSeconds: node ? node.durationSeconds : null,
        };
      }),
    })),
  };
}
