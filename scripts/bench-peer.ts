import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const PEER_VERSION = 'v0.16.0';
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

/**
 * prometheus-nats-exporter v0.16.0, the last release that reads NATS Streaming: found on
 * $PROMETHEUS_NATS_EXPORTER, PATH or Go's bin directory. Nothing here installs or builds it: the
 * project never fetches or builds the peer's code; a binary built by hand elsewhere is pointed at.
 */
export function findPeer(): Peer {
  const fromEnv = process.env['PROMETHEUS_NATS_EXPORTER'];
  if (fromEnv) return existsSync(fromEnv) ? { path: fromEnv } : { missing: `PROMETHEUS_NATS_EXPORTER=${fromEnv} does not exist` };
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), goBinDir()]) {
    if (dir && existsSync(join(dir, PEER_BINARY))) return { path: join(dir, PEER_BINARY) };
  }
  return { missing: `${PEER_BINARY} ${PEER_VERSION} is not on PATH; set PROMETHEUS_NATS_EXPORTER to a binary of it` };
}
