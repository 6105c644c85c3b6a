import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A password or private key. It prints as [redacted] through String(), JSON.stringify (and so
 * the log) and util.inspect, so an object that holds one can be logged without leaking it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
