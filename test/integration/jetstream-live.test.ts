import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Channel, Consumer } from '../../src/model/types.js';
import type { NodeStream } from '../../src/sources/jetstream/leaders.js';
import { JszNodeReader } from '../../src/sources/jetstream/node-reader.js';
import { monitorGet } from '../../src/sources/jetstream/source.js';
import { AnswerCaps } from '../../src/sources/answer-caps.js';
import { logicalServerChannels } from '../../src/sources/jetstream/queues.js';
import { ScrapeError } from '../../src/sources/scrape-error.js';
import { MonitorHttpClient } from '../../src/sources/http-client.js';
import {
  addConsumer,
  addStream,
  bindPush,
  connectJs,
  fetchWithoutAck,
  type JsClient,
  moveLeader,
  publish,
  stepDownConsumer,
} from '../../harness/jetstream-client.js';
import { jetstreamAccountsConfig, type NatsCluster, type NatsServer, startNatsCluster, startNatsServer } from '../../harness/nats-server.js';

/** Reads nodes as the exporter will: its HTTP client, one reader per node, a 5 s deadline per read. */
class Nodes {
  readonly #nodes: Array<{ http: MonitorHttpClient; reader: JszNodeReader }>;
  readonly #pageSize: number;

  constructor(servers: readonly NatsServer[], pageSize = 1024) {
    this.#pageSize = pageSize;
    this.#nodes = servers.map((s) => ({
      http: new MonitorHttpClient({ server: 'js', node: s.monitorUrl, url: s.monitorUrl }, { timeoutMs: 5_000, connections: 2 }),
      reader: new JszNodeReader(pageSize),
    }));
  }

  read(at: number): Promise<{ streams: NodeStream[]; pages: number }> {
    const { http, reader } = this.#nodes[at]!;
    const signal = AbortSignal.timeout(5_000);
    return reader.read(monitorGet(http, signal, new AnswerCaps(1), this.#pageSize));
  }

  /** The logical server's channels from the nodes at `indexes` (all by default). */
  async channels(indexes = this.#nodes.map((_, i) => i)): Promise<Channel[]> {
    return logicalServerChannels(await Promise.all(indexes.map(async (i) => (await this.read(i)).streams)));
  }

  async close(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.http.close()));
  }
}

function queue(channels: readonly Channel[], stream: string, group: string, durable: string): Consumer | undefined {
  return channels.find((c) => c.name === stream)?.consumers.find((q) => q.group === group && q.durable === durable);
}

/** Reads until `check` holds for the queue or 10 s pass; gives the last queue seen. */
async function settledQueue(
  read: () => Promise<Channel[]>,
  key: [string, string, string],
  check: (q: Consumer | undefined) => boolean,
): Promise<Consumer | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const q = queue(await read(), ...key);
    if (check(q) || Date.now() > deadline) return q;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a standalone v2.12.15 server', () => {
  let server: NatsServer;
  let client: JsClient;
  let nodes: Nodes;

  before(async () => {
    server = await startNatsServer();
    client = await connectJs(server.natsUrl);
    nodes = new Nodes([server]);
  });
  after(async () => {
    await nodes?.close();
    await client?.close();
    await server?.stop();
  });

  test('a pull consumer with fetched-not-acked messages and a push queue consumer with a filter give exact figures', async () => {
    await addStream(client.jsm, { name: 'orders', subjects: ['orders'] });
    await publish(client.js, 'orders', 25);
    await addConsumer(client.jsm, 'orders', { durable_name: 'billing', max_ack_pending: 10 });
    assert.equal(await fetchWithoutAck(client.js, 'orders', 'billing', 5), 5);

    await addStream(client.jsm, { name: 'jobs', subjects: ['jobs.>'] });
    await publish(client.js, 'jobs.a', 6);
    await publish(client.js, 'jobs.b', 4);
    await addConsumer(client.jsm, 'jobs', { durable_name: 'ledger', deliver_subject: 'deliver.ledger', deliver_group: 'workers', filter_subject: 'jobs.a' });
    const sub = bindPush(client.nc, 'deliver.ledger', 'workers');
    await addConsumer(client.jsm, 'jobs', { durable_name: 'audit', deliver_subject: 'deliver.audit', deliver_group: 'auditors', filter_subject: 'jobs.b' });

    const read = () => nodes.channels();
    assert.deepEqual(queue(await read(), 'orders', '', 'billing'), {
      group: '',
      durable: 'billing',
      lastSent: 5,
      undelivered: 20,
      unacked: 5,
      pending: 25,
      members: 1,
      stalledMembers: 0,
      maxInflight: 10,
      offline: false,
      evicted: 0,
      redelivered: 0,
      undeliveredRange: { from: 6, to: 6, firstOn: [] },
      oldestUnacked: { from: 1, to: 1, firstOn: [] },
    });
    // The bound push consumer gets jobs.a's 6 messages (stream sequences 1..6) and acks none.
    assert.deepEqual(await settledQueue(read, ['jobs', 'workers', 'ledger'], (q) => q?.unacked === 6), {
      group: 'workers',
      durable: 'ledger',
      lastSent: 6,
      undelivered: 0,
      unacked: 6,
      pending: 6,
      members: 1,
      stalledMembers: 0,
      maxInflight: 1000,
      offline: false,
      evicted: 0,
      redelivered: 0,
      // Its 6 unacked messages are all it got: the oldest is the first after the ack floor.
      oldestUnacked: { from: 1, to: 1, firstOn: ['jobs.a'] },
    });
    assert.deepEqual(queue(await read(), 'jobs', 'auditors', 'audit'), {
      group: 'auditors',
      durable: 'audit',
      lastSent: 0,
      undelivered: 4,
      unacked: 0,
      pending: 4,
      members: 0,
      stalledMembers: 0,
      maxInflight: 1000,
      offline: true,
      evicted: 0,
      redelivered: 0,
      // Its 4 messages lie among the stream's 10: the first is the first jobs.b message, no later than 7.
      undeliveredRange: { from: 1, to: 7, firstOn: ['jobs.b'] },
      oldestUnacked: null,
    });
    sub.unsubscribe();
    assert.deepEqual((await settledQueue(read, ['jobs', 'workers', 'ledger'], (q) => q?.members === 0))?.offline, true, 'offline once its subscriber left');
  });
});

