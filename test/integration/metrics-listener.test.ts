import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { startTestExporter } from '../../harness/exporter.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

describe("the metrics listener's paths and methods", () => {
  let server: StanServer;
  let exporter: RunningExporter;

  before(async () => {
    server = await startStan({ clusterId: 'listener' });
    exporter = await startTestExporter(['--server', `main=${server.monitorUrl}`, '--probe-listen', 'off']);
  });
  after(async () => {
    await exporter.close();
    await server.stop();
  });

  test('each path answers GET and HEAD, with a trailing slash or a query too', async () => {
    for (const path of [
      '/metrics',
      '/metrics/detailed',
      '/healthz',
      '/readyz',
      '/',
      '/status.js',
      '/status.css',
      '/api/v1/queues',
      '/metrics/',
      '/metrics/detailed/',
      '/metrics/detailed?family=stan_subscription_stalled',
      '/healthz?probe=1',
    ]) {
      const res = await fetch(`${exporter.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-powered-by'), null, path);
      assert.equal(res.headers.get('etag'), null, path);
      await res.arrayBuffer();
      const head = await fetch(`${exporter.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200, `HEAD ${path}`);
      assert.equal(await head.text(), '');
    }
    assert.equal(await (await fetch(`${exporter.url}/healthz`)).text(), 'ok\n');
    assert.equal(await (await fetch(`${exporter.url}/readyz`)).text(), 'ready\n');
  });

  test('another path is 404, another method 405 with Allow', async () => {
    for (const path of ['/nope', '/Metrics', '/%6detrics', '/metrics/x', '/metrics/Detailed', '/metrics/detailed/x']) {
      const res = await fetch(`${exporter.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), 'not found: see / for the endpoints\n');
    }
    for (const [method, path] of [
      ['POST', '/metrics'],
      ['POST', '/metrics/detailed'],
      ['DELETE', '/'],
      ['PUT', '/api/v1/queues'],
    ] as const) {
      const res = await fetch(`${exporter.url}${path}`, { method, body: method === 'DELETE' ? null : 'x' });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.equal(await res.text(), `${method} is not allowed on ${path}: use GET\n`);
    }
  });
});
