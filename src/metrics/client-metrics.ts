import type { ClientPending, Snapshot } from '../model/types.js';
import { type ExpositionFormat, FamilyWriter, labelText } from './exposition.js';

type Row = readonly [name: string, help: string, value: (c: ClientPending) => number | undefined];

/**
 * Client-side figures from the probes of this pod. They count messages inside the workers, a
 * different thing from the server's queue_msgs_pending: never add the two.
 */
const CLIENT_ROWS: readonly Row[] = [
  ['queue_client_msgs_pending', 'Messages this pod\'s workers hold and have not finished (stan.go sub.Pending(), or the Node probe\'s count), summed over live probe reports. Client side: do not add to queue_msgs_pending.', (c) => c.messages],
  ['queue_client_bytes_pending', 'Bytes of the messages counted by queue_client_msgs_pending.', (c) => c.bytes],
  ['queue_client_reports', 'Clients whose live probe report includes this consumer.', (c) => c.reports],
  ['queue_client_msgs_dropped', 'Messages the reporting clients dropped as slow consumers, as they report it (stan.go sub.Dropped()), summed.', (c) => c.dropped],
  ['queue_client_max_inflight', 'Max in-flight of the reporting clients\' subscriptions, summed.', (c) => c.maxInflight],
];

/** Renders the client-side families, one string per family that has samples. */
export function renderClientFamilies(snapshot: Snapshot, format: ExpositionFormat): string[] {
  const families = CLIENT_ROWS.map(([name, help, value]) => [new FamilyWriter({ name, type: 'gauge', help }), value] as const);
  for (const c of snapshot.clientPending) {
    const labels = labelText([['server', c.server], ['subject', c.subject], ['group', c.group], ['durable', c.durable]]);
    for (const [writer, value] of families) {
      const v = value(c);
      if (v !== undefined) writer.add(labels, v);
    }
  }
  return families.map(([writer]) => writer.render(format)).filter((text) => text !== '');
}
