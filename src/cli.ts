#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  process.stderr.write(`nats-queue-exporter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
