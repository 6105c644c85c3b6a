import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the peer answers the requests it misbehaves on:
 * - endless: 200 and a JSON-looking start, then whitespace until the client hangs up;
 * - padded: the real answer with this many spaces before its last byte (still valid JSON);
 * - stall: the first half of the real answer, then nothing, the connection held open;
 * - oversized: the real channelsz page with its channels repeated under new names until the page
 *   is this many bytes, `count` and `total` saying so: valid-looking, far over any honest size.
 */
export type Misbehaviour = { kind: 'endless' } | { kind: 'padded'; bytes: number } | { kind: 'stall' } | { kind: 'oversized'; bytes: number };

export interface MisbehavingPeer {
  url: string;
  /**
   * Misbehave on requests whose path (without the query) is `path`; undefined answers as the real
   * server again. It resolves once the bad answer is ready: an oversized page is built here, not
   * while the exporter waits for it, so that building tens of MB (which blocks this process, the
   * exporter's too in a test) never runs into the exporter's deadline.
   */
  misbehave(path: string | undefined, how?: Misbehaviour): Promise<void>;
  close(): Promise<void>;
}

const SPACES = Buffer.alloc(64 * 1024, 0x20);

/** Writes `total` bytes of spaces, then `end`, waiting for the client to take each part. */
function writeSpaces(res: ServerResponse, total: number, end?: Buffer): void {
  let left = total;
  const more = () => {
    while (left > 0 && !res.destroyed) {
      const part = left >= SPACES.length ? SPACES : SPACES.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) {
        res.once('drain', more);
        return;
      }
    }
    if (!res.destroyed) res.end(end);
  };
  more();
}

/**
 * A real channelsz page grown to about `bytes` by repeating its channels under new names. Every
 * channel is the server's own JSON; only the name and the counts are changed.
 */
function oversizedPage(real: string, bytes: number): string {
  const page = JSON.parse(real) as { channels?: Array<{ name: string }>; count: number; total: number };
  const channels = page.channels ?? [];
  if (channels.length === 0) throw new Error('the real page has no channels to repeat');
  const grown: Array<{ name: string }> = [];
  let size = real.length;
  for (let i = 0; size < bytes; i++) {
    const channel = { ...channels[i % channels.length]!, name: `${channels[i % channels.length]!.name}.copy${i}` };
    size += JSON.stringify(channel, null, 2).length + 8;
    grown.push(channel);
  }
  return JSON.stringify({ ...page, count: grown.length, total: grown.length, channels: grown }, null, 2);
}

/**
 * An HTTP server in front of a real monitoring port: it answers as the real server does, except
 * on the path it is told to misbehave on. A wrong port, a broken proxy or a hostile service in
 * front of NATS looks like this to the exporter.
 */
export async function startMisbehavingPeer(target: string): Promise<MisbehavingPeer> {
  let path: string | undefined;
  let how: Misbehaviour = { kind: 'endless' };
  /** The oversized page for the current path, built by misbehave(). */
  let oversized: string | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const bad = url.split('?')[0] === path ? how : undefined;
    if (bad?.kind === 'endless') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{\n  "cluster_id": "endless",\n  "channels": [');
      writeSpaces(res, Number.MAX_SAFE_INTEGER);
      return;
    }
    fetch(`${target}${url}`).then(
      async (upstream) => {
        const body = Buffer.from(await upstream.arrayBuffer());
        const headers = { 'content-type': upstream.headers.get('content-type') ?? 'application/json' };
        if (bad === undefined || upstream.status !== 200) {
          res.writeHead(upstream.status, headers);
          res.end(body);
        } else if (bad.kind === 'padded') {
          res.writeHead(200, headers);
          res.write(body.subarray(0, body.length - 1));
          writeSpaces(res, bad.bytes, body.subarray(body.length - 1));
        } else if (bad.kind === 'stall') {
          res.writeHead(200, headers);
          res.write(body.subarray(0, Math.floor(body.length / 2)));
        } else if (bad.kind === 'oversized') {
          res.writeHead(200, headers);
          res.end(oversized ?? oversizedPage(body.toString(), bad.bytes));
        }
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async misbehave(p, h = { kind: 'endless' }) {
      oversized = undefined;
      if (p !== undefined && h.kind === 'oversized') {
        const real = await (await fetch(`${target}${p}?subs=1`)).text();
        oversized = oversizedPage(real, h.bytes);
      }
      path = p;
      how = h;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
