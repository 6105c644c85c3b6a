import assert from 'node:assert/strict';
import { type Config, ConfigError, parseCli } from '../src/config.js';

/** The Config that these flags and environment give; fails the test on anything else. */
export function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const request = parseCli(argv, env);
  assert.equal(request.kind, 'run');
  return (request as { config: Config }).config;
}

/** Asserts that these flags and environment are refused with a ConfigError matching `message`. */
export function refused(argv: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): void {
  assert.throws(
    () => parseCli(argv, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    },
  );
}
