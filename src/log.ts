import { pino, type Logger } from 'pino';
import type { LogLevel } from './log-level.js';

export type { Logger };

/** JSON logs on stdout. Nothing that is logged carries credentials: server URLs are stored without them. */
export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'nats-queue-exporter', level, redact: ['authorization', '*.authorization'] });
}