test('a server without JetStream gives a clear error, not figures', async () => {
  const server = await startNatsServer({ jetstream: false });
  const nodes = new Nodes([server]);
  try {
    await assert.rejects(
      nodes.read(0),
      (err: unknown) => err instanceof ScrapeError && err.reason === 'invalid_response' && /JetStream is disabled/.test(err.message),
    );
  } finally {
    await nodes.close();
    await server.stop();
  }
});

test('v2.10.27 (no total, unsorted first page): every account read once, one account per page', async () => {
  const accounts = ['TEAM_C', 'TEAM_A', 'TEAM_B'];
  const server = await startNatsServer({ release: 'v2_10', config: jetstreamAccountsConfig(accounts) });
  const nodes = new Nodes([server], 1);
  const clients: JsClient[] = [];
  try {
    for (const [i, account] of accounts.entries()) {
      const c = await connectJs(server.natsUrl, { user: account.toLowerCase(), pass: account.toLowerCase() });
      clients.push(c);
      await addStream(c.jsm, { name: 'orders', subjects: ['orders'] });
      await publish(c.js, 'orders', i + 1);
      await addConsumer(c.jsm, 'orders', { durable_name: 'billing' });
    }
    // The first page is a new random choice on every request: read a few times.
    for (let i = 0; i < 5; i++) {
      const channels = await nodes.channels();
      assert.deepEqual(channels.map((c) => [c.account, c.consumers[0]?.undelivered]).sort(), [
        ['TEAM_A', 2],
        ['TEAM_B', 3],
        ['TEAM_C', 1],
      ]);
    }
  } finally {
    for (const c of clients) await c.close();
    await nodes.close();
    await server.stop();
  }
});

describe('a 3-node v2.12.15 cluster configured as one logical server', () => {
  let cluster: NatsCluster;
  let client: JsClient;
  let nodes: Nodes;

  before(async () => {
    cluster = await startNatsCluster();
    client = await connectJs(cluster.nodes.map((n) => n.natsUrl));
    nodes = new Nodes(cluster.nodes);
  });
  after(async () => {
    await nodes?.close();
    await client?.close();
    await cluster?.stop();
  });

  test("an R3 pull consumer is one queue with the leader's figures through a step-down and the loss of its leader", async () => {
    await addStream(client.jsm, { name: 'cjobs', subjects: ['cjobs'], num_replicas: 3 });
    await publish(client.js, 'cjobs', 12);
    await addConsumer(client.jsm, 'cjobs', { durable_name: 'cpull' });
    assert.equal(await fetchWithoutAck(client.js, 'cjobs', 'cpull', 4), 4);
    const expected = {
      group: '',
      durable: 'cpull',
      lastSent: 4,
      undelivered: 8,
      unacked: 4,
      pending: 12,
      members: 1,
      stalledMembers: 0,
      maxInflight: 1000,
      offline: false,
      evicted: 0,
      redelivered: 0,
      undeliveredRange: { from: 5, to: 5, firstOn: [] },
      oldestUnacked: { from: 1, to: 1, firstOn: [] },
    };
    const one = (channels: Channel[]) => channels.flatMap((c) => c.consumers);
    const settled = async (indexes?: number[]) => {
      const deadline = Date.now() + 10_000;
      let seen = one(await nodes.channels(indexes));
      while (JSON.stringify(seen) !== JSON.stringify([expected]) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        seen = one(await nodes.channels(indexes));
      }
      return seen;
    };
    assert.deepEqual(await settled(), [expected]);

    const leader = async () => (await client.jsm.consumers.info('cjobs', 'cpull')).cluster?.leader;
    const first = (await leader())!;
    const second = await moveLeader(
      leader,
      () => stepDownConsumer(client.nc, 'cjobs', 'cpull'),
      (n) => n !== first,
    );
    assert.deepEqual(await settled(), [expected], `after the step-down from ${first} to ${second}`);

    const lost = cluster.nodes.findIndex((n) => n.name === second);
    await cluster.nodes[lost]!.kill();
    const third = await moveLeader(
      leader,
      async () => undefined,
      (n) => n !== second,
    );
    const left = [0, 1, 2].filter((i) => i !== lost);
    assert.deepEqual(await settled(left), [expected], `after losing ${second}, led by ${third}`);
  });
});
