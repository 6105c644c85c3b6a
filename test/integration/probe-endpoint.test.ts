import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, parseSamples, type Sample, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { freePort } from '../../harness/ports.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const MAX_REPORT_BYTES = 1024 * 1024;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(probeUrl: string, body: string | Uint8Array | object, contentType = 'application/json'): Promise<Answer> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(`${probeUrl}/v1/pending`, { method: 'POST', headers: { 'content-type': contentType }, body: payload });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
}

function sub(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { server: 'main', subject: 'orders', group: 'workers', durable: '', msgs: 1, bytes: 10, ...overrides };
}

/** Sends raw bytes over one connection and returns what the server answered until it closed. */
function rawExchange(probeUrl: string, chunks: Array<string | Buffer>, gapMs = 0): Promise<string> {
  const { hostname, port } = new URL(probeUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(answer) : reject(err)));
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

describe('the probe endpoint refuses bad reports and keeps what it accepted', () => {
  let server: StanServer;
  let exporter: RunningExporter;
  let probeUrl: string;

  before(async () => {
    server = await startStan({ clusterId: 'probe-endpoint' });
    // A second NAME for the probe reports to name; one URL under two NAMEs is refused, so it reaches the same server as localhost.
    const other = server.monitorUrl.replace('127.0.0.1', 'localhost');
    exporter = await startTestExporter(['--server', `main=${server.monitorUrl}`, '--server', `other=${other}`, '--probe-max-series', '5']);
    probeUrl = exporter.probeUrl!;
  });
  after(async () => {
    await exporter.close();
    await server.stop();
  });

  const keeper = { server: 'main', subject: 'kept', group: 'g', durable: '' };

  test("a valid report is accepted, replaces the client's last one, and sums with other clients", async () => {
    const first = await post(probeUrl, {
      client_id: 'keeper',
      subscriptions: [sub({ subject: 'kept', group: 'g', msgs: 7, bytes: 70, max_inflight: 16, dropped: 2 })],
    });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { accepted: 1, ttl_seconds: 30 });
    const replaced = await post(probeUrl, { client_id: 'keeper', subscriptions: [sub({ subject: 'kept', group: 'g', msgs: 3, bytes: 30, max_inflight: 16 })] });
    assert.equal(replaced.status, 200);
    // A second client with two subscriptions on the same queue: its entries add up.
    const twice = sub({ subject: 'kept', group: 'g', msgs: 2, bytes: 5 });
    assert.equal((await post(probeUrl, { client_id: 'helper', subscriptions: [twice, twice] })).status, 200);
    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'queue_client_msgs_pending', keeper), 7);
    assert.equal(valueOf(samples, 'queue_client_bytes_pending', keeper), 40);
    assert.equal(valueOf(samples, 'queue_client_reports', keeper), 2);
    assert.equal(valueOf(samples, 'queue_client_max_inflight', keeper), 16);
    assert.equal(valueOf(samples, 'queue_client_msgs_dropped', keeper), undefined, 'the replaced report carried no dropped figure');
    // A client with no subscriptions left takes its report back.
    assert.equal((await post(probeUrl, { client_id: 'helper', subscriptions: [] })).status, 200);
    assert.equal(valueOf(await scrape(exporter), 'queue_client_reports', keeper), 1);
  });

  test('every kind of bad report gets a 4xx and a JSON error naming the field and the fix', async () => {
    const cases: Array<[string, string | Uint8Array | object, number, RegExp, string?]> = [
      ['wrong type', { client_id: 'c', subscriptions: [sub({ msgs: '3' })] }, 400, /^subscriptions\[0\]\.msgs is the string "3": write a whole number from 0/],
      ['negative', { client_id: 'c', subscriptions: [sub(), sub({ bytes: -1 })] }, 400, /^subscriptions\[1\]\.bytes is -1: write a whole number from 0/],
      ['fraction', { client_id: 'c', subscriptions: [sub({ msgs: 1.5 })] }, 400, /^subscriptions\[0\]\.msgs is 1\.5/],
      ['negative optional', { client_id: 'c', subscriptions: [sub({ dropped: -2 })] }, 400, /^subscriptions\[0\]\.dropped is -2/],
      [
        'unknown server',
        { client_id: 'c', subscriptions: [sub({ server: 'prod-x' })] },
        400,
        /^subscriptions\[0\]\.server "prod-x" is not a server of this exporter: use one of "main", "other" \(the NAME in --server or --jetstream NAME=URL\)/,
      ],
      [
        'missing field',
        { client_id: 'c', subscriptions: [{ server: 'main', subject: 'a', group: '', msgs: 1, bytes: 1 }] },
        400,
        /^subscriptions\[0\]\.durable is missing: write a string \(""/,
      ],
      [
        'unknown field',
        { client_id: 'c', subscriptions: [sub({ pending: 1 })] },
        400,
        /^subscriptions\[0\] has the unknown field "pending": the fields are server, subject, group, durable, msgs, bytes, dropped, max_inflight/,
      ],
      ['unknown top-level field', { client_id: 'c', subscriptions: [], extra: true }, 400, /^the report has the unknown field "extra"/],
      ['missing client id', { subscriptions: [] }, 400, /^client_id is missing: write a string/],
      ['empty client id', { client_id: '', subscriptions: [] }, 400, /^client_id is empty/],
      ['subscriptions not a list', { client_id: 'c', subscriptions: {} }, 400, /^subscriptions is an object: write a list of \{server, subject/],
      ['not an object', [1, 2], 400, /^the report must be a JSON object/],
      [
        'newline in a label value',
        { client_id: 'c', subscriptions: [sub({ group: 'a\nb' })] },
        400,
        /^subscriptions\[0\]\.group "a\\nb" holds a control character/,
      ],
      [
        'bell in a subject',
        { client_id: 'c', subscriptions: [sub({ subject: 'or\u0007ders' })] },
        400,
        /^subscriptions\[0\]\.subject "or\\u0007ders" holds a control character/,
      ],
      ['NUL in the client id', { client_id: 'c\u0000', subscriptions: [] }, 400, /^client_id "c\\u0000" holds a control character/],
      ['C1 control', { client_id: 'c', subscriptions: [sub({ durable: 'd\u0085' })] }, 400, /^subscriptions\[0\]\.durable .* holds a control character/],
      [
        'lone surrogate',
        '{"client_id":"c","subscriptions":[{"server":"main","subject":"a","group":"\\ud800","durable":"","msgs":1,"bytes":1}]}',
        400,
        /^subscriptions\[0\]\.group holds an unpaired UTF-16 surrogate/,
      ],
      [
        'invalid UTF-8',
        Buffer.concat([Buffer.from('{"client_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","subscriptions":[]}')]),
        400,
        /^the body is not valid UTF-8: send one JSON object/,
      ],
      ['not JSON', '{"client_id": "c", ', 400, /^the body is not JSON \(.*\): send one JSON object \{"client_id"/],
      [
        'wildcard subject',
        { client_id: 'c', subscriptions: [sub({ subject: 'orders.*' })] },
        400,
        /^subscriptions\[0\]\.subject "orders\.\*" is a wildcard pattern: write the channel/,
      ],
      ['bad subject', { client_id: 'c', subscriptions: [sub({ subject: 'a..b' })] }, 400, /^subscriptions\[0\]\.subject "a\.\.b" has an empty token/],
      [
        'account on a NATS Streaming server',
        { client_id: 'c', subscriptions: [sub({ account: 'TENANT' })] },
        400,
        /^subscriptions\[0\]\.account "TENANT" is given for "main", a NATS Streaming server \(--server\), which has no accounts: leave account out/,
      ],
      ['colon in durable', { client_id: 'c', subscriptions: [sub({ durable: 'a:b' })] }, 400, /^subscriptions\[0\]\.durable "a:b" contains ":"/],
      ['overlong value', { client_id: 'c'.repeat(1025), subscriptions: [] }, 400, /^client_id is 1025 characters long: at most 1024/],
      [
        'wrong content type',
        { client_id: 'c', subscriptions: [] },
        415,
        /^Content-Type "text\/plain" is not accepted: send Content-Type: application\/json/,
        'text/plain',
      ],
      ['wrong charset', { client_id: 'c', subscriptions: [] }, 415, /is not accepted/, 'application/json; charset=latin1'],
      [
        'too many series',
        { client_id: 'big', subscriptions: Array.from({ length: 6 }, (_, i) => sub({ subject: `s${i}` })) },
        429,
        /^accepting this report would hold 7 subscription reports, more than --probe-max-series 5: raise --probe-max-series/,
      ],
    ];
    for (const [what, body, status, message, contentType] of cases) {
      const answer = await post(probeUrl, body, contentType);
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.match(String(answer.body['error']), message, what);
    }
    const tooMany = await post(probeUrl, { client_id: 'big', subscriptions: Array.from({ length: 6 }, (_, i) => sub({ subject: `s${i}` })) });
    assert.equal(tooMany.headers.get('retry-after'), '30');

    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'queue_client_msgs_pending', keeper), 3, 'the accepted report is untouched');
    assert.equal(find(samples, 'queue_client_msgs_pending').length, 1, 'no refused report left a series');
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'unknown_server' }), 1);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'too_many_series' }), 2);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'invalid' }), cases.length - 2);
  });

  test('wrong paths and methods: 404 and 405 with a JSON error', async () => {
    const wrongPath = await fetch(`${probeUrl}/v1/pendings`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(wrongPath.status, 404);
    assert.match(((await wrongPath.json()) as { error: string }).error, /no such path \/v1\/pendings: workers POST their reports to \/v1\/pending/);
    const wrongMethod = await fetch(`${probeUrl}/v1/pending`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    assert.match(((await wrongMethod.json()) as { error: string }).error, /GET is not accepted: POST the report to \/v1\/pending/);
  });

  test('an oversize body is refused with 413: by Content-Length before any of it is read, and while streaming', async () => {
    const before = valueOf(await scrape(exporter), 'nats_queue_exporter_probe_reports_total', { result: 'too_large' })!;
    // The headers promise 10 MB and no byte of the body follows: the answer comes anyway.
    const announced = await rawExchange(probeUrl, [
      `POST /v1/pending HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * MAX_REPORT_BYTES}\r\n\r\n`,
    ]);
    assert.match(announced, /^HTTP\/1\.1 413 /);
    assert.match(announced, /"error":"the body is 10485760 bytes, more than 1048576 bytes: report fewer subscriptions per request"/);

    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks: Array<string | Buffer> = ['POST /v1/pending HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let i = 0; i < 40; i++) chunks.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    const streamed = await rawExchange(probeUrl, chunks, 2);
    assert.match(streamed, /^HTTP\/1\.1 413 /);
    assert.match(streamed, /"error":"the body is over \d+ bytes, more than 1048576 bytes/);

    const samples = await scrape(exporter);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'too_large' }), before + 2);
    assert.equal(valueOf(samples, 'queue_client_msgs_pending', keeper), 3);
  });
});

