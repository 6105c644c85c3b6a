import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';

/** [path of a key, comment]: the comment is written on the line(s) above that key. */
export type Comments = ReadonlyArray<readonly [ReadonlyArray<string | number>, string]>;

export const GENERATED = (source: string): string => `Generated from ${source} by \`npm run generate\`: edit that instead.`;

/** One YAML document with a header comment and comments above chosen keys. */
export function yamlDocument(value: unknown, header: string, comments: Comments = []): string {
  // YAML 1.1 quoting: Kubernetes reads off, yes, on as booleans. No anchors: each object written out.
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  for (const [path, comment] of comments) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    let target: Node | undefined;
    if (isMap(parent)) target = parent.items.find((p) => isScalar(p.key) && p.key.value === last)?.key as Node | undefined;
    else if (isSeq(parent) && typeof last === 'number') target = parent.items[last] as Node | undefined;
    if (!target) throw new Error(`no key ${path.join('.')} to comment on`);
    target.commentBefore = comment
      .split('\n')
      .map((l) => ` ${l}`)
      .join('\n');
  }
  doc.commentBefore = header
    .split('\n')
    .map((l) => ` ${l}`)
    .join('\n');
  return doc.toString({ lineWidth: 0 });
}
