import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { createLogger } from '../src/log.js';
import { Secret } from '../src/secret.js';

function kept(level: Parameters<typeof createLogger>[0]) {
  const lines: string[] = [];
  const log = createLogger(level, (line) => lines.push(line));
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('the JSON log', () => {
  test('one line per call in pino\'s shape: level number, time, pid, hostname, name, the fields, msg', () => {
    const { log, lines, parsed } = kept('info');
    const before = Date.now();
    log.warn({ server: 'prod-a', node: 'a:8222' }, 'scrape of server failed');
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('}\n') && !lines[0]!.slice(0, -1).includes('\n'), lines[0]);
    const [line] = parsed();
    assert.deepEqual(Object.keys(line!), ['level', 'time', 'pid', 'hostname', 'name', 'server', 'node', 'msg']);
    assert.equal(line!['level'], 40);
    assert.ok((line!['time'] as number) >= before && (line!['time'] as number) <= Date.now());
    assert.equal(line!['pid'], process.pid);
    assert.equal(line!['hostname'], hostname());
    assert.equal(line!['name'], 'nats-queue-exporter');
    assert.equal(line!['msg'], 'scrape of server failed');
  });

  test('levels below the configured one write nothing; silent writes nothing at all', () => {
    const numbers = (level: Parameters<typeof createLogger>[0]) => {
      const { log, parsed } = kept(level);
      for (const m of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) log[m]({}, m);
      return parsed().map((l) => [l['level'], l['msg']]);
    };
    assert.deepEqual(numbers('warn'), [[40, 'warn'], [50, 'error'], [60, 'fatal']]);
    assert.deepEqual(numbers('trace').map(([n]) => n), [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(numbers('silent'), []);
  });

  test('an error is written with its class, message, stack, own fields and cause', () => {
    const { log, parsed } = kept('debug');
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8222'), { code: 'ECONNREFUSED' });
    log.error({ err: new TypeError('cannot read properties of undefined', { cause }), server: 'prod' }, 'rendering /metrics failed');
    const err = parsed()[0]!['err'] as Record<string, unknown>;
    assert.equal(err['type'], 'TypeError');
    assert.equal(err['message'], 'cannot read properties of undefined');
    assert.match(String(err['stack']), /^TypeError: cannot read properties of undefined\n\s+at /);
    assert.deepEqual({ ...(err['cause'] as object), stack: undefined }, { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:8222', code: 'ECONNREFUSED', stack: undefined });
  });

  test('credentials are not written: a Secret anywhere, an authorization value at any depth', () => {
    const { log, lines } = kept('info');
    log.info({ node: { url: 'http://a:8222', authorization: new Secret('Basic c2VjcmV0') }, headers: { authorization: 'Bearer t0ken' } }, 'x');
    assert.doesNotMatch(lines[0]!, /c2VjcmV0|t0ken/);
    assert.equal((lines[0]!.match(/\[redacted\]/g) ?? []).length, 2, lines[0]);
  });

  test('fields that are not JSON (a cycle, a BigInt) still give a line with the message, never a throw', () => {
    const { log, parsed } = kept('info');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    log.warn({ cyclic }, 'first');
    log.warn({ big: 10n }, 'second');
    const [first, second] = parsed();
    assert.equal(first!['msg'], 'first');
    assert.match(String(first!['logFields']), /could not be written as JSON/);
    assert.equal(second!['msg'], 'second');
    assert.match(String(second!['logFields']), /BigInt/);
  });

  test('a message with quotes, newlines and non-ASCII stays one valid line', () => {
    const { log, lines, parsed } = kept('info');
    log.info({ subject: 'größe "x"' }, 'line one\nline two "quoted" \u2028');
    assert.equal(lines[0]!.split('\n').length, 2);
    assert.equal(parsed()[0]!['msg'], 'line one\nline two "quoted" \u2028');
    assert.equal(parsed()[0]!['subject'], 'größe "x"');
  });
});
