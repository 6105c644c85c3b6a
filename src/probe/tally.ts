/** The parts of a node-nats-streaming Message the count needs. */
export interface ProbeMessage {
  getSequence(): number;
  getRawData(): { length: number };
  ack(): void;
}

/** The parts of an @nats-io/jetstream JsMsg the count needs. */
export interface ProbeJsMsg {
  /** The stream sequence: a redelivery has the same. */
  readonly seq: number;
  readonly data: Uint8Array;
  ack(): void;
  nak(millis?: number): void;
  term(reason?: string): void;
}

/** A client library's buffer of messages received and not handed out yet. */
export interface MessageBuffer {
  getPending(): number;
}

/** How to tell deliveries of one client's messages apart, and which methods finish one. */
interface AckedMessage<M> {
  sequence(msg: M): number;
  bytes(msg: M): number;
  finishers: readonly string[];
}

const STAN_MESSAGE: AckedMessage<ProbeMessage> = { sequence: (m) => m.getSequence(), bytes: payloadSize, finishers: ['ack'] };

/**
 * ack, nak and term end a delivery, as do ackAck (ack and wait for the server) and next (ack
 * and ask for more) where the message has them; working() only extends the ack wait.
 */
const JETSTREAM_MESSAGE: AckedMessage<ProbeJsMsg> = {
  sequence: (m) => m.seq,
  bytes: (m) => m.data.length,
  finishers: ['ack', 'nak', 'term', 'ackAck', 'next'],
};

export interface ConsumerLabels {
  server: string;
  /** A JetStream account other than the default one, as the exporter labels its queues. */
  account?: string;
  subject: string;
  group: string;
  durable: string;
}

/** One delivery in manual-ack mode, counted until its handler settled and it was acked. */
interface Delivery {
  sequence: number;
  bytes: number;
  running: boolean;
  acked: boolean;
  /** False once it no longer counts: finished, superseded by a redelivery, or expired. */
  counted: boolean;
  receivedAt: number;
}

type Handler<M> = (msg: M) => unknown;

/**
 * Payload size without copying the payload: node-nats-streaming's getRawData() copies it into a
 * new Buffer on every call (about 200 ns for 256 bytes), while the protobuf message it wraps
 * holds the bytes already. Other message objects fall back to getRawData().
 */
