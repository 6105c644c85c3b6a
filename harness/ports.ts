import { createServer } from 'node:net';

/** Ports handed out before: one given to a server that has not bound it yet is free again to the OS. */
const handedOut = new Set<number>();

/**
 * A TCP port that was free a moment ago on 127.0.0.1, and never handed out before by this
 * process: a cluster's route ports are chosen before its nodes bind them, and the OS would
 * otherwise give one of them again to the next node's client port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
