import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../../src/config.js';
import { ConfigError } from '../../src/config-error.js';
import { scrape, valueOf } from '../../harness/exporter.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

interface NodeError {
  node: string;
  error: { reason: string; message: string } | null;
}

async function nodeErrors(logged: LoggedExporter, server: string): Promise<NodeError[]> {
  const doc = (await (await fetch(`${logged.exporter.url}/api/v1/queues`)).json()) as { servers: Array<{ name: string; nodes: NodeError[] }> };
  return doc.servers.find((s) => s.name === server)!.nodes;
}

describe('a URL that is not a monitoring port, or the wrong one, says what to give instead', () => {
  let stan: StanServer;
  let nats: NatsServer;
  let logged: LoggedExporter;

  before(async () => {
    [stan, nats] = await Promise.all([startStan({ clusterId: 'wrong-urls' }), startNatsServer()]);
    logged = await startLoggedExporter([
      '--timeout',
      '2',
      '--server',
      `client-port=http://127.0.0.1:${stan.natsPort}`,
      '--jetstream',
      `js-client-port=http://127.0.0.1:${nats.natsPort}`,
      '--server',
      `no-streaming=${nats.monitorUrl}`,
    ]);
    await scrape(logged.exporter);
  });
  after(async () => {
    await logged?.exporter.close();
    await Promise.all([stan?.stop(), nats?.stop()]);
  });

  test('the NATS client port of nats-streaming-server and of nats-server, given as the monitoring port', async () => {
    for (const server of ['client-port', 'js-client-port']) {
      const [node] = await nodeErrors(logged, server);
      assert.equal(node!.error?.reason, 'connect');
      assert.match(node!.error!.message, /this port speaks the NATS protocol, not HTTP: give the monitoring port \(-m, often 8222\)$/);
    }
    assert.match(logged.logs(), /this port speaks the NATS protocol, not HTTP/);
  });

  test('--server given a nats-server without NATS Streaming suggests --jetstream, as its /varz answers', async () => {
    const [node] = await nodeErrors(logged, 'no-streaming');
    assert.equal(node!.error?.reason, 'http_status');
    assert.match(
      node!.error!.message,
      /answered HTTP 404: 404 page not found; its \/varz answers, so this is a nats-server without NATS Streaming \(or one still starting\): for its JetStream queues give it with --jetstream no-streaming=http:\/\/127\.0\.0\.1:\d+$/,
    );
  });
});

test('a URL that names a page of the monitoring API is refused at start with the root to give', () => {
  for (const [flag, url] of [
    ['--server', 'http://nats-a:8222/streaming'],
    ['--server', 'http://nats-a:8222/streaming/serverz'],
    ['--jetstream', 'http://nats-a:8222/jsz/'],
    ['--server', 'https://u@nats-a:8222/proxy/streaming'],
  ]) {
    assert.throws(
      () => parseCli([flag!, `a=${url}`], {}),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          new RegExp(
            `^${flag} "a=\\.\\.\\.": the URL's path /\\S+ is a page of the monitoring API, which the exporter adds itself; give the monitoring port's root, e.g. http://nats-a:8222$`,
          ),
        );
        return true;
      },
    );
  }
  const r = spawnSync(process.execPath, [CLI, '--server', 'a=http://nats-a:8222/streaming'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /give the monitoring port's root, e\.g\. http:\/\/nats-a:8222\n$/);
  assert.doesNotThrow(() => parseCli(['--server', 'a=http://nats-a:8222/nats-a', '--jetstream', 'b=http://nats-a:8222/streams'], {}));
});

describe('one server under two URLs (127.0.0.1 and localhost) is named as one server, not as two owners', () => {
  let stan: StanServer;
  let nats: NatsServer;
  let logged: LoggedExporter;

  before(async () => {
    [stan, nats] = await Promise.all([startStan({ clusterId: 'twice' }), startNatsServer()]);
    logged = await startLoggedExporter([
      '--server',
      `stan=http://127.0.0.1:${stan.monitorPort}`,
      '--server',
      `stan=http://localhost:${stan.monitorPort}`,
      '--jetstream',
      `js=http://127.0.0.1:${nats.monitorPort}`,
      '--jetstream',
      `js=http://localhost:${nats.monitorPort}`,
    ]);
  });
  after(async () => {
    await logged?.exporter.close();
    await Promise.all([stan?.stop(), nats?.stop()]);
  });

  test('nats-streaming-server (serverz server_id) and nats-server (/jsz server_id)', async () => {
    const samples = await scrape(logged.exporter);
    const log = logged.logs();
    for (const [server, port] of [
      ['stan', stan.monitorPort],
      ['js', nats.monitorPort],
    ] as const) {
      assert.equal(valueOf(samples, 'queue_server_owner_conflict', { server }), 0, server);
      assert.match(
        log,
        new RegExp(`"server":"${server}".*nodes 127\\.0\\.0\\.1:${port} and localhost:${port} are the same server \\(server_id \\w+\\): list it once`),
      );
    }
    assert.doesNotMatch(log, /more than one node claims the queue state/);
  });
});
