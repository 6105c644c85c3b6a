#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

// Between scrapes the exporter holds little; a scrape of a large server builds a snapshot of tens
// of megabytes in a few hundred milliseconds. V8's default lets the old generation grow to a few
// times the live set before a full collection, so the garbage of several scrapes stays resident
// (peak RSS 180-430 MB at 10,000 x 5). Growing it by 40 % at a time kept it at ~123 MB but ran
// four full collections per scrape while the snapshot was being built; 60 % runs fewer, for
// ~0.1 s less CPU per scrape at 10,000 x 5 and a peak of 125-145 MB (80 %: about the same CPU,
// 132-138 MB; npm run bench measures it).
setFlagsFromString('--heap-growing-percent=60');

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  process.stderr.write(`nats-queue-exporter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
