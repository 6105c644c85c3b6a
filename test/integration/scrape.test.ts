import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { get, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { find, parseSamples, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { type MonitorProxy, startMonitorProxy } from '../../harness/monitor-proxy.js';
import { type Stan, closeStan, connectStan, publish, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { requireTool } from '../../harness/tools.js';

const CHANNELS = 1100;

describe('one server with more than 1,024 channels', () => {
  let server: StanServer;
  let sc: Stan;
  const exporters: RunningExporter[] = [];
  const proxies: MonitorProxy[] = [];

  before(async () => {
    server = await startStan({ clusterId: 'many' });
    sc = await connectStan(server.natsUrl, server.clusterId, 'filler');
    const pending: Promise<void>[] = [];
    for (let i = 0; i < CHANNELS; i++) pending.push(publish(sc, `bulk.${String(i).padStart(4, '0')}`, 'x'));
    await Promise.all(pending);
    await publish(sc, 'orders.eu', 'o');
    await publish(sc, 'orders.test', 'o');
    const sub = sc.subscribe('orders.eu', 'workers', sc.subscriptionOptions().setManualAckMode(true).setDeliverAllAvailable());
    sub.on('message', () => undefined);
    await ready(sub);
  });
  after(async () => {
    for (const e of exporters) await e.close();
    for (const p of proxies) await p.close();
    await closeStan(sc);
    await server.stop();
  });

  async function exporterFor(args: string[], url = server.monitorUrl): Promise<RunningExporter> {
    const e = await startTestExporter(['--server', `many=${url}`, ...args]);
    exporters.push(e);
    return e;
  }

  test('every channel is exported, whatever the page size', async () => {
    for (const pageSize of ['1024', '100']) {
      const samples = await scrape(await exporterFor(['--page-size', pageSize]));
      const channels = find(samples, 'stan_channel_last_sequence', { server: 'many' });
      assert.equal(channels.length, CHANNELS + 2, `page size ${pageSize}`);
      assert.equal(new Set(channels.map((s) => s.labels['subject'])).size, CHANNELS + 2);
      assert.equal(valueOf(samples, 'stan_channel_messages', { subject: 'bulk.1099' }), 1);
      assert.equal(valueOf(samples, 'stan_server_channels', { server: 'many' }), CHANNELS + 2);
    }
  });

  test('concurrent scrapes share one sweep of the server', async () => {
    const proxy = await startMonitorProxy(server.monitorUrl, { delayMs: 150 });
    proxies.push(proxy);
    const exporter = await exporterFor(['--page-size', '500'], proxy.url);
    const texts = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(`${exporter.url}/metrics`)).text()));
    assert.equal(proxy.counts.get('/streaming/serverz'), 1);
    assert.equal(proxy.counts.get('/streaming/storez'), 1);
    assert.equal(proxy.counts.get('/streaming/channelsz'), 3, 'ceil(1102 / 500) pages');
    const queue = (text: string) => valueOf(parseSamples(text), 'queue_msgs_pending', { subject: 'orders.eu', group: 'workers' });
    for (const text of texts) assert.equal(queue(text), 1);
    // The next scrape after those is a new sweep.
    await scrape(exporter);
    assert.equal(proxy.counts.get('/streaming/serverz'), 2);
  });

  test('subject patterns select channels; per-subscription series are not on /metrics, --no-subscription-metrics or not', async () => {
    const samples = await scrape(await exporterFor(['--subjects', 'orders.>', '--exclude-subjects', '*.test', '--no-subscription-metrics']));
    assert.deepEqual(
      find(samples, 'stan_channel_messages').map((s) => s.labels['subject']),
      ['orders.eu'],
    );
    assert.equal(valueOf(samples, 'queue_consumers', { subject: 'orders.eu', group: 'workers' }), 1);
    assert.deepEqual(
      samples.filter((s) => s.name.startsWith('stan_subscription_')),
      [],
    );
    // Server-wide figures still describe the whole server.
    assert.equal(valueOf(samples, 'stan_server_channels'), CHANNELS + 2);
  });

  test('the text exposition passes promtool check metrics', async () => {
    const promtool = requireTool('promtool');
    const exporter = await exporterFor([]);
    const res = await fetch(`${exporter.url}/metrics`);
    assert.match(res.headers.get('content-type')!, /^text\/plain; version=0.0.4/);
    const text = await res.text();
    assert.doesNotMatch(text, /# EOF/);
    const child = execFile(promtool, ['check', 'metrics']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin!.end(text);
    const code = await exited;
    assert.equal(code, 0, `promtool check metrics:\n${out}`);
  });

  test('/metrics/detailed of 1,100 channels: gzipped as /metrics is, passes promtool, one # EOF in OpenMetrics', async () => {
    const exporter = await exporterFor([]);
    const { res, body } = await new Promise<{ res: IncomingMessage; body: Buffer }>((resolve, reject) => {
      get(`${exporter.url}/metrics/detailed`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.once('end', () => resolve({ res: r, body: Buffer.concat(chunks) }));
        r.once('error', reject);
      }).once('error', reject);
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip', 'larger than 64 KiB, and the scraper takes gzip');
    assert.match(String(res.headers['vary']), /accept-encoding/i);
    const text = gunzipSync(body).toString('utf8');
    const samples = parseSamples(text);
    assert.equal(find(samples, 'stan_channel_first_sequence', { server: 'many' }).length, CHANNELS + 2);
    assert.equal(find(samples, 'stan_channel_subscriptions', { server: 'many' }).length, CHANNELS + 2);
    assert.equal(valueOf(samples, 'stan_channel_subscriptions', { subject: 'orders.eu' }), 1);
    assert.deepEqual(
      find(samples, 'stan_subscription_unacked_messages').map((s) => s.labels['group']),
      ['workers'],
    );
    assert.deepEqual(
      samples.filter((s) => /^(stan_up|stan_channel_last_sequence|queue_msgs_pending|nats_queue_exporter_|process_)/.test(s.name)),
      [],
      'only detailed families',
    );

    const child = execFile(requireTool('promtool'), ['check', 'metrics']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin!.end(text);
    assert.equal(await exited, 0, `promtool check metrics:\n${out}`);

    const accept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const open = await fetch(`${exporter.url}/metrics/detailed?family=stan_subscription_stalled`, { headers: { accept } });
    assert.match(open.headers.get('content-type')!, /^application\/openmetrics-text; version=1.0.0/);
    const openText = await open.text();
    assert.match(openText, /^# HELP stan_subscription_stalled [^\n]*\n# TYPE stan_subscription_stalled gauge\nstan_subscription_stalled\{[^\n]*\} 0\n# EOF\n$/);
  });

  test('OpenMetrics when Prometheus asks for it: counters named per family, one # EOF at the end', async () => {
    const exporter = await exporterFor([]);
    const accept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const res = await fetch(`${exporter.url}/metrics`, { headers: { accept } });
    assert.match(res.headers.get('content-type')!, /^application\/openmetrics-text; version=1.0.0/);
    const text = await res.text();
    assert.match(text, /\n# EOF\n$/);
    assert.equal(text.match(/# EOF/g)!.length, 1);
    assert.match(text, /# TYPE stan_server_received_messages counter\nstan_server_received_messages_total\{server="many",node="[^"]+"\} \d+/);
    assert.match(text, /# TYPE nats_queue_exporter_scrape_errors counter\n/);
    assert.equal(valueOf(parseSamples(text.replace(/# EOF\n$/, '')), 'stan_up', { server: 'many' }), 1);
  });
});
