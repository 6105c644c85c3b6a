/**
 * Writes the flag table of docs/configuration.md from FLAGS in src/config.ts, between the two
 * markers; the prose around them is written by hand.
 *
 *   npm run docs:generate        rewrite the table
 *   npm run check:docs           exit 1 when the page is not what the generator writes
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../src/config.js';

export const CONFIGURATION_PAGE = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
export const BEGIN_MARKER = '<!-- BEGIN FLAGS: written by `npm run docs:generate` from FLAGS in src/config.ts; edit there -->';
export const END_MARKER = '<!-- END FLAGS -->';

/** Code in a Markdown table cell: a pipe would end the cell (GitHub reads `\\|` as a pipe even there). */
function code(text: string): string {
  return `\`${text.replaceAll('|', '\\|')}\``;
}

/** Prose in a Markdown table cell: besides the pipe, `<` would open HTML and `*` emphasis. */
function prose(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ').replaceAll('<', '&lt;').replaceAll('*', '\\*');
}

/** The table FLAGS describes: one row per flag, in FLAGS' order. */
export function flagTable(): string {
  const rows = ['| flag | environment | default | description |', '|---|---|---|---|'];
  for (const f of FLAGS) {
    const flag = `${code(`--${f.flag}${f.arg ? ` ${f.arg}` : ''}`)}${f.multiple ? ' (repeat)' : ''}`;
    const fallback = f.fallback === '' ? 'none' : f.fallback === 'false' ? 'off' : code(f.fallback);
    rows.push(`| ${flag} | ${code(f.env)} | ${fallback} | ${prose(f.help)} |`);
  }
  rows.push('| `--help`, `--version` | | | print the usage or the version and exit |');
  return rows.join('\n');
}

/** `page` with the text between the markers replaced by the table; an error names a missing marker. */
export function withFlagTable(page: string): string {
  const begin = page.indexOf(BEGIN_MARKER);
  const end = page.indexOf(END_MARKER);
  if (begin < 0 || end < begin) {
    throw new Error(`docs/configuration.md must hold the lines ${BEGIN_MARKER} and ${END_MARKER}, in that order: put them back where the flag table goes`);
  }
  return `${page.slice(0, begin + BEGIN_MARKER.length)}\n${flagTable()}\n${page.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const current = readFileSync(CONFIGURATION_PAGE, 'utf8');
  const wanted = withFlagTable(current);
  if (process.argv.includes('--check')) {
    if (wanted !== current) {
      process.stderr.write('docs/configuration.md: the flag table differs from FLAGS in src/config.ts; run npm run docs:generate and commit the result\n');
      process.exitCode = 1;
    } else {
      process.stdout.write('docs/configuration.md: up to date\n');
    }
  } else if (wanted !== current) {
    writeFileSync(CONFIGURATION_PAGE, wanted);
    process.stdout.write('docs/configuration.md: wrote the flag table\n');
  } else {
    process.stdout.write('docs/configuration.md: up to date\n');
  }
}
