import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { buildGoExample, GO_EXAMPLE as EXAMPLE } from '../../harness/go-example.js';
import { addConsumer, addStream, connectJs, type JsClient, publish } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { type Stan, closeStan, connectStan, publishMany } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { NODE_WORKER, type WorkerProcess, startWorker } from '../../harness/workers.js';

const PROBE = fileURLToPath(new URL('../../../go/probe', import.meta.url));
const PROBES_PAGE = fileURLToPath(new URL('../../../docs/client-probes.md', import.meta.url));
const PROBE_MODULE = 'github.com/nats-queue-exporter/nats-queue-exporter/go/probe';
const INTERVAL_MS = 300;
const TTL_SECONDS = 2;

test('the Go snippet of docs/client-probes.md is code of the example worker, in its order', () => {
  const page = readFileSync(PROBES_PAGE, 'utf8');
  const section = page.slice(page.indexOf('## Go workers'));
  const snippet = /```go\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(snippet, 'docs/client-probes.md has a go block under "## Go workers"');
  const main = readFileSync(join(EXAMPLE, 'main.go'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  let at = 0;
  for (const line of snippet
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')) {
    const found = main.indexOf(line, at);
    assert.ok(found >= 0, `examples/go-worker/main.go has, after line ${at}: ${line}`);
    at = found + 1;
  }
});

test("the Go probe package is versioned with the project: its Version, the example's require and the docs' go get", () => {
  const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.match(readFileSync(join(PROBE, 'go.mod'), 'utf8'), new RegExp(`^module ${PROBE_MODULE}$`, 'm'));
  assert.equal(/^const Version = "([^"]+)"$/m.exec(readFileSync(join(PROBE, 'probe.go'), 'utf8'))?.[1], version);
  assert.match(readFileSync(join(EXAMPLE, 'go.mod'), 'utf8'), new RegExp(`\\t${PROBE_MODULE} v${version}\n`));
  assert.ok(readFileSync(PROBES_PAGE, 'utf8').includes(`go get ${PROBE_MODULE}@v${version}`), `docs/client-probes.md says go get ${PROBE_MODULE}@v${version}`);
});

describe('the Go example worker (examples/go-worker, stan.go and go/probe) reports sub.Pending() to the sidecar', () => {
  let buildDir: string;
  let binary: string;
  let server: StanServer;
  let exporter: RunningExporter;
  let publisher: Stan;
  const workers: WorkerProcess[] = [];

  before(
    async () => {
      ({ buildDir, binary } = buildGoExample());
      server = await startStan({ clusterId: 'go-probes' });
      exporter = await startTestExporter(['--server', `main=${server.monitorUrl}`, '--probe-ttl', String(TTL_SECONDS)]);
      publisher = await connectStan(server.natsUrl, server.clusterId, 'go-test-publisher');
    },
    { timeout: 320_000 },
  );
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await closeStan(publisher).catch(() => undefined);
    await exporter?.close();
    await server?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  async function goWorker(args: string[]): Promise<WorkerProcess> {
    const w = startWorker(
      binary,
      ['-nats', server.natsUrl, '-cluster', server.clusterId, '-server', 'main', '-sidecar', exporter.probeUrl!, '-interval', `${INTERVAL_MS}ms`, ...args],
      {},
    );
    workers.push(w);
    await w.waitFor((e) => typeof e['text'] === 'string' && e['text'].includes('subscribed to'));
    return w;
  }

  test('a slow handler: messages buffered in the client show within a push interval and drain to 0', async () => {
    await goWorker(['-client-id', 'go-slow', '-subject', 'go.orders', '-group', 'workers', '-work', '150ms']);
    await publishMany(publisher, 'go.orders', 20, 'payload-');
    const labels = { server: 'main', subject: 'go.orders', group: 'workers', durable: '' };
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.ok(valueOf(s, 'queue_client_msgs_pending', labels)! >= 10, `client pending ${valueOf(s, 'queue_client_msgs_pending', labels)}`);
      return s;
    }, INTERVAL_MS + 2000);
    assert.ok(valueOf(samples, 'queue_client_bytes_pending', labels)! > 0);
    assert.equal(valueOf(samples, 'queue_client_max_inflight', labels), 1024);
    assert.equal(valueOf(samples, 'queue_client_msgs_dropped', labels), 0);
    await eventually(
      async () => {
        const s = await scrape(exporter);
        assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 0);
        assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 0);
      },
      20 * 150 + 5000,
    );
  });

  test("manual-ack mode: client pending never exceeds the server's unacked while a backlog waits", async () => {
    await goWorker([
      '-client-id',
      'go-acker',
      '-subject',
      'go.invoices',
      '-group',
      'billing',
      '-durable',
      'ledger',
      '-manual-ack',
      '-max-inflight',
      '4',
      '-work',
      '400ms',
    ]);
    await publishMany(publisher, 'go.invoices', 12);
    const labels = { server: 'main', subject: 'go.invoices', group: 'billing', durable: 'ledger' };
    const seen: Array<[number, number]> = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const s = await scrape(exporter);
      const client = valueOf(s, 'queue_client_msgs_pending', labels);
      const unacked = valueOf(s, 'queue_msgs_unacked', labels)!;
      // Once nothing waits on the server, unacked falls while the client's last report may lag.
      if ((valueOf(s, 'queue_msgs_undelivered', labels) ?? 0) === 0) break;
      if (client !== undefined) seen.push([client, unacked]);
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(seen.length >= 3, `sampled ${seen.length} times while a backlog waited`);
    for (const [client, unacked] of seen) assert.ok(client <= unacked, `client ${client} <= server unacked ${unacked}`);
    assert.ok(
      seen.some(([client]) => client >= 3),
      `the window of 4 showed on the client: ${JSON.stringify(seen)}`,
    );
    await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', labels), 0);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 0);
    }, 15_000);
  });

  test('a Go and a Node worker of one pod in one queue group are summed; SIGTERM sends zeros, SIGKILL expires', async () => {
    const go = await goWorker(['-client-id', 'go-mixed', '-subject', 'go.mixed', '-group', 'mixers', '-work', '10s']);
    const node = startWorker(process.execPath, [NODE_WORKER], {
      WORKER_NATS_URL: server.natsUrl,
      WORKER_CLUSTER: server.clusterId,
      WORKER_CLIENT_ID: 'node-mixed',
      WORKER_SUBJECT: 'go.mixed',
      WORKER_GROUP: 'mixers',
      WORKER_SERVER: 'main',
      WORKER_PROBE_URL: exporter.probeUrl!,
      WORKER_INTERVAL_MS: String(INTERVAL_MS),
    });
    workers.push(node);
    await node.waitFor((e) => e['ready'] === true);
    await publishMany(publisher, 'go.mixed', 10);
    const labels = { server: 'main', subject: 'go.mixed', group: 'mixers', durable: '' };
    await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_reports', labels), 2);
      // Neither worker finishes a message: the Go one sleeps 10 s per message, the Node one waits at its gate.
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 10);
    });

    assert.equal(await go.kill('SIGTERM'), 0);
    assert.ok(go.events.some((e) => typeof e['text'] === 'string' && e['text'].includes('stopped after a final pending report')));
    const afterGo = await scrape(exporter);
    assert.ok(valueOf(afterGo, 'queue_client_msgs_pending', labels)! < 10, "the Go worker's share went to 0 at once");
    assert.equal(valueOf(afterGo, 'queue_client_reports', labels), 2, 'its zero report counts until the TTL');

    await node.kill('SIGKILL');
    await eventually(async () => assert.equal(valueOf(await scrape(exporter), 'queue_client_reports', labels), undefined), TTL_SECONDS * 1000 + 3000);
  });
});

describe('the Go example worker with -jetstream (nats.go jetstream.Consumer and go/probe) against a real nats-server', () => {
  let buildDir: string;
  let binary: string;
  let server: NatsServer;
  let client: JsClient;
  let exporter: RunningExporter;
  let worker: WorkerProcess | undefined;

  before(
    async () => {
      ({ buildDir, binary } = buildGoExample());
      server = await startNatsServer();
      client = await connectJs(server.natsUrl);
      exporter = await startTestExporter(['--jetstream', `js=${server.monitorUrl}`]);
    },
    { timeout: 320_000 },
  );
  after(async () => {
    await worker?.kill();
    await client?.close();
    await exporter?.close();
    await server?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  test("the message in the handler reaches the exporter with the queue's labels; the library's prefetch does not; SIGTERM sends zeros", async () => {
    await addStream(client.jsm, { name: 'go-tasks', subjects: ['go-tasks'] });
    await addConsumer(client.jsm, 'go-tasks', { durable_name: 'ledger', max_ack_pending: 4 });
    await publish(client.js, 'go-tasks', 10);
    worker = startWorker(
      binary,
      [
        '-jetstream',
        '-nats',
        server.natsUrl,
        '-subject',
        'go-tasks',
        '-durable',
        'ledger',
        '-server',
        'js',
        '-sidecar',
        exporter.probeUrl!,
        '-interval',
        `${INTERVAL_MS}ms`,
        '-work',
        '30s',
      ],
      {},
    );
    await worker.waitFor((e) => typeof e['text'] === 'string' && e['text'].includes('subscribed to stream go-tasks'));
    const labels = { server: 'js', subject: 'go-tasks', group: '', durable: 'ledger' };
    const s = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_client_msgs_pending', labels), 1);
      assert.equal(valueOf(s, 'queue_msgs_unacked', labels), 4);
      return s;
    });
    // One handler at a time holds "message 0"; the other three the server sent sit in the package's buffer.
    assert.equal(valueOf(s, 'queue_client_bytes_pending', labels), 9);
    assert.equal(valueOf(s, 'queue_client_msgs_dropped', labels), 0);
    assert.equal(await worker.kill('SIGTERM'), 0);
    assert.equal(valueOf(await scrape(exporter), 'queue_client_msgs_pending', labels), 0);
  });
});
