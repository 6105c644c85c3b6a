import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { RunningExporter } from '../../src/exporter.js';
import { startAnswerBody } from '../../src/http/metrics-body.js';
import { ExpositionWriter } from '../../src/metrics/exposition.js';
import { parseSamples, startTestExporter } from '../../harness/exporter.js';
import { type Stan, closeStan, connectStan, publish } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const CHANNELS = 300;

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

  test('Accept-Encoding: gzip unless refused with q=0', async () => {
    const cases: Array<[string | undefined, boolean]> = [
      ['gzip', true],
      ['deflate, gzip;q=0.5', true],
      ['*', true],
      ['gzip;q=0', false],
      ['*;q=0', false],
      ['deflate, br', false],
      [undefined, false],
    ];
    for (const [acceptEncoding, gzipped] of cases) {
      const { res } = await rawGet(`${exporter.url}/metrics`, acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });
      assert.equal(res.headers['content-encoding'], gzipped ? 'gzip' : undefined, `Accept-Encoding: ${acceptEncoding}`);
    }
  });

  test('OpenMetrics only when asked for above the text format', async () => {
    const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const prometheus2 = 'application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const cases: Array<[string | undefined, 'text' | 'openmetrics']> = [
      [prometheus, 'openmetrics'],
      [prometheus2, 'openmetrics'],
      ['text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5', 'text'],
      ['*/*', 'text'],
      [undefined, 'text'],
      ['text/html,application/xhtml+xml', 'text'],
    ];
    for (const [accept, format] of cases) {
      const res = await fetch(`${exporter.url}/metrics`, { headers: accept === undefined ? {} : { accept } });
      const type = res.headers.get('content-type')!;
      const text = await res.text();
      if (format === 'text') {
        assert.equal(type, 'text/plain; version=0.0.4; charset=utf-8', `Accept: ${accept}`);
        assert.doesNotMatch(text, /# EOF/);
      } else {
        assert.equal(type, 'application/openmetrics-text; version=1.0.0; charset=utf-8', `Accept: ${accept}`);
        assert.match(text, /\n# EOF\n$/);
      }
    }
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

  test("channels come in the server's order (sorted by name) across pages read two at a time", async () => {
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

describe('gzip: small answers as they are, large ones gzipped as they stream', () => {
  /** An answer of `bytes` bytes of exposition text, written as /metrics writes one. */
  async function answer(bytes: number, acceptEncoding: 'gzip' | 'identity') {
    const line = 'queue_msgs_pending{server="a",subject="orders",group="g",durable="d"} 12\n';
    const server = createServer(async (_req, res) => {
      const body = startAnswerBody(res, 'text/plain; version=0.0.4', acceptEncoding === 'gzip' ? 'gzip' : 'identity');
      const out = new ExpositionWriter('text', body.sink);
      for (let written = 0; written < bytes; written += line.length) {
        out.text(line);
        await out.flushIfFull();
      }
      await out.end();
      await body.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      return await rawGet(`http://127.0.0.1:${port}/`, { 'accept-encoding': acceptEncoding });
    } finally {
      server.close();
    }
  }

  test('an answer of up to 64 KiB goes unzipped even when gzip is accepted: it costs more memory than it saves', async () => {
    for (const bytes of [100, 20_000, 60_000]) {
      const { res, body } = await answer(bytes, 'gzip');
      assert.equal(res.headers['content-encoding'], undefined, `${bytes} bytes`);
      assert.match(String(res.headers['vary']), /accept-encoding/i);
      assert.ok(body.length >= bytes && body.length < bytes + 100, `${body.length} bytes`);
      assert.ok(body.toString('utf8').startsWith('queue_msgs_pending{'));
    }
  });

  test('a larger answer, whole in one chunk or many, is gzipped', async () => {
    for (const bytes of [100_000, 250_000]) {
      const { res, body } = await answer(bytes, 'gzip');
      assert.equal(res.headers['content-encoding'], 'gzip', `${bytes} bytes`);
      const text = gunzipSync(body).toString('utf8');
      assert.ok(text.length >= bytes && text.length < bytes + 100, `${text.length} bytes unzipped`);
    }
  });

  test('a larger answer streams through gzip, whole and in order', async () => {
    const { res, body } = await answer(3_000_000, 'gzip');
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const lines = gunzipSync(body).toString('utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.ok(lines.length * 73 >= 3_000_000, `${lines.length} lines`);
    assert.ok(lines.every((l) => l === 'queue_msgs_pending{server="a",subject="orders",group="g",durable="d"} 12'));
  });

  test('without gzip an answer streams as it is written', async () => {
    const { res, body } = await answer(20_000, 'identity');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.ok(body.length >= 20_000 && body.toString('utf8').startsWith('queue_msgs_pending{'));
  });
});
