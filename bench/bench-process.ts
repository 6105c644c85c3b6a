import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/ports.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** An exporter running as its own process, so its CPU time and memory are its own. */
export interface ExporterProcess {
  label: string;
  pid: number;
  metricsUrl: string;
  stop(): Promise<void>;
}

async function startProcess(label: string, command: string, args: string[], port: number, readyPath: string): Promise<ExporterProcess> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killLater = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killLater);
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${base}${readyPath}`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label} did not answer ${base}${readyPath} within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { label, pid: child.pid!, metricsUrl: `${base}/metrics`, stop };
}

/** The Node flag that `npm start` and the container image give the exporter. */
export const CENTRAL_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * This exporter, from the build next to this script (dist/src/cli.js) or the `cli` of another
 * build, run by node with `nodeFlags` (by default as `npm start` and the container image run it),
 * reading `monitorUrl` as a NATS Streaming server (--server) or a JetStream server (--jetstream).
 */
export async function startOurs(
  label: string,
  monitorUrl: string,
  extraArgs: string[] = [],
  serverFlag: 'server' | 'jetstream' = 'server',
  nodeFlags: readonly string[] = CENTRAL_NODE_FLAGS,
  cli: string = CLI,
): Promise<ExporterProcess> {
  const port = await freePort();
  const args = [
    ...nodeFlags,
    cli,
    `--${serverFlag}`,
    `bench=${monitorUrl}`,
    '--listen',
    `127.0.0.1:${port}`,
    '--probe-listen',
    'off',
    '--timeout',
    '60',
    '--log-level',
    'warn',
    ...extraArgs,
  ];
  return startProcess(label, process.execPath, args, port, '/readyz');
}

/** prometheus-nats-exporter with its NATS Streaming collectors on, reading each of `monitorUrls`. */
export async function startPeer(label: string, binary: string, ...monitorUrls: string[]): Promise<ExporterProcess> {
  const port = await freePort();
  return startProcess(label, binary, ['-port', String(port), '-addr', '127.0.0.1', '-channelz', '-serverz', ...monitorUrls], port, '/metrics');
}

/** prometheus-nats-exporter with its JetStream collector on (`-jsz=all`), reading `monitorUrl`. */
export async function startJszPeer(label: string, binary: string, monitorUrl: string): Promise<ExporterProcess> {
  const port = await freePort();
  return startProcess(label, binary, ['-port', String(port), '-addr', '127.0.0.1', '-jsz=all', monitorUrl], port, '/metrics');
}
