import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log.js';
import type { LogLevel } from '../../src/log-level.js';
import { Secret } from '../../src/secret.js';

function kept(level: LogLevel) {
  const lines: string[] = [];
  const log = createLogger(level, { write: (line: string) => lines.push(line) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("the exporter's pino logger", () => {
  test("pino's line: level number, time, pid, hostname, name, the child's bindings, the fields, msg", () => {
    const { log, parsed } = kept('info');
    const before = Date.now();
    log.child({ server: 'prod-a' }).child({ node: 'a:8222' }).warn({ reason: 'timed out' }, 'scrape of server failed');
    const [line] = parsed();
    assert.deepEqual(Object.keys(line!), ['level', 'time', 'pid', 'hostname', 'name', 'server', 'node', 'reason', 'msg']);
    assert.equal(line!['level'], 40);
    assert.ok((line!['time'] as number) >= before && (line!['time'] as number) <= Date.now());
    assert.equal(line!['pid'], process.pid);
    assert.equal(line!['hostname'], hostname());
    assert.equal(line!['name'], 'nats-queue-exporter');
    assert.equal(line!['msg'], 'scrape of server failed');
  });

  test('--log-level: levels below it write nothing; silent writes nothing at all', () => {
    const numbers = (level: LogLevel) => {
      const { log, parsed } = kept(level);
      for (const m of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) log[m](m);
      return parsed().map((l) => [l['level'], l['msg']]);
    };
    assert.deepEqual(numbers('warn'), [
      [40, 'warn'],
      [50, 'error'],
      [60, 'fatal'],
    ]);
    assert.deepEqual(
      numbers('trace').map(([n]) => n),
      [10, 20, 30, 40, 50, 60],
    );
    assert.deepEqual(numbers('silent'), []);
  });

  test("err is written by pino's error serializer: class, message and stack with the cause's, own fields", () => {
    const { log, parsed } = kept('debug');
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:8222');
    const err = Object.assign(new TypeError('cannot read properties of undefined', { cause }), { code: 'E_TEST' });
    log.error({ err }, 'rendering /metrics failed');
    const written = parsed()[0]!['err'] as Record<string, unknown>;
    assert.equal(written['type'], 'TypeError');
    assert.equal(written['message'], 'cannot read properties of undefined: connect ECONNREFUSED 127.0.0.1:8222');
    assert.match(
      String(written['stack']),
      /^TypeError: cannot read properties of undefined\n\s+at [\s\S]*\ncaused by: Error: connect ECONNREFUSED 127\.0\.0\.1:8222\n\s+at /,
    );
    assert.equal(written['code'], 'E_TEST');
  });

  test('credentials are not written: a Secret, header values, passwords, tokens, the user and password of a URL', () => {
    const { log, lines, parsed } = kept('info');
    log.info(
      {
        node: { url: 'http://mon:hunter2@a:8222', authorization: new Secret('Basic c2VjcmV0') },
        headers: { authorization: 'Bearer t0ken' },
        req: { headers: { authorization: 'Basic dXNlcjpwdw==' } },
        client: { password: 'pa55', token: 't0k' },
        url: 'nats://u:pw@n:4222',
        probeUrl: 'http://127.0.0.1:7779',
        servers: [{ nodes: [{ url: 'https://x:y@h:8222/', node: 'h' }] }],
      },
      'x',
    );
    assert.doesNotMatch(lines[0]!, /c2VjcmV0|t0ken|dXNlcjpwdw|pa55|t0k"|hunter2|:pw@|x:y@/);
    const line = parsed()[0]!;
    assert.deepEqual(line['node'], { url: 'http://[redacted]@a:8222', authorization: '[redacted]' });
    assert.equal(line['url'], 'nats://[redacted]@n:4222');
    assert.equal(line['probeUrl'], 'http://127.0.0.1:7779', 'a URL without a user is written as it is');
    assert.deepEqual(line['servers'], [{ nodes: [{ url: 'https://[redacted]@h:8222/', node: 'h' }] }]);
    assert.deepEqual(line['client'], { password: '[redacted]', token: '[redacted]' });
  });

  test('the last line before process.exit is written (synchronous stdout)', () => {
    const log = fileURLToPath(new URL('../../src/log.js', import.meta.url));
    const program = `const { createLogger } = await import(${JSON.stringify(log)}); const l = createLogger('info'); for (let i = 0; i < 2000; i++) l.info({ i }, 'filler'); l.fatal({ err: new Error('boom') }, 'cannot start'); process.exit(1);`;
    let out = '';
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 2001);
    assert.equal(lines.at(-1)!['msg'], 'cannot start');
    assert.equal((lines.at(-1)!['err'] as Record<string, unknown>)['message'], 'boom');
  });
});
