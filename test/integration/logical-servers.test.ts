import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Collector } from '../../src/collector.js';
import { SelfMetrics } from '../../src/metrics/self-metrics.js';
import { AnswerCaps } from '../../src/sources/answer-caps.js';
import { StanSource } from '../../src/sources/stan/source.js';
import type { ServerTarget } from '../../src/targets.js';
import { find, parseSamples, scrape, valueOf } from '../../harness/exporter.js';
import { type LoggedExporter, memoryLog, startLoggedExporter } from '../../harness/logged-exporter.js';
import { closeStan, connectStan, publishMany, ready, type Stan } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const target = (name: string, ...nodes: Array<[node: string, url: string]>): ServerTarget => ({
  name,
  backend: 'stan',
  nodes: nodes.map(([node, url]) => ({ server: name, node, url })),
});

describe('two standalone servers under one NAME both claim the queue state', () => {
  let first: StanServer;
  let second: StanServer;
  let logged: LoggedExporter;
  const clients: Stan[] = [];

  before(async () => {
    [first, second] = await Promise.all([startStan(), startStan()]);
    for (const [server, count] of [
      [first, 3],
      [second, 7],
    ] as const) {
      const sc = await connectStan(server.natsUrl, server.clusterId, `pub-${count}`);
      clients.push(sc);
      const sub = sc.subscribe('claimed', 'workers', sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(1));
      sub.on('message', () => undefined);
      await ready(sub);
      await publishMany(sc, 'claimed', count);
    }
    logged = await startLoggedExporter(['--server', `split/one=${first.monitorUrl}`, '--server', `split/two=${second.monitorUrl}`]);
  });
  after(async () => {
    await Promise.all(clients.map((sc) => closeStan(sc)));
    await logged?.exporter.close();
    await Promise.all([first?.stop(), second?.stop()]);
  });

  test('the figures come from the first in configured order, once; the conflict is a gauge and one warning', async () => {
    const samples = await scrape(logged.exporter);
    await scrape(logged.exporter);
    assert.deepEqual(
      find(samples, 'queue_msgs_pending', { subject: 'claimed' }).map((s) => [s.labels['server'], s.value]),
      [['split', 3]],
    );
    assert.equal(valueOf(samples, 'queue_server_owner_conflict', { server: 'split' }), 1);
    assert.equal(valueOf(samples, 'queue_server_owner_up', { server: 'split' }), 1);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'split' }), 2);
    assert.equal(valueOf(samples, 'stan_server_info', { server: 'split', node: 'two', state: 'STANDALONE' }), 1);
    const warnings = logged
      .logs()
      .split('\n')
      .filter((l) => l.includes('more than one node claims the queue state'));
    assert.equal(warnings.length, 1, 'logged once when it starts, not on every scrape');
    assert.match(warnings[0]!, /"owner":"one","alsoClaiming":\["two"\]/);
  });
});

describe("faults that are not the server's", () => {
  let server: StanServer;
  let fixtures: Server;
  let fixturesUrl: string;

  before(async () => {
    server = await startStan();
    // Recorded pages (test/fixtures/standalone), served as a proxy that re-encodes JSON might:
    // one key written as a JSON escape, which the fast reader leaves to the checked parser.
    const recorded = (name: string) => readFileSync(new URL(`../../../test/fixtures/standalone/${name}`, import.meta.url), 'utf8');
    const pages: Record<string, string> = {
      '/streaming/serverz': recorded('serverz.json'),
      '/streaming/storez': recorded('storez.json'),
      '/streaming/channelsz': recorded('channelsz-subs.json').replace('"last_seq"', '"last\\u005fseq"'),
    };
    fixtures = createServer((req, res) => {
      const body = pages[new URL(req.url ?? '/', 'http://x').pathname];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => fixtures.listen(0, '127.0.0.1', resolve));
    fixturesUrl = `http://127.0.0.1:${(fixtures.address() as AddressInfo).port}`;
  });
  after(async () => {
    await server?.stop();
    await new Promise((resolve) => fixtures?.close(resolve));
  });

  test("a bug in the exporter is exporter_error, logged at error with its stack, not the server's invalid_response", async () => {
    const bug = () => {
      throw new TypeError("cannot read properties of undefined (reading 'name')");
    };
    const opts = { timeoutMs: 5000, pageSize: 1024, selectSubject: bug, ageLookups: 0, caps: new AnswerCaps(1) };
    const sc = await connectStan(server.natsUrl, server.clusterId, 'bug-pub');
    await publishMany(sc, 'any.channel', 1);
    await closeStan(sc);
    const { log, lines } = memoryLog();
    const metrics = new SelfMetrics('test', [{ server: 'a', node: 'n' }]);
    const collector = new Collector([new StanSource(target('a', ['n', server.monitorUrl]), opts)], log, metrics);
    const {
      servers: [snapshot],
    } = await collector.collect();
    await collector.close();
    assert.equal(snapshot!.nodes[0]!.failure?.reason, 'exporter_error');
    assert.match(snapshot!.nodes[0]!.failure!.message, /exporter fault while reading http:\/\/127\.0\.0\.1:\d+: cannot read properties/);
    assert.equal(snapshot!.owner, undefined);
    const errorLine = lines().find((l) => l['level'] === 50);
    assert.ok(errorLine, 'logged at error');
    assert.match(String((errorLine['err'] as { stack?: string }).stack), /TypeError: cannot read properties[\s\S]*at /);
    const own = parseSamples(await metrics.render('text'));
    assert.equal(valueOf(own, 'nats_queue_exporter_scrape_errors_total', { server: 'a', node: 'n', reason: 'exporter_error' }), 1);
    assert.equal(valueOf(own, 'nats_queue_exporter_scrape_errors_total', { server: 'a', node: 'n', reason: 'invalid_response' }), 0);
  });

  test('pages the fast reader leaves to the checked parser are counted per node, and still read', async () => {
    const { log } = memoryLog();
    const metrics = new SelfMetrics('test', [{ server: 'odd', node: 'proxy' }]);
    const source = new StanSource(target('odd', ['proxy', fixturesUrl]), {
      timeoutMs: 5000,
      pageSize: 1024,
      selectSubject: () => true,
      ageLookups: 0,
      caps: new AnswerCaps(1),
    });
    const collector = new Collector([source], log, metrics);
    const {
      servers: [snapshot],
    } = await collector.collect();
    await collector.collect();
    await collector.close();
    assert.equal(snapshot!.nodes[0]!.failure, undefined);
    assert.deepEqual(
      snapshot!.channels.map((c) => [c.name, c.lastSeq]),
      [
        ['jobs', 8],
        ['orders', 20],
      ],
    );
    assert.equal(snapshot!.nodes[0]!.checkedPages, 1);
    const own = parseSamples(await metrics.render('text'));
    assert.equal(valueOf(own, 'nats_queue_exporter_checked_parser_pages_total', { server: 'odd', node: 'proxy' }), 2);
  });
});
