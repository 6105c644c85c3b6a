import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { RunningExporter } from '../src/exporter.js';
import { acceptsGzip } from '../src/http/negotiation.js';
import { parseSamples, startTestExporter } from './helpers/exporter.js';
import { type Stan, closeStan, connectStan, publish } from './helpers/stan-client.js';
import { type StanServer, startStan } from './helpers/stan-server.js';

const CHANNELS = 300;

test('Accept-Encoding: gzip unless refused with q=0', () => {
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('*;q=0'), false);
  assert.equal(acceptsGzip('deflate, br'), false);
  assert.equal(acceptsGzip(undefined), false);
});

/** GETs /metrics without decompressing; resolves with the raw response and body. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    }).once('error', reject);
  });
}

/** The samples that do not change between two scrapes of an idle server. */
function stable(text: string): string[] {
  return parseSamples(text)
    .filter((s) => !/^(nodejs_|process_|nats_queue_exporter_scrape_duration_seconds|stan_server_open_fds)/.test(s.name))
    .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`);
}

describe('/metrics encodings', () => {
  let server: StanServer;
  let sc: Stan;
  let exporter: RunningExporter;

  before(async () => {
    server = await startStan({ clusterId: 'encodings' });
    sc = await connectStan(server.natsUrl, server.clusterId, 'filler');
    await Promise.all(Array.from({ length: CHANNELS }, (_, i) => publish(sc, `enc.${String(i).padStart(3, '0')}`, 'x')));
    exporter = await startTestExporter(['--server', `enc=${server.monitorUrl}`, '--probe-listen', 'off', '--page-size', '50']);
  });
  after(async () => {
    await exporter.close();
    await closeStan(sc);
    await server.stop();
  });

  test('gzip when the scraper accepts it, the same samples as without', async () => {
    const plain = await rawGet(`${exporter.url}/metrics`, {});
    const zipped = await rawGet(`${exporter.url}/metrics`, { 'accept-encoding': 'gzip' });
    const refused = await rawGet(`${exporter.url}/metrics`, { 'accept-encoding': 'gzip;q=0' });
    assert.equal(plain.res.headers['content-encoding'], undefined);
    assert.equal(refused.res.headers['content-encoding'], undefined);
    assert.equal(zipped.res.headers['content-encoding'], 'gzip');
    assert.match(String(zipped.res.headers['vary']), /accept-encoding/i);
    const unzipped = gunzipSync(zipped.body).toString('utf8');
    assert.ok(zipped.body.length < unzipped.length / 3, `${zipped.body.length} bytes gzipped of ${unzipped.length}`);
    const expected = stable(plain.body.toString('utf8'));
    assert.ok(expected.filter((s) => s.startsWith('stan_channel_messages')).length === CHANNELS);
    assert.deepEqual(stable(unzipped), expected);
    assert.deepEqual(stable(refused.body.toString('utf8')), expected);
  });

  test('channels come in the server\'s order (sorted by name) across pages read two at a time', async () => {
    const samples = parseSamples(await (await fetch(`${exporter.url}/metrics`)).text());
    const subjects = samples.filter((s) => s.name === 'stan_channel_messages').map((s) => s.labels['subject']!);
    assert.equal(subjects.length, CHANNELS);
    assert.deepEqual(subjects, [...subjects].sort());
  });

  test('a scraper that hangs up mid-answer leaves the exporter answering whole', async () => {
    await new Promise<void>((resolve) => {
      const req = get(`${exporter.url}/metrics`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.once('error', () => resolve());
    });
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    assert.ok(text.endsWith('\n') && /nats_queue_exporter_build_info\{[^}]*\} 1\n$/.test(text), `answer ends with ${JSON.stringify(text.slice(-60))}`);
    assert.equal(parseSamples(text).filter((s) => s.name === 'stan_channel_messages').length, CHANNELS);
  });
});
