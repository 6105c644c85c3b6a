import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, parseSamples, startTestExporter } from '../../harness/exporter.js';
import { instantQuery, startPrometheus } from '../../harness/prometheus.js';
import { type Stan, closeStan, connectStan, publish, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { requireTool } from '../../harness/tools.js';

/**
 * A gzipped /metrics is one gzip member made of deflate segments compressed on their own, some
 * of them cached from earlier answers (src/metrics/gzip-segments.ts). Read here by the clients
 * that matter: curl --compressed (which reads only the first member of several), gunzip, and a
 * real Prometheus.
 */

const CHANNELS = 300;
const PROMETHEUS_HEADERS = {
  accept: 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'accept-encoding': 'gzip',
};
const run = promisify(execFile);

/** Series keys (name and labels) of the server-side families, without values. */
function seriesKeys(text: string): string[] {
  return parseSamples(text)
    .filter((s) => /^(queue|stan)_/.test(s.name))
    .map((s) => `${s.name}${JSON.stringify(s.labels)}`)
    .sort();
}

describe('gzipped answers made of cached segments', () => {
  let server: StanServer;
  let sc: Stan;
  let exporter: RunningExporter;
  const close: Array<() => Promise<void>> = [];

  before(async () => {
    requireTool('curl', 'apt-get install -y curl');
    server = await startStan({ clusterId: 'segments' });
    sc = await connectStan(server.natsUrl, server.clusterId, 'filler');
    const channels = Array.from({ length: CHANNELS }, (_, i) => `seg.${String(i).padStart(4, '0')}`);
    await Promise.all(channels.flatMap((c) => [publish(sc, c, 'a'), publish(sc, c, 'b')]));
    for (const c of channels.slice(0, 40)) {
      const sub = sc.subscribe(c, 'workers', sc.subscriptionOptions().setManualAckMode(true).setDeliverAllAvailable().setDurableName('d'));
      sub.on('message', () => undefined);
      await ready(sub);
    }
    exporter = await startTestExporter(['--server', `segments=${server.monitorUrl}`]);
  });
  after(async () => {
    for (const c of close.reverse()) await c();
    await exporter?.close();
    if (sc) await closeStan(sc);
    await server?.stop();
  });

  test('curl --compressed and gunzip read the whole answer, the same series as an answer not gzipped', async () => {
    // Warm: the later answers are made mostly of segments cached from these.
    for (let i = 0; i < 3; i++) await fetch(`${exporter.url}/metrics`, { headers: PROMETHEUS_HEADERS }).then((r) => r.arrayBuffer());
    await publish(sc, 'seg.0150', 'c');
    const headers = Object.entries(PROMETHEUS_HEADERS).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const raw = await run('curl', ['-sS', '-i', ...headers, `${exporter.url}/metrics`], { encoding: 'buffer', maxBuffer: 64 << 20 });
    const split = raw.stdout.indexOf('\r\n\r\n');
    assert.match(raw.stdout.subarray(0, split).toString('latin1'), /content-encoding: gzip/i);
    const body = raw.stdout.subarray(split + 4);
    // One member: the gzip magic once at the start, and gunzip reads it to its end.
    assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b]);
    const gunzipped = await new Promise<string>((resolve, reject) => {
      const child = execFile('gunzip', ['-c'], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout.toString('utf8')),
      );
      child.stdin!.end(body);
    });
    assert.equal(gunzipped, gunzipSync(body).toString('utf8'));
    assert.ok(gunzipped.endsWith('# EOF\n'), 'the whole OpenMetrics answer, to # EOF');

    const curl = await run('curl', ['-sS', '--compressed', ...headers, `${exporter.url}/metrics`], { maxBuffer: 64 << 20 });
    assert.ok(curl.stdout.endsWith('# EOF\n'), `curl --compressed ends with ${JSON.stringify(curl.stdout.slice(-40))}`);
    const plain = await (await fetch(`${exporter.url}/metrics`, { headers: { accept: PROMETHEUS_HEADERS.accept, 'accept-encoding': 'identity' } })).text();
    assert.deepEqual(seriesKeys(curl.stdout), seriesKeys(plain));
    assert.deepEqual(seriesKeys(gunzipped), seriesKeys(plain));
    assert.equal(parseSamples(curl.stdout).filter((s) => s.name === 'stan_channel_last_sequence').length, CHANNELS);
  });

  test('a real Prometheus ingests every series of the gzipped answers', async () => {
    const prometheus = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [{ job_name: 'segments', static_configs: [{ targets: [new URL(exporter.url).host] }] }],
      }),
    );
    close.push(() => prometheus.stop());
    const plain = await (await fetch(`${exporter.url}/metrics`)).text();
    const expected = seriesKeys(plain).length;
    assert.ok(expected > 4 * CHANNELS);
    const count = async (expr: string) => {
      const { result } = await instantQuery(prometheus, expr);
      return result.length === 0 ? 0 : Number(result[0]!.value![1]);
    };
    // Several scrapes: the later ones are made of segments cached from the first.
    await eventually(
      async () =>
        assert.ok((await count('count(count_over_time(up{job="segments"}[1m]))')) >= 1 && (await count('sum(count_over_time(up{job="segments"}[1m]))')) >= 4),
      30_000,
    );
    assert.equal(await count('count({__name__=~"(queue|stan)_.+", job="segments"})'), expected);
    assert.equal(await count('min_over_time(up{job="segments"}[1m])'), 1);
    assert.equal(await count('count(stan_channel_last_sequence{job="segments"})'), CHANNELS);
  });
});
