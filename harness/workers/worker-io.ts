import { createInterface } from 'node:readline';
import { type PendingWatcher, type ProbeConnection, watchPending } from 'nats-queue-exporter/probe';

/** A worker setting from the environment; without a fallback it must be set. */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${process.argv[1]}: set ${name}`);
  return value;
}

/** One JSON line per event on stdout, read by harness/workers.ts. */
export function say(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/**
 * The gate a worker's handler waits at, opened and closed by the test over stdin ("open" /
 * "close"); it starts open with WORKER_GATE=open. `pass()` resolves once the gate is open.
 */
export function stdinGate(): { pass(): Promise<void> } {
  let open = env('WORKER_GATE', 'closed') === 'open';
  let waiting: Array<() => void> = [];
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'open') {
      open = true;
      const released = waiting;
      waiting = [];
      for (const resolve of released) resolve();
    } else if (line === 'close') {
      open = false;
    }
    say({ gate: open ? 'open' : 'closed' });
  });
  return { pass: () => (open ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))) };
}

/**
 * The probe as the tests configure it: their exporter's probe URL, server NAME, client id and
 * interval, and the connection to learn the JetStream account from, if any.
 */
export function watcherFromEnv(connection?: ProbeConnection): PendingWatcher {
  return watchPending({
    server: env('WORKER_SERVER'),
    url: env('WORKER_PROBE_URL'),
    clientId: env('WORKER_CLIENT_ID'),
    intervalMs: Number(env('WORKER_INTERVAL_MS', '300')),
    onError: (err) => say({ reportError: err.message }),
    ...(connection === undefined ? {} : { connection }),
  });
}
