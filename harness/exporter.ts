import { parseCli } from '../src/config.js';
import { startExporter, type RunningExporter } from '../src/exporter.js';

/**
 * Starts the exporter in this process on a free loopback port, as the CLI would with `args`. The
 * probe listener takes a free port too (later flags in `args` win).
 */
export async function startTestExporter(args: string[]): Promise<RunningExporter> {
  const request = parseCli(['--listen', '127.0.0.1:0', '--probe-listen', '127.0.0.1:0', '--log-level', 'silent', ...args], {});
  if (request.kind !== 'run') throw new Error('expected a run request');
  return startExporter(request.config);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads Prometheus text format samples (enough of it for assertions). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (const l of (m[2] ?? '').matchAll(labelRe)) {
      labels[l[1]!] = unescapeLabelValue(l[2]!);
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Decodes a label value's escapes (\\, \" and \n) in one pass, so that a backslash before "n" stays a backslash. */
export function unescapeLabelValue(escaped: string): string {
  return escaped.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
}

/** The samples of `path` (/metrics, or /metrics/detailed for the detailed families). */
export async function scrape(exporter: RunningExporter, path = '/metrics'): Promise<Sample[]> {
  const res = await fetch(`${exporter.url}${path}`);
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
  return parseSamples(await res.text());
}

/** Samples of `name` whose labels include `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one value of `name` with those labels; undefined when there is no such series. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Polls until `check` returns without throwing, or rethrows its last error after `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
