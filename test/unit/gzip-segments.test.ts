import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { type ChunkSink, ExpositionWriter, type ExpositionFormat, labelBytes, NO_LABELS } from '../../src/metrics/exposition.js';
import { add, finish, labelled, type Row, startBlock, writeRows } from '../../src/metrics/families.js';
import { compressSegment, crc32Combine, GZIP_HEADER, gzipTrailer } from '../../src/metrics/gzip-segments.js';
import { SegmentCache } from '../../src/metrics/segment-cache.js';

function collecting(): { sink: ChunkSink; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    sink: (chunk, written) => {
      parts.push(Buffer.from(chunk));
      written();
    },
    bytes: () => Buffer.concat(parts),
  };
}

test('the CRC-32 of two texts together is combined from their own CRCs and the second length', () => {
  for (const [a, b] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [3, 5],
    [1000, 70_000],
    [65_536, 1],
    [12_345, 1_000_001],
  ] as const) {
    const first = randomBytes(a);
    const second = randomBytes(b);
    assert.equal(crc32Combine(crc32(first), crc32(second), b), crc32(Buffer.concat([first, second])), `${a} + ${b} bytes`);
  }
});

test('segments compressed on their own, in one gzip member, read back as the whole text', () => {
  const texts = ['# HELP a A.\n# TYPE a gauge\n', '', 'a{x="1"} 1\n'.repeat(5000), 'ü and more\n', 'a{x="2"} 2\n'];
  const segments = texts.map((t) => compressSegment(Buffer.from(t)));
  // One segment used twice: segments do not depend on what precedes them.
  segments.push(segments[2]!);
  texts.push(texts[2]!);
  let crc = 0;
  let length = 0;
  for (const s of segments) {
    crc = crc32Combine(crc, s.crc, s.length);
    length += s.length;
  }
  const member = Buffer.concat([GZIP_HEADER, ...segments.map((s) => s.deflated), gzipTrailer(crc, length)]);
  assert.equal(gunzipSync(member).toString('utf8'), texts.join(''));
});

interface Item {
  name: string;
  value: number | undefined;
}

const ROWS: ReadonlyArray<Row<Item>> = [
  ['things', 'gauge', 'A thing.', (i) => i.value],
  ['things_twice', 'gauge', 'Twice a thing.', (i) => (i.value === undefined ? undefined : 2 * i.value)],
];

/** Items in blocks of `perBlock`, with label bytes that stay the same objects across answers (as server-metrics.ts interns them). */
function level(items: Item[], perBlock: number, labelOf: (name: string) => Uint8Array) {
  const l = labelled<Item>(true);
  items.forEach((item, i) => {
    if (i % perBlock === 0) startBlock(l);
    add(l, labelOf(item.name), NO_LABELS, item);
  });
  return l;
}

/** Label bytes by name, made once each: the same objects across answers, as server-metrics.ts keeps them. */
function internedLabels(): (name: string) => Uint8Array {
  const labels = new Map<string, Uint8Array>();
  return (name) => {
    let bytes = labels.get(name);
    if (!bytes) labels.set(name, (bytes = labelBytes(`name="${name}"`)));
    return bytes;
  };
}

async function answer(format: ExpositionFormat, items: Item[], labelOf: (name: string) => Uint8Array, segments?: SegmentCache): Promise<string> {
  const out = collecting();
  const writer = new ExpositionWriter(format, out.sink, segments);
  writer.text('# before\n');
  await writeRows(writer, ROWS, level(items, 7, labelOf));
  writer.text('# after\n');
  await writer.end();
  return segments ? gunzipSync(out.bytes()).toString('utf8') : out.bytes().toString('utf8');
}

