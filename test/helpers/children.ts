import type { ChildProcess } from 'node:child_process';

/**
 * Processes the tests started (servers, Prometheus, workers). They are killed when the test
 * process ends, also when the test runner ends it with a signal after a timeout, so that no
 * server outlives its test.
 */
const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

process.once('exit', killAll);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** Kills `child` with the test process, unless it has ended before. */
export function trackChild(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}
