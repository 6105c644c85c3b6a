import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { goBinDir } from '../harness/go-bin.js';

const PEER_BINARY = 'prometheus-nats-exporter';

/** The peer's binary and the version it reports, or why there is none. */
export type Peer = { path: string; version: string } | { missing: string };

/** A release of prometheus-nats-exporter a bench compares with, and the variable that names its binary. */
interface PeerRelease {
  version: string;
  env: string;
}

/** v0.16.0, the last release that reads NATS Streaming (`npm run bench`). */
export const STAN_PEER: PeerRelease = { version: 'v0.16.0', env: 'PROMETHEUS_NATS_EXPORTER' };

/**
 * The current release, for JetStream (`-jsz=all`, `npm run bench:jetstream`). Its own variable,
 * so that both peers can be given to one `npm run bench`.
 */
export const JSZ_PEER: PeerRelease = { version: 'v0.20.1', env: 'PROMETHEUS_NATS_EXPORTER_JSZ' };

/** What `BINARY -version` says ("prometheus-nats-exporter version 0.20.1" gives v0.20.1), or why it said nothing. */
function reportedVersion(path: string): string {
  try {
    const out = execFileSync(path, ['-version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    const m = /version\s+v?(\S+)$/.exec(out);
    return m ? `v${m[1]}` : `(-version said "${out}")`;
  } catch (err) {
    return `(-version failed: ${(err as Error).message.split('\n')[0]})`;
  }
}

/**
 * prometheus-nats-exporter of `release`: the binary $ENV names (taken whatever version it
 * reports, which the bench prints), else one on PATH or in Go's bin directory that reports the
 * release's version. Nothing here installs or builds it: the project never fetches or builds the
 * peer's code; a binary built by hand elsewhere is pointed at.
 */
export function findPeer(release: PeerRelease = STAN_PEER): Peer {
  const fromEnv = process.env[release.env];
  if (fromEnv) return existsSync(fromEnv) ? { path: fromEnv, version: reportedVersion(fromEnv) } : { missing: `${release.env}=${fromEnv} does not exist` };
  const others: string[] = [];
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), goBinDir()]) {
    const path = dir && join(dir, PEER_BINARY);
    if (!path || !existsSync(path)) continue;
    const version = reportedVersion(path);
    if (version === release.version) return { path, version };
    others.push(`${path} is ${version}`);
  }
  const found = others.length ? ` (${others.join('; ')})` : '';
  return { missing: `${PEER_BINARY} ${release.version} is not on PATH${found}; set ${release.env} to a binary of it` };
}
