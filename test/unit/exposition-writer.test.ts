import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ChunkSink, ExpositionWriter, labelBytes, NO_LABELS } from '../../src/metrics/exposition.js';

/** A sink that copies each chunk (the writer reuses its buffers) and reports it written at once. */
function collecting(): { sink: ChunkSink; text: () => string; chunks: () => number } {
  const parts: Buffer[] = [];
  return {
    sink: (chunk, written) => {
      parts.push(Buffer.from(chunk));
      written();
    },
    text: () => Buffer.concat(parts).toString('utf8'),
    chunks: () => parts.length,
  };
}

test('samples are written as text format lines, HELP and TYPE once, and a family without samples writes nothing', async () => {
  const out = collecting();
  const w = new ExpositionWriter('text', out.sink);
  w.family({ name: 'empty', type: 'gauge', help: 'Never sampled.' });
  w.family({ name: 'queue_msgs_pending', type: 'gauge', help: 'Pending.\nSecond line with \\.' });
  w.sample(labelBytes('server="a",subject="x"'), labelBytes(',group="g",durable=""'), 3);
  w.sample(labelBytes('server="a",subject="ü"'), NO_LABELS, 0);
  w.family({ name: 'sent_total', type: 'counter', help: 'Sent.' });
  w.sample(labelBytes('server="a"'), NO_LABELS, 12);
  w.text('# EOF\n');
  await w.end();
  assert.equal(
    out.text(),
    [
      '# HELP queue_msgs_pending Pending.\\nSecond line with \\\\.',
      '# TYPE queue_msgs_pending gauge',
      'queue_msgs_pending{server="a",subject="x",group="g",durable=""} 3',
      'queue_msgs_pending{server="a",subject="ü"} 0',
      '# HELP sent_total Sent.',
      '# TYPE sent_total counter',
      'sent_total{server="a"} 12',
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('OpenMetrics names a counter family without _total', async () => {
  const out = collecting();
  const w = new ExpositionWriter('openmetrics', out.sink);
  w.family({ name: 'sent_total', type: 'counter', help: 'Sent.' });
  w.sample(labelBytes('server="a"'), NO_LABELS, 1);
  await w.end();
  assert.equal(out.text(), '# HELP sent Sent.\n# TYPE sent counter\nsent_total{server="a"} 1\n');
});

test('values are written as the text format spells them', async () => {
  const cases: Array<[number, string]> = [
    [0, '0'],
    [-0, '0'],
    [7, '7'],
    [10, '10'],
    [1_234_567_890_123, '1234567890123'],
    [2 ** 53 - 1, '9007199254740991'],
    [2 ** 53, '9007199254740992'],
    [1e21, '1e+21'],
    [0.25, '0.25'],
    [-3, '-3'],
    [1.5e-7, '1.5e-7'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  const out = collecting();
  const w = new ExpositionWriter('text', out.sink);
  w.family({ name: 'v', type: 'gauge', help: 'h' });
  for (const [value] of cases) w.sample(labelBytes('k="v"'), NO_LABELS, value);
  await w.end();
  const values = out
    .text()
    .split('\n')
    .filter((l) => l.startsWith('v{'))
    .map((l) => l.slice('v{k="v"} '.length));
  assert.deepEqual(
    values,
    cases.map(([, text]) => text),
  );
});

test('a large exposition arrives whole, in many chunks, however long a label or text is', async () => {
  const out = collecting();
  const w = new ExpositionWriter('text', out.sink);
  const longLabel = `subject="${'s'.repeat(100_000)}"`;
  const expected: string[] = ['# HELP big Big.', '# TYPE big gauge'];
  w.family({ name: 'big', type: 'gauge', help: 'Big.' });
  for (let i = 0; i < 80_000; i++) {
    const labels = i === 7_000 ? longLabel : `subject="c${i}"`;
    w.sample(labelBytes(labels), labelBytes(',group="g"'), i);
    expected.push(`big{${labels},group="g"} ${i}`);
    await w.flushIfFull();
  }
  const longText = `# ${'t'.repeat(200_000)}\n`;
  w.text(longText);
  await w.end();
  assert.equal(out.text(), `${expected.join('\n')}\n${longText}`);
  assert.ok(out.chunks() > 5, `${out.chunks()} chunks`);
});

test('a slow reader holds the writer back; a failed write stops it', async () => {
  const held: Array<(err?: Error | null) => void> = [];
  let mostHeld = 0;
  const w = new ExpositionWriter('text', (_chunk, written) => {
    held.push(written);
    mostHeld = Math.max(mostHeld, held.length);
  });
  w.family({ name: 'x', type: 'gauge', help: 'h' });
  const label = labelBytes(`subject="${'a'.repeat(1000)}"`);
  let settled = false;
  const writing = (async () => {
    for (let i = 0; i < 5000; i++) {
      w.sample(label, NO_LABELS, i);
      await w.flushIfFull();
    }
  })().then(
    () => (settled = true),
    (err: unknown) => err,
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(settled, false, 'the writer went on while nothing was written');
  assert.ok(mostHeld >= 1 && mostHeld <= 4, `${mostHeld} chunks waited at once`);
  held.splice(0).forEach((written) => written(new Error('connection reset')));
  const outcome = await writing;
  assert.ok(outcome instanceof Error && /connection reset/.test(outcome.message), `writing ended with ${String(outcome)}`);
});
