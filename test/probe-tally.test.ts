import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionTally } from '../src/probe/tally.js';

/** The three Message methods the probe reads, recording the acks that reach the "client". */
function message(sequence: number, payload: string, acks: number[]) {
  return {
    getSequence: () => sequence,
    getRawData: () => Buffer.from(payload),
    ack(this: { getSequence(): number }) {
      acks.push(this.getSequence());
      return 'sent';
    },
  };
}

function tally(ackWaitMs = 30_000): SubscriptionTally {
  return new SubscriptionTally({ server: 's', subject: 'orders', group: 'g', durable: '' }, { maxInflight: 10, ackWaitMs });
}

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('auto-ack: counts running handlers and their bytes; sync, async, throwing and rejecting handlers all settle', async () => {
  const t = tally();
  const gate = deferred();
  const listener = t.wrapAutoAck(async () => gate.promise);
  const running = [listener(message(1, 'abc', [])), listener(message(2, 'de', []))];
  assert.deepEqual([t.messages, t.bytes], [2, 5]);
  gate.resolve();
  await Promise.all(running);
  assert.deepEqual([t.messages, t.bytes], [0, 0]);

  assert.equal(t.wrapAutoAck(() => 42)(message(3, 'x', [])), 42, 'a sync handler\'s value comes back');
  const boom = new Error('boom');
  assert.throws(() => t.wrapAutoAck(() => {
    throw boom;
  })(message(4, 'x', [])), boom);
  await assert.rejects(t.wrapAutoAck(async () => {
    throw boom;
  })(message(5, 'x', [])) as Promise<unknown>, boom, 'a rejection stays a rejection');
  assert.deepEqual([t.messages, t.bytes], [0, 0]);
});

test('manual-ack: a message counts until its handler settled and it was acked, in either order', async () => {
  const t = tally();
  const acks: number[] = [];
  const gate = deferred();
  const listener = t.wrapManualAck(async (m: ReturnType<typeof message>) => {
    assert.equal(m.ack(), 'sent', 'ack returns what the client\'s ack returns');
    await gate.promise;
  });
  const first = listener(message(1, 'abcd', acks));
  assert.deepEqual(acks, [1], 'the ack reached the client at once');
  assert.deepEqual([t.messages, t.bytes], [1, 4], 'acked but its handler still runs');
  gate.resolve();
  await first;
  assert.deepEqual([t.messages, t.bytes], [0, 0]);

  // Settled first, acked later (a batch acker): counted until the ack.
  const later: Array<ReturnType<typeof message>> = [];
  const keep = t.wrapManualAck((m: ReturnType<typeof message>) => {
    later.push(m);
  });
  keep(message(2, 'xy', acks));
  keep(message(3, 'z', acks));
  assert.deepEqual([t.messages, t.bytes], [2, 3]);
  later[0]!.ack();
  later[0]!.ack();
  assert.deepEqual([t.messages, t.bytes], [1, 1], 'a second ack of one message counts once');
  assert.deepEqual(acks, [1, 2, 2], 'every ack call still reaches the client');
  later[1]!.ack();
  assert.deepEqual([t.messages, t.bytes], [0, 0]);
});

test('manual-ack: a redelivery replaces an unacked message; settled unacked messages expire after the ack wait', () => {
  const t = tally(1000);
  const acks: number[] = [];
  const noAck = t.wrapManualAck(() => undefined);
  noAck(message(7, 'abc', acks));
  noAck(message(8, 'abc', acks));
  noAck(message(7, 'abc', acks));
  assert.deepEqual([t.messages, t.bytes], [2, 6], 'sequence 7 counted once');

  const gate = deferred();
  const slow = t.wrapManualAck(async () => gate.promise);
  void slow(message(9, 'q', acks));
  t.expire(performance.now() + 2000);
  assert.deepEqual([t.messages, t.bytes], [1, 1], 'the settled, unacked ones are the server\'s again; the running one stays');
  gate.resolve();
});
