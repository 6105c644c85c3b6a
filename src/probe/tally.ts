/** The parts of a node-nats-streaming Message the count needs. */
export interface ProbeMessage {
  getSequence(): number;
  getRawData(): { length: number };
  ack(): void;
}

export interface ConsumerLabels {
  server: string;
  subject: string;
  group: string;
  durable: string;
}

/** One delivered sequence that is not finished yet (manual-ack mode). */
interface Held {
  bytes: number;
  /** Handlers of this sequence that have started and not settled. */
  running: number;
  acked: boolean;
  receivedAt: number;
}

type Handler<M> = (msg: M) => unknown;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Counts what one subscription holds inside the worker: messages whose handler has started and
 * not settled and, in manual-ack mode, messages received and not yet acked (by sequence, so a
 * redelivery is not counted twice). The wrapped handler gets the same message and returns the
 * same value; acks and delivery are untouched.
 */
export class SubscriptionTally {
  readonly labels: ConsumerLabels;
  readonly maxInflight: number | undefined;
  readonly #ackWaitMs: number;
  messages = 0;
  bytes = 0;
  readonly #held = new Map<number, Held>();

  constructor(labels: ConsumerLabels, opts: { maxInflight: number | undefined; ackWaitMs: number }) {
    this.labels = labels;
    this.maxInflight = opts.maxInflight;
    this.#ackWaitMs = opts.ackWaitMs;
  }

  /** Auto-ack mode: the client acks as soon as the listener returns, so only running handlers count. */
  wrapAutoAck<M extends ProbeMessage>(handler: Handler<M>): (msg: M) => unknown {
    return (msg) => {
      const bytes = msg.getRawData().length;
      this.messages += 1;
      this.bytes += bytes;
      const settle = () => {
        this.messages -= 1;
        this.bytes -= bytes;
      };
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
      // The derived promise rejects like the handler's did, so an unhandled rejection stays unhandled.
      return result.then(settle, (err: unknown) => {
        settle();
        throw err;
      });
    };
  }

  /** Manual-ack mode: a message counts from receipt until its handler settled and it was acked. */
  wrapManualAck<M extends ProbeMessage>(handler: Handler<M>): (msg: M) => unknown {
    return (msg) => {
      const sequence = msg.getSequence();
      const held = this.#receive(sequence, msg);
      const forgetIfDone = () => {
        if (held.running === 0 && held.acked) this.#forget(sequence, held);
      };
      const ack = msg.ack;
      msg.ack = function ackAndCount(this: M) {
        held.acked = true;
        forgetIfDone();
        return ack.call(this);
      };
      const settle = () => {
        held.running -= 1;
        forgetIfDone();
      };
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
    };
  }

  /**
   * Leaves out messages received more than an ack wait ago whose handler settled without an
   * ack: the server redelivers them (maybe to another member), so this worker no longer holds them.
   */
  expire(now: number): void {
    for (const [sequence, h] of this.#held) {
      if (h.running === 0 && !h.acked && now - h.receivedAt > this.#ackWaitMs) this.#forget(sequence, h);
    }
  }

  #receive(sequence: number, msg: ProbeMessage): Held {
    let held = this.#held.get(sequence);
    if (held === undefined) {
      held = { bytes: msg.getRawData().length, running: 0, acked: false, receivedAt: performance.now() };
      this.#held.set(sequence, held);
      this.messages += 1;
      this.bytes += held.bytes;
    } else {
      // A redelivery: the server wants an ack for it again.
      held.acked = false;
      held.receivedAt = performance.now();
    }
    held.running += 1;
    return held;
  }

  #forget(sequence: number, held: Held): void {
    if (this.#held.get(sequence) !== held) return;
    this.#held.delete(sequence);
    this.messages -= 1;
    this.bytes -= held.bytes;
  }
}