describe('a flood of reports from 1,000 client ids', () => {
  let server: StanServer;
  let child: ChildProcess;
  let base: string;
  let probeUrl: string;

  before(async () => {
    server = await startStan({ clusterId: 'probe-flood' });
    const [port, probePort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    probeUrl = `http://127.0.0.1:${probePort}`;
    const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
    // A small heap: a store that kept the flood (well over 100 MB) would run out of memory and die.
    child = spawn(
      process.execPath,
      [
        '--max-old-space-size=64',
        cli,
        '--server',
        `main=${server.monitorUrl}`,
        '--listen',
        `127.0.0.1:${port}`,
        '--probe-listen',
        `127.0.0.1:${probePort}`,
        '--probe-max-series',
        '500',
        '--log-level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => assert.equal((await fetch(`${base}/readyz`)).status, 200));
  });
  after(async () => {
    child.kill('SIGKILL');
    await server.stop();
  });

  async function metrics(): Promise<Sample[]> {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    return parseSamples(await res.text());
  }

  test('the store holds at most --probe-max-series, /metrics keeps answering, memory stays bounded', async (t) => {
    // Warm up the exporter's code paths, so the baseline is not its first-request allocations.
    for (let i = 0; i < 3; i++) await metrics();
    const baseline = valueOf(await metrics(), 'process_resident_memory_bytes')!;
    const statuses = new Map<number, number>();
    const scrapes: number[] = [];
    let flooding = true;
    const scraper = (async () => {
      while (flooding) {
        const started = performance.now();
        await metrics();
        scrapes.push(performance.now() - started);
      }
    })();
    // Each report holds 50 subscriptions with 1,000-character values (about 100 kB): held without
    // a bound, the flood would take well over 100 MB.
    const long = 'x'.repeat(1000);
    const report = (id: string) => ({
      client_id: id,
      subscriptions: Array.from({ length: 50 }, (_, k) => sub({ subject: `flood.${long}.${k}`, group: long, durable: long, msgs: 1, bytes: 100 })),
    });
    const ids = Array.from({ length: 1000 }, (_, i) => `flood-${i}`);
    for (let i = 0; i < ids.length; i += 25) {
      const answers = await Promise.all(ids.slice(i, i + 25).map((id) => post(probeUrl, report(id))));
      for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    }
    flooding = false;
    await scraper;
    assert.deepEqual(Object.fromEntries(statuses), { 200: 10, 429: 990 });
    assert.ok(scrapes.length >= 3, `/metrics answered ${scrapes.length} times during the flood`);

    const samples = await metrics();
    assert.equal(find(samples, 'queue_client_reports').length, 50);
    assert.equal(valueOf(samples, 'queue_client_reports', { subject: `flood.${long}.0` }), 10);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'accepted' }), 10);
    assert.equal(valueOf(samples, 'nats_queue_exporter_probe_reports_total', { result: 'too_many_series' }), 990);
    assert.equal(child.exitCode, null, 'the exporter is alive on its 64 MB heap');
    const rss = valueOf(samples, 'process_resident_memory_bytes')!;
    const heap = valueOf(samples, 'nodejs_heap_size_used_bytes')!;
    t.diagnostic(
      `1,000 reports of ~100 kB: resident ${(baseline / 2 ** 20).toFixed(1)} -> ${(rss / 2 ** 20).toFixed(1)} MiB, heap used ${(heap / 2 ** 20).toFixed(1)} MiB; ${scrapes.length} scrapes during the flood, slowest ${Math.max(...scrapes).toFixed(0)} ms`,
    );
    // A client already held may still report again: replacing does not add entries.
    assert.equal((await post(probeUrl, report('flood-0'))).status, 200);
  });
});
