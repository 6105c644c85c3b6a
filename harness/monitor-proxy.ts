import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MonitorProxy {
  url: string;
  /** Requests seen, by path without the query string. */
  counts: Map<string, number>;
  /** Full request URLs in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real monitoring port that counts requests and can hold each
 * answer back for `delayMs`.
 */
export async function startMonitorProxy(target: string, opts: { delayMs?: number } = {}): Promise<MonitorProxy> {
  const counts = new Map<string, number>();
  const requests: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    requests.push(url);
    const path = url.split('?')[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    setTimeout(() => {
      fetch(`${target}${url}`).then(
        async (upstream) => {
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await upstream.arrayBuffer()));
        },
        () => res.destroy(),
      );
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
