/**
 * Records test/fixtures/nss: for each scenario of harness/nss-scenarios.ts, the nss_* lines
 * of prometheus-nats-exporter v0.16.0's answer (-channelz -serverz, every node's URL given) and
 * the serverz, storez and channelsz pages of every node, read before and after the peer's answer
 * and kept only when nothing but the clock changed in between.
 *
 *   PROMETHEUS_NATS_EXPORTER=/path/to/prometheus-nats-exporter node dist/tools/record-nss-fixtures.js
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nssLines, readNodePages, samePages, SCENARIOS, startScenario } from '../harness/nss-scenarios.js';
import { startPeer } from '../bench/bench-process.js';

const OUT = fileURLToPath(new URL('../../test/fixtures/nss/', import.meta.url));
const ATTEMPTS = 5;

const peerBinary = process.env['PROMETHEUS_NATS_EXPORTER'];
if (!peerBinary) {
  console.error('set PROMETHEUS_NATS_EXPORTER to a prometheus-nats-exporter v0.16.0 binary');
  process.exit(2);
}

for (const name of SCENARIOS) {
  const scenario = await startScenario(name);
  const peer = await startPeer('prometheus-nats-exporter v0.16.0', peerBinary, ...scenario.nodes.map((n) => n.server.monitorUrl));
  try {
    // Let replication and heartbeats settle, so that two readings in a row agree.
    await new Promise((r) => setTimeout(r, 1500));
    let recorded = false;
    for (let attempt = 1; attempt <= ATTEMPTS && !recorded; attempt++) {
      const before = await Promise.all(scenario.nodes.map((n) => readNodePages(n.server)));
      const answer = await nssLines(peer.metricsUrl);
      const after = await Promise.all(scenario.nodes.map((n) => readNodePages(n.server)));
      if (!samePages(before, after)) {
        console.error(`${name}: the servers changed while the peer answered (attempt ${attempt}); again`);
        continue;
      }
      const dir = join(OUT, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'peer-metrics.txt'), answer);
      writeFileSync(
        join(dir, 'nodes.json'),
        `${JSON.stringify(
          scenario.nodes.map((n) => ({ name: n.name, url: n.server.monitorUrl })),
          null,
          2,
        )}\n`,
      );
      for (const [i, node] of scenario.nodes.entries()) {
        const pages = before[i]!;
        writeFileSync(join(dir, `${node.name}-serverz.json`), pages.serverz);
        writeFileSync(join(dir, `${node.name}-storez.json`), pages.storez);
        for (const [offset, page] of pages.channelsz) writeFileSync(join(dir, `${node.name}-channelsz-subs-offset-${offset}.json`), page);
      }
      console.log(`${name}: recorded ${scenario.nodes.length} node(s), ${answer.split('\n').filter((l) => l.startsWith('nss_')).length} peer series`);
      recorded = true;
    }
    if (!recorded) throw new Error(`${name}: the servers never held still for ${ATTEMPTS} readings`);
  } finally {
    await peer.stop();
    await scenario.stop();
  }
}
process.exit(0);
