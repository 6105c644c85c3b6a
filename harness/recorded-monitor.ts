import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const root = new URL('../../test/fixtures/', import.meta.url);

/** The text of a recorded answer under test/fixtures (see its README). */
export function recordedText(path: string): string {
  return readFileSync(new URL(path, root), 'utf8');
}

/** Which recorded file answers a request (a path under test/fixtures), or its text; undefined: nothing was recorded for it. */
export type Recording = (url: URL) => { file: string } | { text: string } | undefined;

/** The recorded pages of one NATS Streaming node: `${prefix}serverz.json`, `${prefix}storez.json` and its channelsz?subs=1 pages from `channelsz(offset)`. */
export function stanRecording(prefix: string, channelsz: (offset: number) => string): Recording {
  return (url) => {
    if (url.pathname === '/streaming/serverz') return { file: `${prefix}serverz.json` };
    if (url.pathname === '/streaming/storez') return { file: `${prefix}storez.json` };
    if (url.pathname === '/streaming/channelsz' && url.searchParams.get('subs') === '1')
      return { file: channelsz(Number(url.searchParams.get('offset') ?? '0')) };
    return undefined;
  };
}

/** The recorded pages of one nats-server node under test/fixtures/jetstream: `${prefix}varz.json` and `${prefix}jsz-offset-O-limit-L.json`. */
export function jetStreamRecording(prefix: string): Recording {
  return (url) => {
    if (url.pathname === '/varz') return { file: `jetstream/${prefix}varz.json` };
    if (url.pathname === '/jsz') return { file: `jetstream/${prefix}jsz-offset-${url.searchParams.get('offset')}-limit-${url.searchParams.get('limit')}.json` };
    return undefined;
  };
}

/**
 * A monitoring port on 127.0.0.1 that answers with recorded pages, as the real server answered
 * them; a request nothing was recorded for gets 404, naming it.
 */
export async function serveRecorded(recording: Recording): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const answer = recording(new URL(req.url ?? '/', 'http://recorded'));
    let body: string | undefined;
    try {
      body = answer === undefined ? undefined : 'text' in answer ? answer.text : recordedText(answer.file);
    } catch {
      body = undefined;
    }
    if (body === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end(`nothing recorded for ${req.url}`);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
