import { pino } from 'pino';
import type { LogLevel } from './log-level.js';

export type Logger = pino.Logger;

const REDACTED = '[redacted]';

/**
 * Fields that could carry a credential if one ever reached a log line. Credentials are held as
 * Secrets, which print as [redacted] themselves; these paths catch a plain string that slipped
 * through: a header, a password or token, a URL with a user and password in it.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'url',
  '*.url',
  'probeUrl',
  'servers[*].nodes[*].url',
];

/** A URL keeps its scheme and host; only the user and password before "@" go. Any other field is replaced whole. */
function censor(value: unknown, path: string[]): unknown {
  if (!path[path.length - 1]?.toLowerCase().endsWith('url')) return REDACTED;
  return typeof value === 'string' ? value.replace(/^([a-z][a-z\d+.-]*:\/\/)[^/?#]*@/i, `$1${REDACTED}@`) : value;
}

/**
 * pino, with the exporter's name, level, redaction and error serializer. Lines go to stdout
 * synchronously, so the fatal line before process.exit is written.
 */
export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino(
    {
      name: 'nats-queue-exporter',
      level,
      redact: { paths: [...REDACT_PATHS], censor },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
