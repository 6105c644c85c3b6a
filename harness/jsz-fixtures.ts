import { existsSync, readFileSync } from 'node:fs';
import type { MonitorGet } from '../src/sources/jetstream/jsz-reader.js';

const root = new URL('../../test/fixtures/jetstream/', import.meta.url);

/** The bytes of a recorded answer under test/fixtures/jetstream (see its README). */
export function jszFixtureBytes(path: string): Buffer {
  return readFileSync(new URL(path, root));
}

/** A recorded answer under test/fixtures/jetstream, parsed. */
export function jszFixture(path: string): unknown {
  return JSON.parse(jszFixtureBytes(path).toString('utf8'));
}

/**
 * Answers the exporter's requests from the answers recorded under `prefix` (`standalone/`,
 * `cluster/n1-`; the file names say which request), and keeps the paths asked. A request
 * nothing was recorded for fails the test.
 */
export function recordedServer(prefix: string): { get: MonitorGet; asked: string[] } {
  const asked: string[] = [];
  const get: MonitorGet = {
    body: async (path, use) => {
      asked.push(path);
      const url = new URL(path, 'http://recorded');
      const file =
        url.pathname === '/varz' ? `${prefix}varz.json` : `${prefix}jsz-offset-${url.searchParams.get('offset')}-limit-${url.searchParams.get('limit')}.json`;
      if (!existsSync(new URL(file, root))) throw new Error(`nothing recorded for ${path} (no ${file})`);
      return use(jszFixtureBytes(file));
    },
    json: (_path, body) => JSON.parse(body.toString('utf8')),
  };
  return { get, asked };
}
