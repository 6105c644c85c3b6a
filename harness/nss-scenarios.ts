import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './exporter.js';
import { freePort } from './ports.js';
import { type Stan, closeStan, connectStan, publish, publishMany, ready } from './stan-client.js';
import { roleOf, type StanServer, startRaftCluster, startStan } from './stan-server.js';

/**
 * The NATS Streaming setups the --nss-compat families are held to, against
 * prometheus-nats-exporter v0.16.0: the recorder of test/fixtures/nss and the live comparison in
 * test/integration/nss-compat.test.ts start them the same way.
 */

export type ScenarioName = 'standalone' | 'ft' | 'clustered';

export interface ScenarioNode {
  /** n1, active, standby, ...: names the node's fixture files. */
  name: string;
  server: StanServer;
}

export interface Scenario {
  name: ScenarioName;
  nodes: ScenarioNode[];
  stop(): Promise<void>;
}

/** Channels past the first channelsz page the peer reads (1,024), so some are never in its answer. */
export const FILLER_CHANNELS = 1_030;

const manualAck = (sc: Stan, maxInflight: number) => sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(maxInflight).setDeliverAllAvailable();

async function subscribe(sc: Stan, subject: string, group: string | undefined, opts: ReturnType<Stan['subscriptionOptions']>): Promise<void> {
  const sub = group === undefined ? sc.subscribe(subject, opts) : sc.subscribe(subject, group, opts);
  sub.on('message', () => undefined);
  await ready(sub);
}

/**
 * One server: `orders` with a queue group of two stalled members; `jobs` with a durable, two
 * plain subscriptions of one client, a queue group with a colon in its name, and a durable queue
 * group and a durable whose client has gone (offline); then FILLER_CHANNELS channels of one
 * message each, named to sort after those, so the peer's one page ends among them.
 */
async function standalone(): Promise<Scenario> {
  const server = await startStan({ clusterId: 'nss-standalone' });
  const clients: Stan[] = [];
  try {
    const a = await connectStan(server.natsUrl, 'nss-standalone', 'worker-a');
    clients.push(a);
    const b = await connectStan(server.natsUrl, 'nss-standalone', 'worker-b');
    clients.push(b);
    const gone = await connectStan(server.natsUrl, 'nss-standalone', 'worker-gone');
    await subscribe(a, 'orders', 'workers', manualAck(a, 3));
    await subscribe(b, 'orders', 'workers', manualAck(b, 3));
    await publishMany(a, 'orders', 20);
    await subscribe(a, 'jobs', undefined, manualAck(a, 5).setDurableName('solo'));
    await subscribe(a, 'jobs', undefined, a.subscriptionOptions());
    await subscribe(a, 'jobs', undefined, a.subscriptionOptions());
    await subscribe(b, 'jobs', 'billing:eu', manualAck(b, 2));
    await subscribe(gone, 'jobs', 'grp:with:colon', manualAck(gone, 4).setDurableName('dur'));
    await subscribe(gone, 'jobs', undefined, manualAck(gone, 4).setDurableName('audit'));
    await publishMany(a, 'jobs', 7);
    // Closing the connection (not the subscriptions) leaves the durables behind, offline.
    await closeStan(gone);
    for (let i = 0; i < FILLER_CHANNELS; i++) await publish(a, `zz.fill.${String(i).padStart(4, '0')}`, 'x');
  } catch (err) {
    await Promise.all(clients.map((c) => closeStan(c).catch(() => undefined)));
    await server.stop();
    throw err;
  }
  return {
    name: 'standalone',
    nodes: [{ name: 'server', server }],
    async stop() {
      await Promise.all(clients.map((c) => closeStan(c).catch(() => undefined)));
      await server.stop();
    },
  };
}

