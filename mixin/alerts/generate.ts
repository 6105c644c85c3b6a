import { Document, isMap, isSeq } from 'yaml';
import { INHIBIT_RULES } from './inhibit.js';
import { renderRules } from './rules.js';
import { SCALING_RULES } from './scaling.js';

export const RULES_FILE = 'alerts/nats-queue-exporter.rules.yml';
export const INHIBIT_FILE = 'alerts/alertmanager-inhibit-rules.yml';

const GENERATED =
  'Generated from mixin/alerts/ by `npm run generate`: edit mixin/alerts/config.ts (job selector,\n identity labels, thresholds and their per-queue overrides) or mixin/alerts/rules.ts instead.';

/** Each list item gets its `comment` (or `why`) as a YAML comment above it, not as a field. */
function withComments<T extends object>(items: readonly T[], key: 'comment' | 'why'): { plain: object[]; comments: Array<string | undefined> } {
  const comments = items.map((i) => (i as Record<string, unknown>)[key] as string | undefined);
  const plain = items.map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => k !== key)));
  return { plain, comments };
}

function render(doc: Document, comments: Array<string | undefined>, path: unknown[]): string {
  const seq = doc.getIn(path, true);
  if (!isSeq(seq)) throw new Error(`generator: ${path.join('.')} is not a list`);
  seq.items.forEach((item, i) => {
    const c = comments[i];
    if (c && isMap(item)) item.commentBefore = ` ${c}`;
  });
  return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}

export function renderRulesFile(): string {
  const alerts = withComments(renderRules(), 'comment');
  const scaling = withComments(SCALING_RULES, 'comment');
  const doc = new Document(
    {
      groups: [
        { name: 'nats-queue-exporter', rules: alerts.plain },
        { name: 'nats-queue-exporter-scaling', rules: scaling.plain },
      ],
    },
    { aliasDuplicateObjects: false },
  );
  doc.commentBefore = ` Alert rules for nats-queue-exporter, and the recording rules for scaling workers on their backlog\n (group nats-queue-exporter-scaling; docs/autoscaling.md).\n ${GENERATED}\n Test: promtool test rules alerts/nats-queue-exporter.test.yml alerts/scaling.test.yml. Runbook: docs/runbook.md.\n Inhibit rules for Alertmanager: alertmanager-inhibit-rules.yml beside this file.`;
  render(doc, scaling.comments, ['groups', 1, 'rules']);
  return render(doc, alerts.comments, ['groups', 0, 'rules']);
}

export function renderInhibitFile(): string {
  const { plain, comments } = withComments(INHIBIT_RULES, 'why');
  const doc = new Document({ inhibit_rules: plain }, { aliasDuplicateObjects: false });
  doc.commentBefore = ` Alertmanager inhibit rules for the nats-queue-exporter alerts: copy them into your alertmanager.yml.\n ${GENERATED}`;
  return render(doc, comments, ['inhibit_rules']);
}

export function renderAlertFiles(): Map<string, string> {
  return new Map([
    [RULES_FILE, renderRulesFile()],
    [INHIBIT_FILE, renderInhibitFile()],
  ]);
}
