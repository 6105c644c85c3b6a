/** A node that reported the server_id of a node listed before it: one server under two URLs. */
export interface RepeatedNode {
  node: string;
  /** The earlier node with the same server_id. */
  sameAs: string;
  serverId: string;
}

/** The nodes whose server_id an earlier node of `nodes` reported, in configured order. */
export function repeatedNodes(nodes: ReadonlyArray<{ node: string; serverId: string | undefined }>): RepeatedNode[] {
  const first = new Map<string, string>();
  const repeated: RepeatedNode[] = [];
  for (const { node, serverId } of nodes) {
    if (serverId === undefined || serverId === '') continue;
    const sameAs = first.get(serverId);
    if (sameAs === undefined) first.set(serverId, node);
    else repeated.push({ node, sameAs, serverId });
  }
  return repeated;
}

/** What to tell the user about a repeated node. */
export function repeatedNodeMessage(r: RepeatedNode): string {
  return `nodes ${r.sameAs} and ${r.node} are the same server (server_id ${r.serverId}): list it once`;
}
