import type { JszAccount, JszCluster, JszStream } from './parse.js';

/**
 * Whether the node named `serverName` holds the true figures of a stream or consumer placed as
 * `cluster` says. Every node of a cluster lists the replicas it hosts, and a follower's
 * consumer reports num_pending 0 (and, before 2.12.9, could report a stale one): only the
 * leader's record counts. A standalone server's consumers carry no placement: they are its own.
 */
export function ledBy(cluster: JszCluster | undefined, serverName: string): boolean {
  return cluster === undefined || cluster.leader === serverName;
}

/** A stream as one node lists it, with only the consumers that node leads. */
export interface NodeStream {
  accountId: string;
  accountName: string;
  stream: JszStream;
  /** This node leads the stream, so its state (messages, sequences) is the current one. */
  led: boolean;
}

/**
 * One node's streams with the consumers it does not lead left out. Streams it only replicates
 * stay (marked), so that a stream whose leader is down or being elected still has its state.
 */
export function nodeStreams(accounts: readonly JszAccount[], serverName: string): NodeStream[] {
  const out: NodeStream[] = [];
  for (const account of accounts) {
    for (const stream of account.streams) {
      out.push({
        accountId: account.id,
        accountName: account.name,
        stream: { ...stream, consumers: stream.consumers.filter((c) => ledBy(c.cluster, serverName)) },
        led: ledBy(stream.cluster, serverName),
      });
    }
  }
  return out;
}
