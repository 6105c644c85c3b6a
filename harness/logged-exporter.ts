import { createLogger, type Logger } from '../src/log.js';
import { parseCli } from '../src/config.js';
import { startExporter, type RunningExporter } from '../src/exporter.js';

export interface LoggedExporter {
  exporter: RunningExporter;
  /** Every line logged so far, at debug level. */
  logs(): string;
}

/**
 * Starts the exporter in this process like startTestExporter, with `env` as its environment and
 * its debug log kept in memory, so a test can check what the exporter prints.
 */
export async function startLoggedExporter(args: string[], env: NodeJS.ProcessEnv = {}): Promise<LoggedExporter> {
  const request = parseCli(['--listen', '127.0.0.1:0', '--probe-listen', 'off', ...args], env);
  if (request.kind !== 'run') throw new Error('expected a run request');
  const { log, text } = memoryLog();
  const exporter = await startExporter(request.config, log);
  return { exporter, logs: text };
}

/** A debug-level logger that keeps what it writes in memory: the text, and the lines as objects. */
export function memoryLog(): { log: Logger; text: () => string; lines: () => Array<Record<string, unknown>> } {
  let logged = '';
  return {
    log: createLogger('debug', { write: (line: string) => (logged += line) }),
    text: () => logged,
    lines: () =>
      logged
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
