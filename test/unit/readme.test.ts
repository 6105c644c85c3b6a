import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../src/config.js';
import { BEGIN_MARKER, CONFIGURATION_PAGE, END_MARKER, withFlagTable } from '../../tools/docs/configuration.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const readme = read('README.md');
const DOC_PAGES = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const MARKDOWN = ['README.md', 'CONTRIBUTING.md', 'DESIGN.md', ...DOC_PAGES];
/** Pages written on another branch that README.md already links; checked like the others once they exist. */
test('the README starts with the two commands: try it (the demo) and test', () => {
  const [first, second] = /```sh\n([\s\S]*?)```/.exec(readme)![1]!.split('\n');
  assert.match(first!, /^npm ci && npm run demo\b/);
  assert.match(second!, /^bash \.ci\/run\b/);
  assert.match(read('.ci/run'), /\nnpm test\n/);
});

test('the README is a front door: at most 250 lines', () => {
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  assert.ok(lines <= 250, `README.md has ${lines} lines; move the detail into a docs/ page and link it`);
});

test('the README links every docs/ page', () => {
  for (const page of DOC_PAGES) {
    assert.ok(readme.includes(`](${page})`) || readme.includes(`](${page}#`), `README.md does not link ${page}`);
  }
});

test('the configuration page names every flag and its environment variable, in its generated table', () => {
  const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
  const table = page.slice(page.indexOf(BEGIN_MARKER), page.indexOf(END_MARKER));
  for (const f of FLAGS) {
    assert.ok(table.includes(`\`--${f.flag}`), `docs/configuration.md's flag table lacks --${f.flag}: run npm run docs:generate`);
    assert.ok(table.includes(`\`${f.env}\``), `docs/configuration.md's flag table lacks ${f.env}: run npm run docs:generate`);
  }
  assert.equal(page, withFlagTable(page), 'docs/configuration.md differs from FLAGS in src/config.ts: run npm run docs:generate');
});

/** GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces as -, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n')) {
    const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replaceAll(' ', '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every relative link in README.md, CONTRIBUTING.md, DESIGN.md and docs/ resolves, anchors included', () => {
  for (const file of MARKDOWN) {
    const text = read(file).replace(/^```[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), path));
      assert.ok(existsSync(join(ROOT, resolved)), `${file} links ${target}, but ${resolved} does not exist`);
      if (anchor !== undefined && resolved.endsWith('.md')) {
        assert.ok(anchors(read(resolved)).has(anchor), `${file} links ${target}, but ${resolved} has no heading with the anchor #${anchor}`);
      }
    }
  }
});
