import { existsSync, readFileSync } from 'node:fs';
import type { GetJson } from '../../src/sources/jetstream/read-accounts.js';

const root = new URL('../../../test/fixtures/jetstream/', import.meta.url);

/** A recorded answer under test/fixtures/jetstream (see its README), parsed. */
export function jszFixture(path: string): unknown {
  return JSON.parse(readFileSync(new URL(path, root), 'utf8'));
}

/**
 * Answers the exporter's requests from the answers recorded under `prefix` (`standalone/`,
 * `cluster/n1-`; the file names say which request), and keeps the paths asked. A request
 * nothing was recorded for fails the test.
 */
export function recordedServer(prefix: string): { get: GetJson; asked: string[] } {
  const asked: string[] = [];
  const get: GetJson = async (path) => {
    asked.push(path);
    const url = new URL(path, 'http://recorded');
    const file = url.pathname === '/varz'
      ? `${prefix}varz.json`
      : `${prefix}jsz-offset-${url.searchParams.get('offset')}-limit-${url.searchParams.get('limit')}.json`;
    if (!existsSync(new URL(file, root))) throw new Error(`nothing recorded for ${path} (no ${file})`);
    return jszFixture(file);
  };
  return { get, asked };
}
