import { parseSamples } from './exporter.js';

/** An exposition's nss_* families: HELP and TYPE by family, value by series (name and sorted labels). */
export interface NssSeries {
  headers: Map<string, string>;
  series: Map<string, number>;
}

export function seriesKey(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

/** The labels of a series key. */
export function labelsOfKey(key: string): Record<string, string> {
  return Object.fromEntries(JSON.parse(key.slice(key.indexOf('['))) as Array<[string, string]>);
}

/**
 * Reads the nss_* part of an exposition (text format or OpenMetrics); `serverIds` renames
 * server_id values. Throws when a series appears twice.
 */
export function readNss(text: string, serverIds: ReadonlyMap<string, string> = new Map()): NssSeries {
  const lines = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?nss_/.test(l));
  const headers = new Map<string, string>();
  for (const l of lines) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(l);
    if (m) headers.set(`${m[1]} ${m[2]}`, m[3]!);
  }
  const series = new Map<string, number>();
  for (const s of parseSamples(lines.filter((l) => !l.startsWith('#')).join('\n'))) {
    const labels = { ...s.labels };
    if (labels['server_id'] !== undefined) labels['server_id'] = serverIds.get(labels['server_id']) ?? labels['server_id'];
    const key = seriesKey(s.name, labels);
    if (series.has(key)) throw new Error(`series ${key} appears twice`);
    series.set(key, s.value);
  }
  return { headers, series };
}
