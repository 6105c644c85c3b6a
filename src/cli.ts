#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// Between scrapes the exporter holds little; a scrape of a large server builds a snapshot of tens
// of megabytes in a few hundred milliseconds. V8's default lets the old generation grow to a few
// times the live set before a full collection, so the garbage of several scrapes stays resident.
// Growing it by 40 % at a time ran several full collections per scrape while the snapshot was
// being built; 60 % runs fewer at a similar peak (npm run bench; the figures are in
// docs/benchmarks.md, "Figures behind the code").
setFlagsFromString('--heap-growing-percent=60');

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  process.stderr.write(`nats-queue-exporter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
