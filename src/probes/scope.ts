import type { ClientPending, ServerSnapshot } from '../model/types.js';

/** Channel name -> the consumers (group NUL durable) this pod's probes report on it. */
export type ReportedScope = ReadonlyMap<string, ReadonlySet<string>>;

function consumerKey(group: string, durable: string): string {
  return `${group}\u0000${durable}`;
}

/** What `--subjects auto` reads of one server: the channels and consumers the probes report there. */
export function reportedScope(pending: readonly ClientPending[], server: string): ReportedScope {
  const scope = new Map<string, Set<string>>();
  for (const p of pending) {
    if (p.server !== server) continue;
    let consumers = scope.get(p.subject);
    if (consumers === undefined) scope.set(p.subject, (consumers = new Set()));
    consumers.add(consumerKey(p.group, p.durable));
  }
  return scope;
}

/**
 * Keeps, of each channel, only the consumers and subscriptions of the queues this pod reports,
 * so a sidecar exports the server's view of exactly what its pod consumes.
 */
export function narrowToScope(snapshot: ServerSnapshot, scope: ReportedScope): ServerSnapshot {
  const channels = snapshot.channels.map((channel) => {
    const wanted = scope.get(channel.name);
    const inScope = (x: { group: string; durable: string }) => wanted?.has(consumerKey(x.group, x.durable)) ?? false;
    return { ...channel, consumers: channel.consumers.filter(inScope), subscriptions: channel.subscriptions.filter(inScope) };
  });
  return { ...snapshot, channels };
}
