import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, waitUntilReady } from './children.js';
import { goBinDir } from './go-bin.js';
import { freePort } from './ports.js';

/**
 * The nats-server binaries tools/install-nats-server.sh puts into Go's bin directory. Only
 * that directory is searched: the machine's own nats-server on PATH is an older release
 * without the JetStream answers tested here.
 */
export const NATS_SERVERS = {
  current: { version: 'v2.12.15', binary: 'nats-server' },
  /** The last 2.10 release whose /jsz has no `total` and an unsorted first page. */
  v2_10: { version: 'v2.10.27', binary: 'nats-server-v2.10.27' },
} as const;

export type NatsServerRelease = keyof typeof NATS_SERVERS;

const checked = new Map<NatsServerRelease, string>();

export function requireNatsServerBinary(release: NatsServerRelease = 'current'): string {
  const known = checked.get(release);
  if (known) return known;
  const { version, binary } = NATS_SERVERS[release];
  const path = join(goBinDir(), binary);
  const fix = `run tools/install-nats-server.sh (it installs nats-server ${version} as ${path})`;
  if (!existsSync(path)) throw new Error(`${path} not found: ${fix}`);
  const reported = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  if (!reported.endsWith(version)) throw new Error(`${path} is "${reported}", not ${version}: ${fix}`);
  checked.set(release, path);
  return path;
}

export interface NatsServerOptions {
  release?: NatsServerRelease;
  /** Server name (-n); without it the server names itself after its generated id. */
  name?: string;
  /** JetStream on (default) or off. */
  jetstream?: boolean;
  /** Joins a cluster: its name, this node's route port and every node's route port. */
  cluster?: { name: string; routePort: number; routePorts: readonly number[] };
  /** A store directory to reuse (a restart, kept on stop); otherwise a fresh temporary one, removed on stop. */
  storeDir?: string;
  /** The text of a configuration file (-c), e.g. accounts with JetStream enabled. */
  config?: string;
  natsPort?: number;
  monitorPort?: number;
}

export interface NatsServer {
  name: string | undefined;
  natsPort: number;
  monitorPort: number;
  natsUrl: string;
  monitorUrl: string;
  storeDir: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the process to end. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the process to end. */
  kill(): Promise<void>;
}

/** Starts nats-server on free ports of 127.0.0.1 with monitoring (-m) and waits for /varz. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = requireNatsServerBinary(opts.release);
  const natsPort = opts.natsPort ?? (await freePort());
  const monitorPort = opts.monitorPort ?? (await freePort());
  // The store (unless one is given to reuse) and the config file live here, removed on stop.
  const workDir = mkdtempSync(join(tmpdir(), 'nqe-nats-'));
  const storeDir = opts.storeDir ?? join(workDir, 'store');
  const args = ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitorPort)];
  if (opts.jetstream ?? true) args.push('-js', '-sd', storeDir);
  if (opts.name) args.push('-n', opts.name);
  if (opts.config) {
    const file = join(workDir, 'nats-server.conf');
    writeFileSync(file, opts.config);
    args.push('-c', file);
  }
  if (opts.cluster) {
    const routes = opts.cluster.routePorts.filter((p) => p !== opts.cluster!.routePort).map((p) => `nats://127.0.0.1:${p}`);
    args.push('--cluster_name', opts.cluster.name, '--cluster', `nats://127.0.0.1:${opts.cluster.routePort}`, '--routes', routes.join(','));
  }
  const proc = spawnServer(bin, args, () => rmSync(workDir, { recursive: true, force: true }));
  const server: NatsServer = {
    name: opts.name,
    natsPort,
    monitorPort,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    storeDir,
    process: proc.process,
    output: proc.output,
    stop: proc.stop,
    kill: proc.kill,
  };
  try {
    await waitUntilReady(`nats-server on ${server.monitorUrl}`, proc, async () => {
      const res = await fetch(`${server.monitorUrl}/varz`);
      return res.ok || `HTTP ${res.status}`;
    });
  } catch (err) {
    await server.kill();
    throw err;
  }
  return server;
}

export interface NatsCluster {
  name: string;
  nodes: NatsServer[];
  stop(): Promise<void>;
}

/**
 * Starts `size` nodes (n1, n2, ...) routed to each other as one JetStream cluster and waits
 * until every node sees the same meta leader, so that replicated streams can be made.
 */
export async function startNatsCluster(opts: { size?: number; name?: string; release?: NatsServerRelease } = {}): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const name = opts.name ?? 'nqe';
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const started = await Promise.allSettled(
    routePorts.map((routePort, i) => startNatsServer({ release: opts.release, name: `n${i + 1}`, cluster: { name, routePort, routePorts } })),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const cluster: NatsCluster = { name, nodes, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await waitForMetaLeader(nodes);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** Waits until every node of `nodes` names the same meta leader among them. */
export async function waitForMetaLeader(nodes: readonly NatsServer[]): Promise<string> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const leaders = await Promise.all(
      nodes.map(async (n) => {
        try {
          const jsz = (await (await fetch(`${n.monitorUrl}/jsz`)).json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
          return jsz.meta_cluster?.cluster_size === nodes.length ? (jsz.meta_cluster.leader ?? '') : '';
        } catch (err) {
          return `error: ${(err as Error).message}`;
        }
      }),
    );
    const leader = leaders[0]!;
    if (leader && leaders.every((l) => l === leader) && nodes.some((n) => n.name === leader)) return leader;
    last = leaders.join(', ');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the cluster elected no meta leader within 30 s (leaders seen: ${last})`);
}

/**
 * A config file (NatsServerOptions.config) with these accounts, each with JetStream and one
 * user whose name and password are the account's name in lower case.
 */
export function jetstreamAccountsConfig(accounts: readonly string[]): string {
  const lines = accounts.map((a) => `  ${a}: { jetstream: enabled, users: [{ user: ${a.toLowerCase()}, password: ${a.toLowerCase()} }] }`);
  return `accounts {\n${lines.join('\n')}\n}\n`;
}
