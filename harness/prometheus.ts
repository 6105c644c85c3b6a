import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackChild } from './children.js';
import { freePort } from './ports.js';
import { requireTool } from './tools.js';

/** A real Prometheus or Alertmanager process on a free loopback port, with its own temp dir. */
export interface RunningTool {
  url: string;
  port: number;
  dir: string;
  output(): string;
  /** SIGTERM, wait for the exit, remove the temp dir. */
  stop(): Promise<void>;
}

async function startTool(binary: string, files: Record<string, string>, args: (dir: string, port: number) => string[]): Promise<RunningTool> {
  const bin = requireTool(binary);
  const dir = mkdtempSync(join(tmpdir(), `nqe-${binary}-`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const child = spawn(bin, args(dir, port), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tool: RunningTool = {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone && Date.now() < deadline) {
    try {
      if ((await fetch(`${tool.url}/-/ready`)).ok) return tool;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await tool.stop();
  throw new Error(`${binary} on ${tool.url} did not become ready (${gone ? 'it exited' : 'timeout'}):\n${output}`);
}

/**
 * Prometheus with `config` as prometheus.yml; `files` (rule files...) are written beside it, so
 * the config names them by file name. `storage` is a TSDB directory to start from (blocks made
 * by `promtool tsdb create-blocks-from`); the caller removes it.
 */
export function startPrometheus(config: string, files: Record<string, string> = {}, storage?: string): Promise<RunningTool> {
  return startTool('prometheus', { ...files, 'prometheus.yml': config }, (dir, port) => [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${storage ?? join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // Firing alerts are re-sent to Alertmanager this often (default 1m).
    '--rules.alert.resend-delay=1s',
    // POST /-/reload re-reads the config and rule files.
    '--web.enable-lifecycle',
    '--log.level=warn',
  ]);
}

/** Alertmanager (Debian's prometheus-alertmanager) with `config` as alertmanager.yml, clustering off. */
export function startAlertmanager(config: string): Promise<RunningTool> {
  return startTool('prometheus-alertmanager', { 'alertmanager.yml': config }, (dir, port) => [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
}

export interface QueryResult {
  resultType: string;
  result: Array<{ metric: Record<string, string>; value?: [number, string] }>;
}

/** An instant query; throws with Prometheus' own error when the expression is refused. */
export async function instantQuery(prometheus: RunningTool, expr: string): Promise<QueryResult> {
  const res = await fetch(`${prometheus.url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr }),
  });
  const body = (await res.json()) as { status: string; data?: QueryResult; errorType?: string; error?: string };
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus refused ${JSON.stringify(expr)}: ${body.errorType}: ${body.error}`);
  return body.data;
}
