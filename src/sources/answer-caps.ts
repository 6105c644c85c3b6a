/** The most bytes one monitoring answer may have, and what to say when an answer passes it. */
export interface AnswerCap {
  readonly bytes: number;
  /** What the cap is sized for and which flag raises it, for the error of an answer that passes it. */
  readonly sizedFor: string;
  /**
   * For an answer that says at its start how large it may honestly be (/jsz's totals): once the
   * answer passes `bytes`, the cap its first bytes give.
   */
  readonly fromHead?: (head: string) => AnswerCap;
}

export const ANSWER_CAP_FLAG = '--answer-cap-factor';

/**
 * serverz is about 500 bytes and storez about 400 plus one entry (about 200 bytes) per channel
 * limit of the server's configuration file: room for a thousand of them.
 */
const SERVERZ_BYTES = 64 * 1024;
const STOREZ_BYTES = 256 * 1024;
/**
 * A channelsz channel is about 250 bytes of indented JSON besides its name, a subscription about
 * 500 besides its five names (client id, inbox, ack inbox, durable, queue group): room for names
 * averaging 250 bytes. The page around them is a few hundred bytes.
 */
const CHANNEL_BYTES = 512;
const SUBSCRIPTION_BYTES = 2048;
const PAGE_BYTES = 4096;
/** nats-server's /varz: a few kB of identity, configuration and counters. */
const VARZ_BYTES = 256 * 1024;
/**
 * A /jsz page with streams, consumers and their config: about 1.4 kB of indented JSON a stream
 * and 1.2 kB a consumer besides names and subject filters, 1 kB an account, and the server's
 * own figures and meta cluster around them.
 */
const JSZ_PAGE_BYTES = 16 * 1024;
const JSZ_ACCOUNT_BYTES = 1024;
const JSZ_STREAM_BYTES = 4096;
const JSZ_CONSUMER_BYTES = 3072;
/** A /jsz page smaller than this is read whole; a larger one is held to what its start says. */
const JSZ_FIRST_BYTES = 64 * 1024;
/** Channels or subscriptions made between serverz and a channelsz read: as many again as serverz counted, at least this many. */
const MADE_MEANWHILE = 256;

/**
 * Caps sized to what each endpoint of NATS Streaming and JetStream can honestly send, so a body that never ends (a wrong port,
 * a broken proxy) costs a few MB, not the exporter's memory limit. serverz counts every channel
 * and every subscription channelsz lists (offline durables included), which bounds a channelsz
 * answer far tighter than the store's per-channel subscription limit does (1,000 by default,
 * often unlimited). `factor` (--answer-cap-factor) multiplies every cap.
 */
export class AnswerCaps {
  readonly #factor: number;

  constructor(factor: number) {
    this.#factor = factor;
  }

  get serverz(): AnswerCap {
    return this.#cap(SERVERZ_BYTES, 'serverz');
  }

  get storez(): AnswerCap {
    return this.#cap(STOREZ_BYTES, 'storez');
  }

  /** A channelsz?subs=1 page of up to `pageSize` channels, on a server whose serverz counted `counted`. */
  channelszPage(pageSize: number, counted: { channels: number; subscriptions: number }): AnswerCap {
    const channels = Math.min(pageSize, withMeanwhile(counted.channels));
    const subscriptions = withMeanwhile(counted.subscriptions);
    return this.#cap(
      PAGE_BYTES + channels * CHANNEL_BYTES + subscriptions * SUBSCRIPTION_BYTES,
      `a channelsz page of at most ${channels} channels and ${subscriptions} subscriptions (serverz counted ${counted.channels} and ${counted.subscriptions}; --page-size ${pageSize})`,
      channels === pageSize ? ', or lower --page-size' : '',
    );
  }

  /** channelsz?channel=NAME&subs=1 (--subjects auto), on a server whose serverz counted `subscriptions`. */
  channelszChannel(subscriptions: number): AnswerCap {
    const most = withMeanwhile(subscriptions);
    return this.#cap(
      PAGE_BYTES + CHANNEL_BYTES + most * SUBSCRIPTION_BYTES,
      `one channel with at most ${most} subscriptions (serverz counted ${subscriptions})`,
    );
  }

  get varz(): AnswerCap {
    return this.#cap(VARZ_BYTES, 'varz');
  }

  /**
   * A /jsz page of up to `pageSize` accounts. Its start holds the node's stream and consumer
   * counts (before the account details): a page past 64 KiB is held to what they allow.
   */
  jszPage(pageSize: number): AnswerCap {
    const first = this.#cap(JSZ_FIRST_BYTES, 'a /jsz page whose start gives no stream and consumer counts');
    const fromHead = (head: string): AnswerCap => {
      const top = head.slice(0, head.includes('"account_details"') ? head.indexOf('"account_details"') : head.length);
      const count = (key: string) => Number(new RegExp(`"${key}":\\s*(\\d+)`).exec(top)?.[1]);
      const [accounts, streams, consumers] = [count('accounts'), count('streams'), count('consumers')];
      if (!Number.isSafeInteger(streams) || !Number.isSafeInteger(consumers)) return first;
      const most = {
        accounts: Math.min(pageSize, withMeanwhile(Number.isSafeInteger(accounts) ? accounts : pageSize)),
        streams: withMeanwhile(streams),
        consumers: withMeanwhile(consumers),
      };
      return this.#cap(
        JSZ_PAGE_BYTES + most.accounts * JSZ_ACCOUNT_BYTES + most.streams * JSZ_STREAM_BYTES + most.consumers * JSZ_CONSUMER_BYTES,
        `a /jsz page of at most ${most.accounts} accounts, ${most.streams} streams and ${most.consumers} consumers (the page counted ${streams} and ${consumers}; --page-size ${pageSize})`,
        most.accounts === pageSize ? ', or lower --page-size' : '',
      );
    };
    return { ...first, fromHead };
  }

  #cap(bytes: number, what: string, alternative = ''): AnswerCap {
    const capped = Math.round(bytes * this.#factor);
    return {
      bytes: capped,
      sizedFor: `the cap for ${what} is ${formatBytes(capped)}: raise it with ${ANSWER_CAP_FLAG} ${nextFactor(this.#factor)}${alternative}`,
    };
  }
}

function withMeanwhile(counted: number): number {
  return counted + Math.max(counted, MADE_MEANWHILE);
}

function nextFactor(factor: number): number {
  return Math.max(2, Math.ceil(factor * 2));
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
