import type { ClientPending, ServerSnapshot } from '../model/types.js';

/** Channel name -> the consumers (account NUL group NUL durable) this pod's probes report on it. */
export type ReportedScope = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * Stands for the account of an entry that names none, which matches a queue of any account as
 * before reports had accounts. A report's values hold no control characters, so no account is this.
 */
const ANY_ACCOUNT = '\u0001';

function consumerKey(account: string, group: string, durable: string): string {
  return `${account}\u0000${group}\u0000${durable}`;
}

/** What `--subjects auto` reads of one server: the channels and consumers the probes report there. */
export function reportedScope(pending: readonly ClientPending[], server: string): ReportedScope {
  const scope = new Map<string, Set<string>>();
  for (const p of pending) {
    if (p.server !== server) continue;
    let consumers = scope.get(p.subject);
    if (consumers === undefined) scope.set(p.subject, (consumers = new Set()));
    consumers.add(consumerKey(p.account ?? ANY_ACCOUNT, p.group, p.durable));
  }
  return scope;
}

/**
 * Keeps, of each channel, only the consumers and subscriptions of the queues this pod reports
 * (in the account reported, or in any when the report names none), so a sidecar exports the
 * server's view of exactly what its pod consumes.
 */
export function narrowToScope(snapshot: ServerSnapshot, scope: ReportedScope): ServerSnapshot {
  const channels = snapshot.channels.map((channel) => {
    const wanted = scope.get(channel.name);
    const account = channel.account ?? '';
    const inScope = (x: { group: string; durable: string }) =>
      wanted !== undefined && (wanted.has(consumerKey(account, x.group, x.durable)) || wanted.has(consumerKey(ANY_ACCOUNT, x.group, x.durable)));
    return { ...channel, consumers: channel.consumers.filter(inScope), subscriptions: channel.subscriptions.filter(inScope) };
  });
  return { ...snapshot, channels };
}
