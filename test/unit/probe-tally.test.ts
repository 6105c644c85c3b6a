import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SubscriptionTally } from '../../src/probe/tally.js';

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

  assert.equal(t.wrapAutoAck(() => 42)(message(3, 'x', [])), 42, "a sync handler's value comes back");
  const boom = new Error('boom');
  assert.throws(
    () =>
      t.wrapAutoAck(() => {
        throw boom;
      })(message(4, 'x', [])),
    boom,
  );
  await assert.rejects(
    t.wrapAutoAck(async () => {
      throw boom;
    })(message(5, 'x', [])) as Promise<unknown>,
    boom,
    'a rejection stays a rejection',
  );
  assert.deepEqual([t.messages, t.bytes], [0, 0]);
});

test('manual-ack: a message counts until its handler settled and it was acked, in either order', async () => {
  const t = tally();
  const acks: number[] = [];
  const gate = deferred();
  const listener = t.wrapManualAck(async (m: ReturnType<typeof message>) => {
    assert.equal(m.ack(), 'sent', "ack returns what the client's ack returns");
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
  assert.deepEqual([t.messages, t.bytes], [1, 1], "the settled, unacked ones are the server's again; the running one stays");
  gate.resolve();
});

/** The JsMsg methods the probe reads, recording what reaches the "client" (seq is the stream sequence). */
function jsMsg(seq: number, payload: string, calls: string[]) {
  const record = (name: string) => () => void calls.push(`${name} ${seq}`);
  return {
    seq,
    data: Buffer.from(payload),
    ack: record('ack'),
    nak: record('nak'),
    term: record('term'),
    working: record('working'),
    ackAck: async () => (calls.push(`ackAck ${seq}`), true),
  };
}

test('JetStream: a message handed out counts until ack, ackAck, nak or term; working() does not end it; a redelivery replaces it', async () => {
  const t = tally(1000);
  const calls: string[] = [];
  const msgs = [1, 2, 3, 4].map((seq) => jsMsg(seq, 'ab', calls));
  for (const m of msgs) t.holdJetStream(m);
  assert.deepEqual([t.messages, t.bytes], [4, 8]);
  msgs[0]!.working();
  assert.equal(t.messages, 4, 'working() only asks for more time');
  msgs[0]!.ack();
  msgs[1]!.nak();
  msgs[2]!.term();
  assert.equal(await msgs[3]!.ackAck(), true, "ackAck resolves as the client's does");
  assert.deepEqual([t.messages, t.bytes], [0, 0]);
  assert.deepEqual(calls, ['working 1', 'ack 1', 'nak 2', 'term 3', 'ackAck 4'], 'every call still reaches the client');

  t.holdJetStream(jsMsg(9, 'abc', calls));
  t.holdJetStream(jsMsg(9, 'abc', calls));
  assert.deepEqual([t.messages, t.bytes], [1, 3], 'the redelivery of sequence 9 replaced its copy');
  t.expire(performance.now() + 2000);
  assert.deepEqual([t.messages, t.bytes], [0, 0], "left unacked past the ack wait, it is the server's again");
});

test("JetStream: a callback's message counts until the callback settled and it was finished; buffers count until removed", async () => {
  const t = tally();
  const gate = deferred();
  const handler = t.wrapJetStream(async (m: ReturnType<typeof jsMsg>) => {
    m.ack();
    await gate.promise;
  });
  const running = handler(jsMsg(1, 'abcd', []));
  assert.equal(t.messages, 1, 'acked but its handler still runs');
  gate.resolve();
  await running;
  assert.equal(t.messages, 0);

  const buffer = { getPending: () => 5 };
  t.addBuffer(buffer);
  t.addBuffer({ getPending: () => 2 });
  assert.equal(t.bufferedMessages(), 7);
  t.removeBuffer(buffer);
  assert.equal(t.bufferedMessages(), 2);
});
