import stan from 'node-nats-streaming';

export type Stan = stan.Stan;
export type Message = stan.Message;

/**
 * How long the client waits for the server to answer a connect, subscribe or close request: the
 * library's 2 s leaves no margin on a busy 2-core machine. A connect timeout right after a restart
 * was a request sent before the server listened; startStan now waits for that (stan-server.ts).
 */
const REQUEST_TIMEOUT_MS = 10_000;

/** A real NATS Streaming client connection (node-nats-streaming). */
export function connectStan(natsUrl: string, clusterId: string, clientId: string): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const sc = stan.connect(clusterId, clientId, { url: natsUrl, reconnect: false, connectTimeout: REQUEST_TIMEOUT_MS });
    sc.once('connect', () => resolve(sc));
    sc.once('error', reject);
  });
}

export function publish(sc: Stan, subject: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sc.publish(subject, data, (err) => (err ? reject(err) : resolve()));
  });
}

export async function publishMany(sc: Stan, subject: string, count: number, prefix = 'm'): Promise<void> {
  for (let i = 0; i < count; i++) await publish(sc, subject, `${prefix}${i}`);
}

export function closeStan(sc: Stan): Promise<void> {
  return new Promise((resolve) => {
    sc.once('close', () => resolve());
    sc.close();
  });
}

/** Resolves when the subscription is registered on the server. */
export function ready(sub: stan.Subscription): Promise<void> {
  return new Promise((resolve, reject) => {
    sub.once('ready', () => resolve());
    sub.once('error', reject);
  });
}
