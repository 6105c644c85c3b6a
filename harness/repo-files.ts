import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root (tests run compiled from dist/test). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

export const RULES_FILE = 'alerts/nats-queue-exporter.rules.yml';

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadRules(text = readRepoFile(RULES_FILE)): Array<{ name: string; rules: Rule[] }> {
  return (parse(text) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
}

export function alertRules(): Rule[] {
  return loadRules().flatMap((g) => g.rules.filter((r) => r.alert !== undefined));
}

/** Dashboards as committed in grafana/, by file name. */
export function loadDashboards(): Map<string, Dashboard> {
  const files = readdirSync(join(ROOT, 'grafana'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  return new Map(files.map((f) => [f, JSON.parse(readRepoFile(join('grafana', f))) as Dashboard]));
}

export interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: { type: string; uid: string }; allValue?: string }> };
  panels: Panel[];
}

export interface Panel {
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; refId: string; datasource?: { type: string; uid: string } }>;
}

/**
 * The anchor GitHub gives a Markdown heading: lower case, punctuation other than "-" and "_"
 * dropped, spaces turned into "-".
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    anchors.add(
      m[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

/** Where a runbook_url points inside this repository: file and anchor. */
export function runbookTarget(url: string): { file: string; anchor: string } {
  const m = /^https:\/\/github\.com\/[^/]+\/[^/]+\/blob\/main\/([^#]+)#(.+)$/.exec(url);
  if (!m) throw new Error(`runbook_url ${url} is not https://github.com/OWNER/REPO/blob/main/FILE#ANCHOR`);
  return { file: m[1]!, anchor: m[2]! };
}
