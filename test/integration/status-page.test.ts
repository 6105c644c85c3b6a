import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import type { Browser, Page } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { launchChromium } from '../../harness/browser.js';
import { createTestCa } from '../../harness/certs.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';
import { type MonitorProxy, startMonitorProxy } from '../../harness/monitor-proxy.js';
import { ROOT } from '../../harness/repo-files.js';
import { closeStan, connectStan, publishMany, ready, type Stan } from '../../harness/stan-client.js';
import { startStan, type StanServer } from '../../harness/stan-server.js';

// The monitoring password goes in the server URL, the page's in the web config: neither may show.
const MONITOR_PASSWORD = 'monitor-Secret-7';
const USER = 'oncall';
const PASSWORD = 'page-Secret-3';
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
// The server refuses '>', '/' and whitespace in channel names, not in queue group or durable names.
const HOSTILE = { subject: `<script&amp;"'`, group: '<img/src=x/onerror=window.pwned=1>', durable: '<script>window.pwned=2</script>' };
/** Written into docs/ (and so the README) only when asked; every run takes it. */
const SCREENSHOT = process.env['NQE_UPDATE_SCREENSHOT'] === '1' ? join(ROOT, 'docs', 'status-page.png') : undefined;

const dir = mkdtempSync(join(tmpdir(), 'nqe-status-page-'));
let stan: StanServer;
let proxy: MonitorProxy;
let started: LoggedExporter;
let agent: Agent;
let browser: Browser;
const clients: Stan[] = [];

before(async () => {
  const ca = createTestCa(dir, 'status');
  const cert = ca.issue('exporter', 'server');
  const webConfig = join(dir, 'web.yml');
  writeFileSync(
    webConfig,
    [
      'tls_server_config:',
      `  cert_file: ${cert.certFile}`,
      `  key_file: ${cert.keyFile}`,
      'basic_auth_users:',
      `  ${USER}: ${bcrypt.hashSync(PASSWORD, 4)}`,
      '',
    ].join('\n'),
  );
  stan = await startStan();
  proxy = await startMonitorProxy(stan.monitorUrl);
  const monitor = new URL(proxy.url);
  monitor.username = 'monitor';
  monitor.password = MONITOR_PASSWORD;
  started = await startLoggedExporter(['--server', `nats=${monitor.href}`, '--web-config', webConfig]);
  agent = new Agent({ connect: { ca: readFileSync(ca.caFile) } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await started?.exporter.close();
  await agent?.close();
  for (const sc of clients) await closeStan(sc);
  await proxy?.close();
  await stan?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function client(id: string): Promise<Stan> {
  const sc = await connectStan(stan.natsUrl, stan.clusterId, id);
  clients.push(sc);
  return sc;
}

async function get(path: string, authorization = AUTHORIZATION): Promise<{ status: number; text: string }> {
  const res = await undiciFetch(`${started.exporter.url}${path}`, { dispatcher: agent, headers: authorization ? { authorization } : {} });
  return { status: res.status, text: await res.text() };
}

/** One Prometheus-style scrape: one collection. */
async function collect(): Promise<void> {
  const { status } = await get('/metrics');
  assert.equal(status, 200);
}

/** The text of each cell of each row. */
async function cells(page: Page, rows: string): Promise<string[][]> {
  const found = [];
  for (const row of await page.locator(rows).all()) found.push(await row.locator('td').allTextContents());
  return found;
}

function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 50);
    };
    poll();
  });
}

