import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { queueDetail } from './queue-detail.js';
import { queuesOverview } from './queues-overview.js';

/**
 * Writes grafana/*.json from the TypeScript definitions; with --check, writes nothing and exits 1
 * naming each file that differs from what would be written.
 */

export const DASHBOARDS: ReadonlyArray<{ file: string; build: () => dashboard.DashboardBuilder }> = [
  { file: 'queues-overview.json', build: queuesOverview },
  { file: 'queue-detail.json', build: queueDetail },
];

export function renderDashboards(): Map<string, string> {
  return new Map(DASHBOARDS.map(({ file, build }) => [join('grafana', file), `${JSON.stringify(build().build(), null, 2)}\n`]));
}

/** Writes or checks generated files against the working tree; returns the paths that differ. */
export function syncFiles(files: Map<string, string>, root: string, check: boolean): string[] {
  const stale: string[] = [];
  for (const [path, text] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(root, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    stale.push(path);
    if (!check) writeFileSync(join(root, path), text);
  }
  return stale;
}

export function runGenerator(name: string, files: Map<string, string>, argv: readonly string[]): void {
  const check = argv.includes('--check');
  const stale = syncFiles(files, process.cwd(), check);
  if (check && stale.length > 0) {
    process.stderr.write(`${name}: out of date: ${stale.join(', ')}; run npm run generate and commit the result\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(stale.length > 0 ? `${name}: wrote ${stale.join(', ')}\n` : `${name}: up to date\n`);
  }
}
