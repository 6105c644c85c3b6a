import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Answers every request in one bad way, chosen by the first path segment: /404/..., /html/... */
export async function startBadMonitor(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const mode = (req.url ?? '').split('/')[1];
    if (mode === '404') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    } else if (mode === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome to nginx!</body></html>');
    } else if (mode === 'truncated') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{\n  "cluster_id": "x",\n  "server_id": "y",\n  "clie');
    }
    // "silent": never answers.
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
