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

/** `stream` as the node named `serverName` lists it, under `account`: only the consumers it leads. */
function nodeStream(account: JszAccount, stream: JszStream, serverName: string): NodeStream {
  const led = stream.consumers.filter((c) => ledBy(c.cluster, serverName));
  return {
    accountId: account.id,
    accountName: account.name,
    stream: led.length === stream.consumers.length ? stream : { ...stream, consumers: led },
    led: ledBy(stream.cluster, serverName),
  };
}

/**
 * One node's streams with the consumers it does not lead left out. Streams it only replicates
 * stay (marked), so that a stream whose leader is down or being elected still has its state.
 */
export function nodeStreams(accounts: readonly JszAccount[], serverName: string): NodeStream[] {
  return new NodeStreams().of(accounts, serverName);
}

/**
 * nodeStreams for the reads of one node, each stream the same object as at the last read when
 * its record was found the same (the same JszStream: stream-records.ts), so that the channel
 * made from it can be kept as well (queues.ts LogicalChannels).
 */
export class NodeStreams {
  #made = new WeakMap<JszStream, NodeStream>();
  #serverName: string | undefined;

  of(accounts: readonly JszAccount[], serverName: string): NodeStream[] {
    // Which consumers the node leads depends on its name: another name, nothing made before holds.
    if (serverName !== this.#serverName) {
      this.#made = new WeakMap();
      this.#serverName = serverName;
    }
    const out: NodeStream[] = [];
    for (const account of accounts) {
      for (const stream of account.streams) {
        let made = this.#made.get(stream);
        if (made === undefined || made.accountId !== account.id || made.accountName !== account.name) {
          made = nodeStream(account, stream, serverName);
          this.#made.set(stream, made);
        }
        out.push(made);
      }
    }
    return out;
  }
}