/** An FT pair on a shared FILE store: a durable queue group on the active, 5 messages, 2 unacked. */
async function ftPair(): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'nqe-nss-ft-'));
  const [routeA, routeB] = [await freePort(), await freePort()];
  const ft = (own: number, other: number) => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${other}`];
  const servers: StanServer[] = [];
  let sc: Stan | undefined;
  const stop = async () => {
    if (sc) await closeStan(sc).catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    servers.push(await startStan({ clusterId: 'nss-ft', store: 'FILE', dir, args: ft(routeA, routeB), waitForStates: ['FT_ACTIVE'] }));
    servers.push(await startStan({ clusterId: 'nss-ft', store: 'FILE', dir, args: ft(routeB, routeA), waitForStates: ['FT_STANDBY'] }));
    sc = await eventually(() => connectStan(servers[0]!.natsUrl, 'nss-ft', 'ft-worker'), 20_000);
    await subscribe(sc, 'ft.orders', 'workers', manualAck(sc, 2).setDurableName('d'));
    await publishMany(sc, 'ft.orders', 5);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'ft',
    nodes: [
      { name: 'active', server: servers[0]! },
      { name: 'standby', server: servers[1]! },
    ],
    stop,
  };
}

const RAFT_NODES = ['n1', 'n2', 'n3'];

/** A 3-node Raft cluster: a durable queue group d:g with max in-flight 3 and a plain subscription on cjobs, 10 messages. */
async function raftCluster(): Promise<Scenario> {
  const cluster = await startRaftCluster('nss-raft', RAFT_NODES);
  const nodes = [...cluster.nodes].map(([name, server]) => ({ name, server }));
  let sc: Stan | undefined;
  const stop = async () => {
    if (sc) await closeStan(sc).catch(() => undefined);
    await cluster.stop();
  };
  try {
    await eventually(async () => {
      const roles = await Promise.all(nodes.map((n) => roleOf(n.server)));
      if (roles.filter((r) => r === 'Leader').length !== 1) throw new Error(`no single leader yet: ${roles.join(',')}`);
    }, 20_000);
    sc = await eventually(() => connectStan(nodes[0]!.server.natsUrl, 'nss-raft', 'raft-worker'), 20_000);
    await subscribe(sc, 'cjobs', 'g', manualAck(sc, 3).setDurableName('d'));
    await subscribe(sc, 'cjobs', undefined, sc.subscriptionOptions());
    await publishMany(sc, 'cjobs', 10);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'clustered', nodes, stop };
}

export function startScenario(name: ScenarioName): Promise<Scenario> {
  switch (name) {
    case 'standalone':
      return standalone();
    case 'ft':
      return ftPair();
    case 'clustered':
      return raftCluster();
  }
}

export const SCENARIOS: readonly ScenarioName[] = ['standalone', 'ft', 'clustered'];

/** The nss_* lines (HELP, TYPE and samples) of an exporter's /metrics answer, in text format. */
export async function nssLines(metricsUrl: string): Promise<string> {
  const res = await fetch(metricsUrl, { headers: { accept: 'text/plain; version=0.0.4' } });
  if (res.status !== 200) throw new Error(`${metricsUrl} answered ${res.status}`);
  const text = await res.text();
  return (
    text
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?nss_/.test(line))
      .join('\n') + '\n'
  );
}

/** A node's monitoring answers as the server sent them: serverz, storez and channelsz?subs=1 pages by offset. */
export interface NodePages {
  serverz: string;
  storez: string;
  /** Offset 0 is `channelsz?subs=1`, the page the peer reads; later ones `channelsz?subs=1&offset=N&limit=1024`. */
  channelsz: Map<number, string>;
}

export const PAGE_LIMIT = 1024;

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

export async function readNodePages(server: StanServer): Promise<NodePages> {
  const base = `${server.monitorUrl}/streaming`;
  const first = await text(`${base}/channelsz?subs=1`);
  const channelsz = new Map([[0, first]]);
  const total = (JSON.parse(first) as { total: number }).total;
  for (let offset = PAGE_LIMIT; offset < total; offset += PAGE_LIMIT) {
    channelsz.set(offset, await text(`${base}/channelsz?subs=1&offset=${offset}&limit=${PAGE_LIMIT}`));
  }
  return { serverz: await text(`${base}/serverz`), storez: await text(`${base}/storez`), channelsz };
}

/** The pages without the fields that change by themselves (the clock), to tell whether anything else changed. */
function steady(pages: NodePages): string {
  const drop = (json: string) => JSON.stringify(JSON.parse(json, (key, value: unknown) => (key === 'now' || key === 'uptime' ? undefined : value)));
  return [drop(pages.serverz), drop(pages.storez), ...[...pages.channelsz.values()].map(drop)].join('\n');
}

export function samePages(a: readonly NodePages[], b: readonly NodePages[]): boolean {
  return a.length === b.length && a.every((p, i) => steady(p) === steady(b[i]!));
}