test('a gzipped answer reuses the blocks whose labels and values are the same, and is always the plain answer gzipped', async () => {
  const labelOf = internedLabels();
  const items: Item[] = Array.from({ length: 100 }, (_, i) => ({ name: `n${i}`, value: i % 9 === 0 ? undefined : i }));
  const cache = new SegmentCache();
  for (const format of ['text', 'openmetrics'] as const) {
    assert.equal(await answer(format, items, labelOf, cache), await answer(format, items, labelOf));
  }
  // 15 blocks of 7 items: the second format reused the first's lines (only HELP and TYPE differ).
  assert.equal(cache.misses, 2 * 15);
  assert.equal(cache.hits, 2 * 15);

  // One value changes: only its block, in each family, is made again.
  items[50]!.value = 1000;
  const changed = await answer('text', items, labelOf, cache);
  assert.equal(changed, await answer('text', items, labelOf));
  assert.match(changed, /^things\{name="n50"\} 1000$/m);
  assert.match(changed, /^things_twice\{name="n50"\} 2000$/m);
  assert.equal(cache.misses, 2 * 15 + 2);

  // Back to the value before: the block's entry was set again in place, so this is a miss, never
  // the lines of 50 kept from the first answers nor those of 1000.
  items[50]!.value = 50;
  const back = await answer('text', items, labelOf, cache);
  assert.equal(back, await answer('text', items, labelOf));
  assert.match(back, /^things\{name="n50"\} 50$/m);
  assert.equal(cache.misses, 2 * 15 + 4);
  items[50]!.value = 1000;
  assert.match(await answer('text', items, labelOf, cache), /^things\{name="n50"\} 1000$/m);
  assert.equal(cache.misses, 2 * 15 + 6);

  // A value that goes away, and an item whose label is new: made again, never taken from the cache.
  items[3]!.value = undefined;
  items[80] = { name: 'renamed', value: 80 };
  const again = await answer('text', items, labelOf, cache);
  assert.equal(again, await answer('text', items, labelOf));
  assert.doesNotMatch(again, /name="n3"/);
  assert.doesNotMatch(again, /name="n80"/);
  assert.match(again, /^things\{name="renamed"\} 80$/m);
  // n50's block moved on the answers before, so its lines were not kept: holding still now, it is
  // made and kept again (2 more misses).
  assert.equal(cache.misses, 2 * 15 + 6 + 2 + 4);
  assert.ok(cache.bytes > 0);
});

test('a block whose values move on answer after answer is written into the running text, and kept again once it stops', async () => {
  const labelOf = internedLabels();
  const items: Item[] = Array.from({ length: 30 }, (_, i) => ({ name: `n${i}`, value: i }));
  const cache = new SegmentCache();
  const check = async (what: string) => assert.equal(await answer('text', items, labelOf, cache), await answer('text', items, labelOf), what);
  await check('first answer');
  const blocks = 2 * 5;
  assert.deepEqual([cache.hits, cache.misses, cache.moving], [0, blocks, 0]);
  // Item 10 moves on every answer (as an age does): its block is compressed again once, then, as
  // it moved on the answer before too, written with the answer's other text, in both families.
  for (let round = 1; round <= 4; round++) {
    items[10]!.value = 100 + round;
    await check(`moving, answer ${round}`);
  }
  assert.deepEqual([cache.hits, cache.misses, cache.moving], [4 * (blocks - 2), blocks + 4 * 2, 3 * 2]);
  // It stops: the next answer keeps its lines again, and the one after reuses them.
  await check('stopped');
  await check('still');
  assert.deepEqual([cache.hits, cache.misses, cache.moving], [4 * (blocks - 2) + (blocks - 2) + blocks, blocks + 5 * 2, 3 * 2]);
});

test('a level made at its size answers as one grown item by item, whether fewer or more items come than announced', async () => {
  const labelOf = internedLabels();
  const items: Item[] = Array.from({ length: 40 }, (_, i) => ({ name: `n${i}`, value: i }));
  const render = async (size: number | undefined) => {
    const l = labelled<Item>(true, size);
    items.forEach((item, i) => {
      if (i % 7 === 0) startBlock(l);
      add(l, labelOf(item.name), NO_LABELS, item);
    });
    finish(l);
    assert.equal(l.items.length, items.length);
    assert.equal(l.labels.length, items.length);
    assert.equal(l.filled, undefined);
    assert.deepEqual(l.blockStarts, [0, 7, 14, 21, 28, 35]);
    const out = collecting();
    const writer = new ExpositionWriter('text', out.sink);
    await writeRows(writer, ROWS, l);
    await writer.end();
    return out.bytes().toString('utf8');
  };
  const grown = await render(undefined);
  assert.match(grown, /^things\{name="n39"\} 39$/m);
  for (const size of [40, 64, 25]) assert.equal(await render(size), grown, `made for ${size} items`);
});

test('a gzipped answer with no samples at all is still a whole gzip member', async () => {
  const out = collecting();
  const writer = new ExpositionWriter('openmetrics', out.sink, new SegmentCache());
  await writeRows(
    writer,
    ROWS,
    level([], 7, () => NO_LABELS),
  );
  writer.text('# EOF\n');
  await writer.end();
  assert.equal(gunzipSync(out.bytes()).toString('utf8'), '# EOF\n');
});