function payloadSize(msg: ProbeMessage): number {
  const decoded = (msg as { msg?: { getData?: () => unknown } }).msg;
  const data = typeof decoded?.getData === 'function' ? decoded.getData() : undefined;
  return data instanceof Uint8Array ? data.length : msg.getRawData().length;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Counts what one subscription holds inside the worker: messages whose handler has started and
 * not settled and, in manual-ack mode, messages received and not yet acked. The wrapped handler
 * gets the same message and returns the same value; acks and delivery are untouched.
 */
export class SubscriptionTally {
  readonly labels: ConsumerLabels;
  readonly maxInflight: number | undefined;
  readonly #ackWaitMs: number;
  messages = 0;
  bytes = 0;
  /**
   * Deliveries whose handler settled before the ack, by sequence: a redelivery of one replaces
   * it instead of counting twice. The usual ack-then-settle path never touches this map.
   */
  readonly #awaitingAck = new Map<number, Delivery>();
  /**
   * performance.now() at the last expire(), once per report: a receipt is stamped up to one
   * report interval early, fine beside an ack wait, and cheaper than reading the clock per message.
   */
  #clock = performance.now();
  readonly #buffers = new Set<MessageBuffer>();

  constructor(labels: ConsumerLabels, opts: { maxInflight: number | undefined; ackWaitMs: number }) {
    this.labels = labels;
    this.maxInflight = opts.maxInflight;
    this.#ackWaitMs = opts.ackWaitMs;
  }

  /** Auto-ack mode: the client acks as soon as the listener returns, so only running handlers count. */
  wrapAutoAck<M extends ProbeMessage>(handler: Handler<M>): (msg: M) => unknown {
    return (msg) => {
      const bytes = payloadSize(msg);
      this.messages += 1;
      this.bytes += bytes;
      const settle = () => {
        this.messages -= 1;
        this.bytes -= bytes;
      };
      return settleWith(handler, msg, settle);
    };
  }

  /** Manual-ack mode: a message counts from receipt until its handler settled and it was acked. */
  wrapManualAck<M extends ProbeMessage>(handler: Handler<M>): (msg: M) => unknown {
    return this.#wrapAcked(handler, STAN_MESSAGE);
  }

  /** A JetStream consumer's callback: a message counts until its handler settled and it was acked, nakked or termed. */
  wrapJetStream<M extends ProbeJsMsg>(handler: Handler<M>): (msg: M) => unknown {
    return this.#wrapAcked(handler, JETSTREAM_MESSAGE);
  }

  /** A JetStream message handed out by an iterator or next(): it counts until acked, nakked or termed. */
  holdJetStream(msg: ProbeJsMsg): void {
    const delivery = this.#hold(msg, JETSTREAM_MESSAGE);
    delivery.running = false;
    this.#release(delivery);
  }

  /**
   * Counts, besides what it holds, what `buffer` says the client library holds for this
   * consumer and has not handed out yet (a JetStream ConsumerMessages' getPending()).
   */
  addBuffer(buffer: MessageBuffer): void {
    this.#buffers.add(buffer);
  }

  removeBuffer(buffer: MessageBuffer): void {
    this.#buffers.delete(buffer);
  }

  /** Messages the client library buffers and has not handed out; their size is not known. */
  bufferedMessages(): number {
    let sum = 0;
    for (const b of this.#buffers) sum += b.getPending();
    return sum;
  }

  #wrapAcked<M extends object>(handler: Handler<M>, kind: AckedMessage<M>): (msg: M) => unknown {
    return (msg) => {
      const delivery = this.#hold(msg, kind);
      return settleWith(handler, msg, () => {
        delivery.running = false;
        this.#release(delivery);
      });
    };
  }

  /** Counts a delivery from now until it settled and one of its finishing methods was called. */
  #hold<M extends object>(msg: M, kind: AckedMessage<M>): Delivery {
    const sequence = kind.sequence(msg);
    const delivery: Delivery = { sequence, bytes: kind.bytes(msg), running: true, acked: false, counted: true, receivedAt: this.#clock };
    if (this.#awaitingAck.size > 0) {
      // A redelivery of a message this worker handled and did not ack: the server took it back.
      const earlier = this.#awaitingAck.get(sequence);
      if (earlier) this.#uncount(earlier);
    }
    this.messages += 1;
    this.bytes += delivery.bytes;
    const methods = msg as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of kind.finishers) {
      const original = methods[name];
      if (typeof original !== 'function') continue;
      methods[name] = (...args: unknown[]) => {
        if (!delivery.acked) {
          delivery.acked = true;
          this.#release(delivery);
        }
        return original.apply(msg, args);
      };
    }
    return delivery;
  }

  /**
   * Leaves out messages received more than an ack wait ago whose handler settled without an
   * ack: the server redelivers them (maybe to another member), so this worker no longer holds them.
   */
  expire(now: number): void {
    this.#clock = now;
    for (const delivery of this.#awaitingAck.values()) {
      if (now - delivery.receivedAt > this.#ackWaitMs) this.#uncount(delivery);
    }
  }

  #release(delivery: Delivery): void {
    if (!delivery.counted || delivery.running) return;
    if (delivery.acked) this.#uncount(delivery);
    else this.#awaitingAck.set(delivery.sequence, delivery);
  }

  #uncount(delivery: Delivery): void {
    if (!delivery.counted) return;
    delivery.counted = false;
    this.messages -= 1;
    this.bytes -= delivery.bytes;
    if (this.#awaitingAck.get(delivery.sequence) === delivery) this.#awaitingAck.delete(delivery.sequence);
  }
}

/**
 * Calls the handler and `settle` once it has settled: at once for a plain return or a throw
 * (rethrown), when the promise settles otherwise. The promise returned rejects like the
 * handler's did, so an unhandled rejection stays unhandled.
 */
function settleWith<M>(handler: Handler<M>, msg: M, settle: () => void): unknown {
  let result: unknown;
  try {
    result = handler(msg);
  } catch (err) {
    settle();
    throw err;
  }
  if (!isThenable(result)) {
    settle();
    return result;
  }
  return result.then(settle, (err: unknown) => {
    settle();
    throw err;
  });
}
