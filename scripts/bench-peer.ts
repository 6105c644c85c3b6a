import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const PEER_VERSION = 'v0.16.0';
export const PEER_MODULE = `github.com/nats-io/prometheus-nats-exporter@${PEER_VERSION}`;
const PEER_BINARY = 'prometheus-nats-exporter';

/** The peer's binary, or why there is none. */
export type Peer = { path: string } | { missing: string };

function goBinDir(): string | undefined {
  try {
    const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim();
    return gobin || join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(delimiter)[0]!, 'bin');
  } catch {
    return undefined;
  }
}

function findPeer(): string | undefined {
  const fromEnv = process.env['PROMETHEUS_NATS_EXPORTER'];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), goBinDir()];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, PEER_BINARY))) return join(dir, PEER_BINARY);
  }
  return undefined;
}

/**
 * prometheus-nats-exporter v0.16.0, the last release that reads NATS Streaming: found on
 * $PROMETHEUS_NATS_EXPORTER, PATH or Go's bin directory, else installed with go install.
 */
export function findOrInstallPeer(log: (line: string) => void): Peer {
  const found = findPeer();
  if (found) return { path: found };
  if (process.env['PROMETHEUS_NATS_EXPORTER']) {
    return { missing: `PROMETHEUS_NATS_EXPORTER=${process.env['PROMETHEUS_NATS_EXPORTER']} does not exist` };
  }
  log(`${PEER_BINARY} is not installed; go install ${PEER_MODULE} ...`);
  const attempts = new Set<string>();
  for (const env of [process.env, { ...process.env, GOTOOLCHAIN: 'go1.21.13' }]) {
    const r = spawnSync('go', ['install', PEER_MODULE], { env, encoding: 'utf8' });
    if (r.error) return { missing: `go is not installed (${r.error.message}): install Go, or set PROMETHEUS_NATS_EXPORTER to the binary` };
    if (r.status === 0) {
      const installed = findPeer();
      if (installed) return { path: installed };
    }
    attempts.add((r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ').replace(/\s+/g, ' '));
  }
  return { missing: `go install ${PEER_MODULE} failed (${[...attempts].join('; ')}); set PROMETHEUS_NATS_EXPORTER to a built binary` };
}
