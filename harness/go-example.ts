import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** examples/go-worker: a stan.go (or, with -jetstream, nats.go) worker built on go/probe. */
export const GO_EXAMPLE = fileURLToPath(new URL('../../examples/go-worker', import.meta.url));

/** Builds examples/go-worker into a temporary directory (removed by the caller). */
export function buildGoExample(): { buildDir: string; binary: string } {
  const buildDir = mkdtempSync(join(tmpdir(), 'nqe-go-worker-'));
  const binary = join(buildDir, 'go-worker');
  try {
    execFileSync('go', ['build', '-buildvcs=false', '-o', binary, '.'], { cwd: GO_EXAMPLE, stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`go build in examples/go-worker failed (Go 1.21 or newer and the Go module proxy are needed): ${e.stderr?.toString() ?? e.message}`);
  }
  return { buildDir, binary };
}
