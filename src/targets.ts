import type { TlsFiles } from './monitor-access.js';
import type { Secret } from './secret.js';

/** One monitoring port: a standalone server, or one node of an FT pair or Raft cluster. */
export interface NodeTarget {
  /** The `server` label: the NAME of the logical server this node belongs to. */
  server: string;
  /** The `node` label: NODE from NAME/NODE=URL, else the URL's host:port. */
  node: string;
  /** Monitoring base URL without credentials and without a trailing slash. */
  url: string;
  /** Value of the Authorization header when the URL names a user (password from the URL, a file or env). */
  authorization?: Secret;
  /** Set on https:// targets when a --server-ca/cert/key/insecure flag is given. */
  tls?: TlsFiles;
}

/** The monitoring API a server speaks: NATS Streaming's /streaming (--server) or nats-server's /jsz (--jetstream). */
export type Backend = 'stan' | 'jetstream';

/**
 * A logical server: one NAME and its nodes. A standalone server has one node; an FT pair or a
 * Raft cluster has several, and its queue figures come from whichever node owns them.
 */
export interface ServerTarget {
  name: string;
  backend: Backend;
  nodes: readonly NodeTarget[];
  /** `--nats-url NAME=...`: a client connection to read the publish times of single messages. */
  natsClient?: NatsClientTarget;
}

/** A NATS client connection to one logical server's client port (`--nats-url`). */
export interface NatsClientTarget {
  server: string;
  /** nats:// or tls:// URL without credentials. */
  url: string;
  user?: string;
  password?: Secret;
  token?: Secret;
  tls?: TlsFiles;
}
