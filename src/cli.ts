#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// Between scrapes the exporter holds little, but a scrape of a large server makes several times
// its snapshot in short-lived garbage. V8's default lets the old generation grow to a few times
// the live set before a full collection, so the garbage of several scrapes stays resident. A
// tighter limit keeps memory near what one scrape needs, for a few percent more collection time
// (npm run bench measures both).
setFlagsFromString('--heap-growing-percent=40');

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  process.stderr.write(`nats-queue-exporter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