test('in Chromium, over TLS and basic auth: a queue whose members stop acking is stuck by its second collection, an offline durable is offline, worst first, a hostile name is text, no secret shows', async () => {
  const publisher = await client('publisher');

  // Two members of queue group "workers" that ack until told to stop, 4 in flight each.
  let acking = true;
  let receivedSinceStop = 0;
  const workers = await client('workers');
  for (let i = 0; i < 2; i++) {
    const opts = workers.subscriptionOptions().setManualAckMode(true).setMaxInFlight(4).setAckWait(60_000);
    const sub = workers.subscribe('orders', 'workers', opts);
    sub.on('message', (msg) => {
      if (acking) msg.ack();
      else receivedSinceStop++;
    });
    await ready(sub);
  }
  await publishMany(publisher, 'orders', 5);

  // A durable subscription whose client has gone: offline, and its backlog grows.
  const archiver = await connectStan(stan.natsUrl, stan.clusterId, 'archiver');
  const archive = archiver.subscribe('audit', archiver.subscriptionOptions().setDurableName('archive').setDeliverAllAvailable());
  await ready(archive);
  await closeStan(archiver);
  await publishMany(publisher, 'audit', 3);

  const readers = await client('readers');
  await ready(readers.subscribe(HOSTILE.subject, HOSTILE.group, readers.subscriptionOptions().setDurableName(HOSTILE.durable)));
  await publishMany(publisher, HOSTILE.subject, 2);

  // The first look starts the history with a collection of its own.
  assert.equal((await get('/api/v1/queues')).status, 200);
  acking = false;
  await publishMany(publisher, 'orders', 20);
  await until(() => receivedSinceStop === 8, 'both members to fill their in-flight windows');
  await collect();
  // A pause as between two scrapes, so the page has a duration to show.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await collect();
  const sweeps = proxy.counts.get('/streaming/serverz');
  assert.equal(sweeps, 3, 'the first look and two scrapes: three collections');

  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    httpCredentials: { username: USER, password: PASSWORD },
    viewport: { width: 1600, height: 560 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  const answer = await page.goto(`${started.exporter.url}/`);
  assert.match(answer?.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'/);
  await page.waitForSelector('body[data-collected-at]');

  const rows = await cells(page, '#queues tbody tr');
  const columns = await page.locator('#queues thead th').allTextContents();
  const named = rows.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i]])));
  assert.deepEqual(
    named.map((r) => [r['verdict'], r['subject'], r['group'], r['durable']]),
    [
      ['stuck', 'orders', 'workers', ''],
      ['offline', 'audit', '', 'archive'],
      ['idle', HOSTILE.subject, HOSTILE.group, HOSTILE.durable],
    ],
    'worst first, hostile names as plain text',
  );
  const [stuck, offline, idle] = named;
  assert.deepEqual(
    [stuck!['to drain'], offline!['to drain'], idle!['to drain']],
    ['\u221e (growing)', '\u221e (growing)', '0'],
    'the time to drain beside the verdict',
  );
  assert.deepEqual(
    [stuck!['pending'], stuck!['undelivered'], stuck!['unacked'], stuck!['members'], stuck!['stalled'], stuck!['offline']],
    ['20', '12', '8', '2', '2', '0'],
  );
  assert.match(stuck!['why']!, /cursor unmoved at 13 .*all 2 member\(s\) stalled/);
  assert.deepEqual([offline!['pending'], offline!['members'], offline!['offline']], ['3', '0', '1']);
  // Published seconds ago, before the exporter started: at least that long, or estimated.
  assert.match(stuck!['oldest waiting']!, /^(~|\u2265 )?\d+ s$/);

  const servers = await cells(page, '#servers tbody tr');
  assert.equal(servers.length, 1);
  assert.deepEqual(servers[0]!.slice(0, 7), ['nats', new URL(proxy.url).host, proxy.url, 'up', 'STANDALONE', '', 'from this node']);

  // Run in the page, where window exists; this file is compiled without the DOM's types.
  assert.equal(await page.evaluate('window.pwned'), undefined, 'a name ran as a script');
  assert.equal(await page.locator('script').count(), 1, 'status.js only');
  assert.equal(await page.locator('main img').count(), 0, 'a name became markup');

  if (SCREENSHOT) mkdirSync(join(ROOT, 'docs'), { recursive: true });
  const png = await page.screenshot({ fullPage: true, ...(SCREENSHOT ? { path: SCREENSHOT } : {}) });
  assert.equal(png.subarray(1, 4).toString(), 'PNG');

  // Every figure links to its series.
  const pendingLink = page.locator('#queues tbody tr').first().locator('td').nth(columns.indexOf('pending')).locator('a');
  assert.equal(await pendingLink.getAttribute('title'), 'queue_msgs_pending{server="nats", subject="orders", group="workers", durable=""}');
  await pendingLink.click();
  assert.equal(await page.inputValue('#promql-text'), 'queue_msgs_pending{server="nats", subject="orders", group="workers", durable=""}');

  // With a Prometheus URL the figures open it; anything but http(s) is refused.
  const query = 'queue_msgs_pending{server="nats", subject="orders", group="workers", durable=""}';
  await page.fill('#prometheus', 'javascript:window.pwned=3');
  await page.dispatchEvent('#prometheus', 'change');
  assert.equal(await pendingLink.getAttribute('href'), '#promql');
  await page.fill('#prometheus', 'http://prometheus.example:9090/');
  await page.dispatchEvent('#prometheus', 'change');
  assert.equal(await pendingLink.getAttribute('href'), `http://prometheus.example:9090/graph?g0.tab=0&g0.expr=${encodeURIComponent(query)}`);

  await page.fill('#filter', 'audit');
  assert.equal(await page.locator('#queues tbody tr').count(), 1);

  const api = await get('/api/v1/queues');
  assert.equal(api.status, 200);
  const doc = JSON.parse(api.text) as { queues: Array<{ verdict: string; pendingHistory: Array<number | null> }> };
  assert.deepEqual(doc.queues[0]!.pendingHistory, [0, 20, 20], 'pending in each of the three collections');
  assert.equal(proxy.counts.get('/streaming/serverz'), sweeps, 'the page and the API reused the last collection');

  const shown = [await page.content(), api.text, (await get('/')).text, started.logs()].join('\n');
  for (const secret of [MONITOR_PASSWORD, PASSWORD, AUTHORIZATION.slice('Basic '.length)]) assert.ok(!shown.includes(secret), 'a secret shows');
  assert.equal((await get('/api/v1/queues', '')).status, 401, 'the API needs the password like /metrics');
  assert.deepEqual(problems, [], 'no console errors (a CSP violation is one)');
  await context.close();
});
