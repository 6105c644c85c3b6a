import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trackChild } from './children.js';

/** The Node worker that uses 'nats-queue-exporter/probe' (harness/workers/node-worker.ts, compiled). */
export const NODE_WORKER = fileURLToPath(new URL('./workers/node-worker.js', import.meta.url));

export type WorkerEvent = Record<string, unknown>;

export interface WorkerProcess {
  process: ChildProcess;
  events: WorkerEvent[];
  /** Everything the worker wrote to stderr. */
  stderr(): string;
  /** Resolves with the first event (seen before or later) that satisfies `match`. */
  waitFor(match: (e: WorkerEvent) => boolean, ms?: number): Promise<WorkerEvent>;
  /** Writes a line to the worker's stdin ("open" / "close" the handler's gate). */
  send(line: string): void;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs a worker process that prints one JSON object per line on stdout and reads gate commands
 * on stdin, as harness/workers/node-worker.ts and examples/go-worker do.
 */
export function startWorker(command: string, args: string[], env: Record<string, string>): WorkerProcess {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '', ...env } });
  trackChild(child);
  const events: WorkerEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as WorkerEvent);
    } catch {
      events.push({ text: line });
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      for (const wake of waiters) wake();
      resolve(code);
    }),
  );
  return {
    process: child,
    events,
    stderr: () => stderr,
    waitFor(match, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`worker exited (${child.exitCode ?? child.signalCode}) before the event; events ${JSON.stringify(events)}; stderr ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no such worker event within ${ms} ms; events ${JSON.stringify(events.slice(-20))}; stderr ${stderr}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
