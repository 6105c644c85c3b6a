import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { eventually, find, scrape, startTestExporter, valueOf } from '../../harness/exporter.js';
import { type Stan, closeStan, connectStan, publishMany, ready } from '../../harness/stan-client.js';
import { type RaftCluster, roleOf, startRaftCluster } from '../../harness/stan-server.js';

const NODES = ['n1', 'n2', 'n3'];

describe('a 3-node Raft cluster', () => {
  let cluster: RaftCluster;
  let nodes: RaftCluster['nodes'];
  let exporter: RunningExporter;
  let sc: Stan;

  before(async () => {
    cluster = await startRaftCluster('raft', NODES);
    nodes = new Map(cluster.nodes);
    exporter = await startTestExporter(NODES.flatMap((id) => ['--server', `raft/${id}=${nodes.get(id)!.monitorUrl}`]));
  });
  after(async () => {
    if (sc) await closeStan(sc).catch(() => undefined);
    await exporter?.close();
    await cluster?.stop();
  });

  async function leader(): Promise<string> {
    return eventually(async () => {
      const roles = await Promise.all([...nodes].map(async ([id, n]) => [id, await roleOf(n)] as const));
      const leaders = roles.filter(([, role]) => role === 'Leader');
      assert.equal(leaders.length, 1, `roles: ${JSON.stringify(roles)}`);
      return leaders[0]![0];
    }, 20_000);
  }

  const queue = { server: 'raft', subject: 'raft.jobs', group: 'workers', durable: 'd' };

  test('one NAME for the cluster: queue figures come from the leader only, once; every node is up and says its role', async () => {
    const first = await leader();
    const follower = NODES.find((id) => id !== first)!;
    // The client talks to a follower's NATS port, so that it survives the leader's death below.
    sc = await connectStan(nodes.get(follower)!.natsUrl, 'raft', 'raft-worker');
    const sub = sc.subscribe(
      'raft.jobs',
      'workers',
      sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(3).setDeliverAllAvailable().setDurableName('d'),
    );
    sub.on('message', () => undefined);
    await ready(sub);
    await publishMany(sc, 'raft.jobs', 10);

    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_unacked', queue), 3);
      return s;
    });
    assert.deepEqual(
      find(samples, 'queue_msgs_pending', { subject: 'raft.jobs' }).map((p) => [p.labels, p.value]),
      [[queue, 10]],
    );
    assert.equal(find(samples, 'stan_channel_last_sequence', { subject: 'raft.jobs' }).length, 1, 'a channel is counted once, not once per node');
    for (const id of NODES) {
      assert.equal(valueOf(samples, 'stan_up', { server: 'raft', node: id }), 1);
      assert.equal(valueOf(samples, 'stan_server_info', { server: 'raft', node: id, state: 'CLUSTERED', role: id === first ? 'Leader' : 'Follower' }), 1);
    }
    assert.equal(valueOf(samples, 'queue_server_owner_up', { server: 'raft' }), 1);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'raft' }), 3);
  });

  test('after the leader dies, the same series carry the figures the new leader serves', async () => {
    const old = await leader();
    await nodes.get(old)!.kill();
    nodes.delete(old);
    const next = await leader();
    assert.notEqual(next, old);
    const takeover = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', queue), 10);
      return s;
    }, 20_000);
    assert.equal(valueOf(takeover, 'stan_server_info', { server: 'raft', node: next, role: 'Leader' }), 1);
    await publishMany(sc, 'raft.jobs', 2);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_msgs_pending', queue), 12);
      return s;
    }, 20_000);
    assert.equal(valueOf(samples, 'queue_msgs_unacked', queue), 3);
    assert.equal(valueOf(samples, 'queue_msgs_undelivered', queue), 9);
    assert.equal(find(samples, 'queue_msgs_pending', { subject: 'raft.jobs' }).length, 1);
    assert.equal(valueOf(samples, 'stan_up', { server: 'raft', node: old }), 0);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'raft' }), 2);
    assert.equal(valueOf(samples, 'queue_server_nodes', { server: 'raft' }), 3);
  });

  test('with two of three nodes gone no node leads: no queue series, never invented zeros, owner gauge 0', async () => {
    const current = await leader();
    await nodes.get(current)!.kill();
    nodes.delete(current);
    const samples = await eventually(async () => {
      const s = await scrape(exporter);
      assert.equal(valueOf(s, 'queue_server_owner_up', { server: 'raft' }), 0);
      return s;
    }, 20_000);
    assert.deepEqual(find(samples, 'queue_msgs_pending', { server: 'raft' }), []);
    assert.deepEqual(find(samples, 'stan_channel_last_sequence', { server: 'raft' }), []);
    assert.equal(valueOf(samples, 'queue_server_nodes_up', { server: 'raft' }), 1);
    const [survivor] = [...nodes.keys()];
    assert.equal(valueOf(samples, 'stan_up', { server: 'raft', node: survivor! }), 1);
    assert.notEqual(find(samples, 'stan_server_info', { server: 'raft', node: survivor! })[0]?.labels['role'], 'Leader');
  });
});
