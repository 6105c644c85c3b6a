import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { spawnServer, waitUntilReady } from './children.js';
import { goBinDir } from './go-bin.js';
import { freePort } from './ports.js';

export const STAN_VERSION = 'v0.25.6';
export const STAN_MODULE = `github.com/nats-io/nats-streaming-server@${STAN_VERSION}`;

/**
 * Where nats-streaming-server is: $NATS_STREAMING_SERVER, then PATH, then Go's bin directory.
 * Undefined when it is not installed (tools/install-nats-streaming-server.sh installs it).
 */
export function findStanBinary(): string | undefined {
  const fromEnv = process.env['NATS_STREAMING_SERVER'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'nats-streaming-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  const candidate = join(goBinDir(), 'nats-streaming-server');
  return existsSync(candidate) ? candidate : undefined;
}

export function requireStanBinary(): string {
  const bin = findStanBinary();
  if (!bin) {
    throw new Error(`nats-streaming-server not found: run tools/install-nats-streaming-server.sh (go install ${STAN_MODULE}) or set NATS_STREAMING_SERVER`);
  }
  return bin;
}

export interface StanOptions {
  clusterId?: string;
  /** MEMORY (default) or FILE; FILE uses `dir` or a fresh temporary directory. */
  store?: 'MEMORY' | 'FILE';
  dir?: string;
  /** Extra flags, e.g. ['-ft_group', 'g'] or store limits. */
  args?: string[];
  /** Ports to reuse, e.g. to restart a server where it was. */
  natsPort?: number;
  monitorPort?: number;
  /** Wait until serverz reports one of these states (default: any answer). */
  waitForStates?: string[];
  /**
   * Serve monitoring over https (-ms) with this certificate instead of http (-m). The server then
   * requires TLS on its client port too, and its own connection to that port trusts caFile.
   */
  monitorTls?: { certFile: string; keyFile: string; caFile: string };
}

export interface StanServer {
  clusterId: string;
  natsPort: number;
  monitorPort: number;
  natsUrl: string;
  monitorUrl: string;
  dir: string | undefined;
  process: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the process to end. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the process to end. */
  kill(): Promise<void>;
}

export async function startStan(opts: StanOptions = {}): Promise<StanServer> {
  const bin = requireStanBinary();
  const clusterId = opts.clusterId ?? 'test-cluster';
  const natsPort = opts.natsPort ?? (await freePort());
  const monitorPort = opts.monitorPort ?? (await freePort());
  const store = opts.store ?? 'MEMORY';
  let ownDir: string | undefined;
  const dir = store === 'FILE' ? (opts.dir ?? (ownDir = mkdtempSync(join(tmpdir(), 'nqe-stan-')))) : undefined;
  const tls = opts.monitorTls;
  const monitorArgs = tls
    ? ['-ms', String(monitorPort), '--tls', '--tlscert', tls.certFile, '--tlskey', tls.keyFile, '-secure', '-tls_client_cacert', tls.caFile]
    : ['-m', String(monitorPort)];
  const args = ['-a', '127.0.0.1', '-p', String(natsPort), ...monitorArgs, '-cid', clusterId, '-st', store, '-mc', '0'];
  if (dir) args.push('--dir', dir);
  args.push(...(opts.args ?? []));
  const proc = spawnServer(bin, args, () => {
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  });
  const server: StanServer = {
    clusterId,
    natsPort,
    monitorPort,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    monitorUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${monitorPort}`,
    dir,
    process: proc.process,
    output: proc.output,
    stop: proc.stop,
    kill: proc.kill,
  };
  const trusting = tls && new Agent({ connect: { ca: readFileSync(tls.caFile) } });
  try {
    await waitUntilReady(`nats-streaming-server on ${server.monitorUrl}`, proc, () => serverzReady(server, opts.waitForStates, trusting));
  } catch (err) {
    await server.kill();
    throw err;
  } finally {
    await trusting?.close();
  }
  return server;
}

/**
 * The line nats-streaming-server logs once a standalone server or an FT pair's active member
 * answers clients. Its monitoring port opens earlier: until then serverz reports STANDALONE (the
 * state's zero value) while nothing listens on the discover subject, and a client's connect
 * request in that window is lost ("stan: connect request timeout"), as CI once saw after a
 * restart. test/integration/faults.test.ts restarts a server and connects at once.
 */
const READY_LOG = 'Streaming Server is ready';

async function serverzReady(server: StanServer, states: string[] | undefined, trusting: Agent | undefined): Promise<true | string> {
  const url = `${server.monitorUrl}/streaming/serverz`;
  const res = trusting ? await undiciFetch(url, { dispatcher: trusting }) : await fetch(url);
  if (!res.ok) return `HTTP ${res.status}`;
  const state = ((await res.json()) as { state: string }).state;
  if (states && !states.includes(state)) return `state ${state}`;
  if ((state === 'STANDALONE' || state === 'FT_ACTIVE') && !server.output().includes(READY_LOG)) return `state ${state}, not yet "${READY_LOG}"`;
  return true;
}

export interface RaftCluster {
  /** The nodes by id, in the order given. */
  nodes: Map<string, StanServer>;
  /** Stops every node (killed ones too) and removes the cluster's directory. */
  stop(): Promise<void>;
}

/** A Raft cluster (`--clustered`, FILE store) of the nodes `ids`, in a directory of its own; resolves once every node answers CLUSTERED. */
export async function startRaftCluster(clusterId: string, ids: readonly string[]): Promise<RaftCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nqe-raft-'));
  const routePorts = await Promise.all(ids.map(() => freePort()));
  const started: StanServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      ids.map(async (id, i) => {
        const nodeDir = join(dir, id);
        mkdirSync(nodeDir);
        const routes = routePorts
          .filter((_, j) => j !== i)
          .map((p) => `nats://127.0.0.1:${p}`)
          .join(',');
        started[i] = await startStan({
          clusterId,
          store: 'FILE',
          dir: join(nodeDir, 'store'),
          waitForStates: ['CLUSTERED'],
          args: [
            '--clustered',
            '--cluster_node_id',
            id,
            '--cluster_peers',
            ids.join(','),
            '--cluster_log_path',
            join(nodeDir, 'raft'),
            '-cluster',
            `nats://127.0.0.1:${routePorts[i]}`,
            '-routes',
            routes,
          ],
        });
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: new Map(ids.map((id, i) => [id, started[i]!])), stop };
}

/** A node's serverz role ("" outside a Raft cluster). */
export async function roleOf(server: StanServer): Promise<string> {
  const res = await fetch(`${server.monitorUrl}/streaming/serverz`);
  return ((await res.json()) as { role?: string }).role ?? '';
}
