import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ServerProcess, spawnServer, waitUntilReady } from '../../harness/children.js';
import { eventually, parseSamples, valueOf } from '../../harness/exporter.js';
import { type MonitorProxy, startMonitorProxy } from '../../harness/monitor-proxy.js';
import { freePort } from '../../harness/ports.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
/** Each answer of the monitoring port held back this long: a scrape reads three pages one after another. */
const DELAY_MS = 3000;

describe('SIGTERM while a scrape waits on a slow server', () => {
  let server: StanServer;
  let proxy: MonitorProxy;
  let exporter: ServerProcess;
  let base: string;

  before(async () => {
    server = await startStan({ clusterId: 'shutdown' });
    proxy = await startMonitorProxy(server.monitorUrl, { delayMs: DELAY_MS });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    exporter = spawnServer(process.execPath, [
      CLI,
      '--server',
      `slow=${proxy.url}`,
      '--timeout',
      '30',
      '--listen',
      `127.0.0.1:${port}`,
      '--probe-listen',
      'off',
      '--log-level',
      'warn',
    ]);
    await waitUntilReady('the exporter', exporter, async () => (await fetch(`${base}/readyz`)).status === 200 || 'not ready');
  });
  after(async () => {
    await exporter.kill();
    await proxy.close();
    await server.stop();
  });

  test('the scrape in flight finishes and answers, new connections are refused, and the process exits 0', async () => {
    const started = performance.now();
    const scrape = fetch(`${base}/metrics`).then(async (res) => ({ status: res.status, text: await res.text() }));
    await eventually(async () => assert.ok(proxy.requests.length > 0, 'the scrape has reached the server'));
    exporter.process.kill('SIGTERM');
    await eventually(async () => assert.rejects(fetch(`${base}/healthz`)), 3000);
    const answer = await scrape;
    const seconds = (performance.now() - started) / 1000;
    assert.equal(answer.status, 200);
    assert.equal(valueOf(parseSamples(answer.text), 'stan_up', { server: 'slow' }), 1, `answered after ${seconds.toFixed(1)} s`);
    assert.ok(seconds > (2 * DELAY_MS) / 1000, `the answer took ${seconds.toFixed(1)} s: it waited for the slow server`);
    await exporter.exited;
    assert.equal(exporter.process.exitCode, 0, exporter.output());
  });
});
