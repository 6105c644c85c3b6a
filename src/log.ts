import { hostname } from 'node:os';
import type { LogLevel } from './log-level.js';

/**
 * JSON lines on stdout in pino's shape (`level` as pino's number, `time` in Unix ms, `pid`,
 * `hostname`, `name`, the fields, `msg`), so pino-pretty and log pipelines built for pino read
 * them as they are. Written here rather than with pino: pino loads worker_threads, assert and
 * its transport code into every process, 1.3 MB of a sidecar's idle RSS on Node 24 (npm run
 * footprint), and the exporter writes a few lines an hour. Nothing that is logged carries
 * credentials: server URLs are stored without them, and a Secret prints as [redacted].
 */
export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
}

/** Writes one line with `fields` (an `err` or any other Error value is written as type, message and stack) and `msg`. */
export type LogFn = (fields: Record<string, unknown>, msg: string) => void;

type Method = Exclude<LogLevel, 'silent'>;

/** pino's level numbers. */
const LEVEL_NUMBERS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
/** How deep an error's `cause` chain is written. */
const MAX_CAUSES = 3;

/** `write` takes each line, newline included; stdout unless a test keeps them. */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = LEVEL_NUMBERS[level];
  // Written once: the start of every line after "level".
  const about = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":"nats-queue-exporter"`;
  const method = (name: Method): LogFn => {
    const number = LEVEL_NUMBERS[name];
    if (number < threshold) return () => undefined;
    return (fields, msg) => write(`{"level":${number},"time":${Date.now()}${about}${fieldsText(fields)},"msg":${JSON.stringify(msg)}}\n`);
  };
  return { fatal: method('fatal'), error: method('error'), warn: method('warn'), info: method('info'), debug: method('debug'), trace: method('trace') };
}

/** `fields` as JSON members after a comma, or "" for none. Never throws: a log line must not break the exporter. */
function fieldsText(fields: Record<string, unknown>): string {
  let text: string;
  try {
    text = JSON.stringify(fields, replaceErrors);
  } catch (err) {
    text = JSON.stringify({ logFields: `could not be written as JSON: ${(err as Error).message}` });
  }
  return text.length > 2 ? `,${text.slice(1, -1)}` : '';
}

function replaceErrors(this: unknown, key: string, value: unknown): unknown {
  if (value instanceof Error) return errorFields(value, MAX_CAUSES);
  // Credentials are held as Secrets, which print as [redacted]; a header value that slipped through is not written either.
  return key === 'authorization' && typeof value === 'string' ? '[redacted]' : value;
}

/** An Error as pino writes one: its class, message, stack and own fields (such as `code`), and its cause. */
function errorFields(err: Error, causes: number): Record<string, unknown> {
  const fields: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) if (!(key in fields) && key !== 'cause') fields[key] = value;
  if (err.cause !== undefined && causes > 0) fields['cause'] = err.cause instanceof Error ? errorFields(err.cause, causes - 1) : err.cause;
  return fields;
}
