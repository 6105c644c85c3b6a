/**
 * Records the /jsz and /varz answers under test/fixtures/jetstream/ from real nats-server
 * processes (tools/install-nats-server.sh), with streams and consumers made by
 * @nats-io/jetstream. test/fixtures/jetstream/README.md says what each file holds.
 *
 *   npm run build && node dist/tools/record-jsz-fixtures.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addConsumer,
  addStream,
  bindPush,
  connectJs,
  fetchWithoutAck,
  moveLeader,
  publish,
  stepDownConsumer,
  stepDownStream,
} from '../harness/jetstream-client.js';
import { jetstreamAccountsConfig, type NatsServer, type NatsServerRelease, startNatsCluster, startNatsServer } from '../harness/nats-server.js';

const OUT = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'jetstream');
const page = (offset: number, limit: number) => `/jsz?accounts=true&streams=true&consumers=true&config=true&offset=${offset}&limit=${limit}`;

/** Writes the answer to `path` into `file`; with `until`, asks again (up to 50 times) until it holds. */
async function record(server: NatsServer, path: string, file: string, until?: (body: unknown) => boolean): Promise<void> {
  let text = '';
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${server.monitorUrl}${path}`);
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
    text = await res.text();
    if (!until || until(JSON.parse(text))) break;
  }
  const dir = join(OUT, ...file.split('/').slice(0, -1));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(OUT, file), text);
}

/** Lets replication and the consumers' state settle before a recording. */
const settle = () => new Promise((r) => setTimeout(r, 1_000));

async function standalone(): Promise<void> {
  const server = await startNatsServer();
  const c = await connectJs(server.natsUrl);
  try {
    await addStream(c.jsm, { name: 'orders', subjects: ['orders'] });
    await publish(c.js, 'orders', 25);
    await addConsumer(c.jsm, 'orders', { durable_name: 'billing', max_ack_pending: 100 });
    await fetchWithoutAck(c.js, 'orders', 'billing', 5);
    await addConsumer(c.jsm, 'orders', { durable_name: 'slow', max_ack_pending: 3 });
    await fetchWithoutAck(c.js, 'orders', 'slow', 3);

    await addStream(c.jsm, { name: 'jobs', subjects: ['jobs.>'] });
    await publish(c.js, 'jobs.a', 6);
    await publish(c.js, 'jobs.b', 4);
    await addConsumer(c.jsm, 'jobs', { durable_name: 'a-ledger', deliver_subject: 'deliver.a', deliver_group: 'workers', filter_subject: 'jobs.a' });
    await addConsumer(c.jsm, 'jobs', { durable_name: 'b-bound', deliver_subject: 'deliver.b', deliver_group: 'bworkers', filter_subject: 'jobs.b' });
    bindPush(c.nc, 'deliver.b', 'bworkers');
    // Ephemeral consumers (no durable name, the server makes one up): a pull consumer, and two
    // push consumers of one deliver group "eph", one per subject.
    const ephemeral = { inactive_threshold: 60_000_000_000 };
    await addConsumer(c.jsm, 'jobs', ephemeral);
    await addConsumer(c.jsm, 'jobs', { ...ephemeral, deliver_subject: 'deliver.eph.a', deliver_group: 'eph', filter_subject: 'jobs.a' });
    await addConsumer(c.jsm, 'jobs', { ...ephemeral, deliver_subject: 'deliver.eph.b', deliver_group: 'eph', filter_subject: 'jobs.b' });

    // A pull request that waits on "slow" (at its max ack pending, nothing can come) while recording.
    const slow = await c.js.consumers.get('orders', 'slow');
    const waiting = await slow.fetch({ max_messages: 1, expires: 5_000 });
    const drained = (async () => {
      for await (const _ of waiting) break;
    })();
    await settle();
    await record(server, page(0, 1024), 'standalone/jsz-offset-0-limit-1024.json');
    await record(server, '/varz', 'standalone/varz.json');
    await drained;
  } finally {
    await c.close();
    await server.stop();
  }
}

async function disabled(): Promise<void> {
  const server = await startNatsServer({ jetstream: false });
  try {
    await record(server, page(0, 1024), 'disabled/jsz-offset-0-limit-1024.json');
  } finally {
    await server.stop();
  }
}

const ACCOUNTS = ['TEAM_C', 'TEAM_A', 'TEAM_B'];

/** Three JetStream accounts, each with one stream and one consumer, paged one account at a time. */
async function accounts(release: NatsServerRelease, dir: string): Promise<void> {
  const server = await startNatsServer({ release, config: jetstreamAccountsConfig(ACCOUNTS) });
  const clients = [];
  try {
    for (const [i, account] of ACCOUNTS.entries()) {
      const user = account.toLowerCase();
      const c = await connectJs(server.natsUrl, { user, pass: user });
      clients.push(c);
      await addStream(c.jsm, { name: 'orders', subjects: ['orders'] });
      await publish(c.js, 'orders', i + 2);
      await addConsumer(c.jsm, 'orders', { durable_name: 'billing' });
    }
    await settle();
    // The first page of a server before 2.10.28 takes accounts in Go's map order, a new one on
    // each request: asked until it shows one that is not first by name, to keep the evidence.
    const unsorted = (body: unknown) =>
      (body as { total?: number; account_details: Array<{ id: string }> }).total !== undefined ||
      (body as { account_details: Array<{ id: string }> }).account_details[0]!.id !== 'TEAM_A';
    await record(server, page(0, 1), `${dir}/jsz-offset-0-limit-1.json`, unsorted);
    for (const offset of [1, 2, 3]) await record(server, page(offset, 1), `${dir}/jsz-offset-${offset}-limit-1.json`);
    await record(server, page(0, 3), `${dir}/jsz-offset-0-limit-3.json`);
  } finally {
    for (const c of clients) await c.close();
    await server.stop();
  }
}

/**
 * A 3-node cluster, an R3 stream and an R3 pull consumer with 4 of 12 messages fetched and not
 * acked; then again after the consumer's leader stepped down.
 */
async function cluster(): Promise<void> {
  const cl = await startNatsCluster();
  const c = await connectJs(cl.nodes.map((n) => n.natsUrl));
  try {
    await addStream(c.jsm, { name: 'cjobs', subjects: ['cjobs'], num_replicas: 3 });
    await publish(c.js, 'cjobs', 12);
    await addConsumer(c.jsm, 'cjobs', { durable_name: 'cpull' });
    await fetchWithoutAck(c.js, 'cjobs', 'cpull', 4);
    // Leaders are elected at random: moved so that the consumer's (n1) is not the stream's (n3).
    const consumerLeader = async () => (await c.jsm.consumers.info('cjobs', 'cpull')).cluster?.leader;
    const streamLeader = async () => (await c.jsm.streams.info('cjobs')).cluster?.leader;
    await moveLeader(
      streamLeader,
      () => stepDownStream(c.nc, 'cjobs'),
      (n) => n === 'n3',
    );
    await moveLeader(
      consumerLeader,
      () => stepDownConsumer(c.nc, 'cjobs', 'cpull'),
      (n) => n === 'n1',
    );
    await settle();
    for (const node of cl.nodes) {
      await record(node, page(0, 1024), `cluster/${node.name}-jsz-offset-0-limit-1024.json`);
      await record(node, '/varz', `cluster/${node.name}-varz.json`);
    }
    await moveLeader(
      consumerLeader,
      () => stepDownConsumer(c.nc, 'cjobs', 'cpull'),
      (n) => n === 'n2',
    );
    await settle();
    for (const node of cl.nodes) await record(node, page(0, 1024), `cluster/after-stepdown/${node.name}-jsz-offset-0-limit-1024.json`);
  } finally {
    await c.close();
    await cl.stop();
  }
}

await standalone();
await disabled();
await accounts('current', 'accounts');
await accounts('v2_10', 'v2.10');
await cluster();
console.log(`recorded into ${OUT}`);
