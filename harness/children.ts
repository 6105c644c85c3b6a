import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Processes the tests started (servers, Prometheus, workers). They are killed when the test
 * process ends, also when the test runner ends it with a signal after a timeout, so that no
 * server outlives its test; the folders of servers not stopped go with them.
 */
const running = new Set<ChildProcess>();
/** What removes the files of each server process not stopped yet. */
const cleanups = new Set<() => void>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // The process is exiting: a folder that cannot be removed is left, and the rest still go.
    }
  }
}

process.once('exit', killAll);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    // A program with a handler of its own (npm run demo) stops its servers itself, and so runs their cleanups.
    if (process.listenerCount(signal) > 0) return;
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** Kills `child` with the test process, unless it has ended before. */
export function trackChild(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** A server process a test started, its output kept for the test's error messages. */
export interface ServerProcess {
  process: ChildProcess;
  /** Resolves when the process has ended. */
  exited: Promise<void>;
  output(): string;
  /** SIGTERM and wait for the process to end, then `cleanup`. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the process to end, then `cleanup`. */
  kill(): Promise<void>;
}

/** Starts `bin` tracked (killed with the test process) and collects its stdout and stderr. */
export function spawnServer(bin: string, args: readonly string[], cleanup: () => void = () => {}): ServerProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.add(cleanup);
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    cleanups.delete(cleanup);
    cleanup();
  };
  return { process: child, exited, output: () => output, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/**
 * Asks `ready` every 50 ms until it answers true; it answers what it saw otherwise. Throws with
 * the last answer (or error) and the process's output when the process ends first or 20 s pass.
 */
export async function waitUntilReady(what: string, proc: ServerProcess, ready: () => Promise<true | string>): Promise<void> {
  let gone = false;
  void proc.exited.then(() => (gone = true));
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline && !gone) {
    try {
      const answer = await ready();
      if (answer === true) return;
      last = answer;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not become ready (${gone ? 'it exited' : last}):\n${proc.output()}`);
}
