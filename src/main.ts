import { ConfigError, helpText, parseCli } from './config.js';
import { startExporter } from './exporter.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

/** Exit code for a mistake in flags or environment. */
const USAGE_ERROR = 2;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let request;
  try {
    request = parseCli(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`nats-queue-exporter: ${err.message}\n`);
    process.exit(USAGE_ERROR);
  }
  if (request.kind === 'help') {
    process.stdout.write(helpText());
    return;
  }
  if (request.kind === 'version') {
    process.stdout.write(`nats-queue-exporter ${VERSION}\n`);
    return;
  }
  const log = createLogger(request.config.logLevel);
  let exporter;
  try {
    exporter = await startExporter(request.config, log);
  } catch (err) {
    log.fatal({ err }, 'cannot start');
    // A ListenError names the address and the flag to change.
    process.stderr.write(`nats-queue-exporter: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  // The scrape in flight may wait on its servers up to --timeout; then its answer is written.
  const marginMs = 5000;
  const graceMs = request.config.timeoutSeconds * 1000 + marginMs;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs }, 'shutting down');
    const hardStop = setTimeout(() => process.exit(0), graceMs + marginMs);
    hardStop.unref();
    exporter.close(graceMs).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
