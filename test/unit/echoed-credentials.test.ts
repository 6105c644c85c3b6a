import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { scrape } from '../../harness/exporter.js';
import { type LoggedExporter, startLoggedExporter } from '../../harness/logged-exporter.js';

const PASSWORD = 'hunter2SECRET';
const USER = 'mon';

/**
 * A monitoring port (or a proxy in front of one) that echoes the request's credentials: under
 * /401 it refuses them quoting the Authorization header, under /200 it answers 200 with a text
 * page that shows the header and what it decodes to, as debugging endpoints do.
 */
async function startEchoingPeer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const authorization = req.headers.authorization ?? '';
    const decoded = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if ((req.url ?? '').startsWith('/401/')) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`bad credentials: ${authorization}`);
    } else {
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(
          `you sent\x1b[31m ${authorization}\r\nuser ${decoded}\npassword ${password} (${encodeURIComponent(password)}, ${Buffer.from(password).toString('base64')})`,
        );
    }
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let peer: Awaited<ReturnType<typeof startEchoingPeer>>;
let logged: LoggedExporter;

before(async () => {
  peer = await startEchoingPeer();
  const withCredentials = (path: string) => peer.url.replace('http://', `http://${USER}:${PASSWORD}@`) + path;
  logged = await startLoggedExporter([
    '--server',
    `f=${withCredentials('/401')}`,
    '--server',
    `g=${withCredentials('/200')}`,
    '--jetstream',
    `j=${withCredentials('/200/jetstream')}`,
  ]);
});
after(async () => {
  await logged?.exporter.close();
  await peer?.close();
});

test('a peer that echoes the credentials never gets them into /api/v1/queues, /, /metrics or the log', async () => {
  const metrics = (await scrape(logged.exporter)).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`).join('\n');
  const api = await (await fetch(`${logged.exporter.url}/api/v1/queues`)).text();
  const page = await (await fetch(`${logged.exporter.url}/`)).text();
  const log = logged.logs();
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const forms = [PASSWORD, base64(`${USER}:${PASSWORD}`), base64(PASSWORD), base64(PASSWORD).replace(/=+$/, '')];
  for (const [where, text] of Object.entries({ api, page, metrics, log })) {
    for (const form of forms) assert.ok(!text.includes(form), `${where} holds ${form}`);
    assert.ok(!text.includes('\x1b') && !text.includes('\\u001b'), `${where} holds a control character from the answer`);
  }
  // The failures are still shown, quoted, with the credentials taken out.
  assert.match(api, /answered HTTP 401: bad credentials: \[redacted\]/);
  assert.match(api, /did not answer JSON \(\d+ bytes starting \\"you sent/);
  assert.match(log, /answered HTTP 401: bad credentials: \[redacted\]/);
});
