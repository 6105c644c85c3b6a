import type { ClientPending, Snapshot } from '../model/types.js';
import { type ExpositionWriter, labelBytes, labelText, NO_LABELS } from './exposition.js';
import { add, labelled, type Row, writeRows } from './families.js';

/**
 * Client-side figures from the probes of this pod. They count messages inside the workers, a
 * different thing from the server's queue_msgs_pending: never add the two.
 */
const CLIENT_ROWS: ReadonlyArray<Row<ClientPending>> = [
  [
    'queue_client_msgs_pending',
    'gauge',
    "Messages this pod's workers hold and have not finished (stan.go sub.Pending(), or the Node probe's count), summed over live probe reports. Client side: do not add to queue_msgs_pending.",
    (c) => c.messages,
  ],
  ['queue_client_bytes_pending', 'gauge', 'Bytes of the messages counted by queue_client_msgs_pending.', (c) => c.bytes],
  ['queue_client_reports', 'gauge', 'Clients whose live probe report includes this consumer.', (c) => c.reports],
  [
    'queue_client_msgs_dropped',
    'gauge',
    'Messages the reporting clients dropped as slow consumers, as they report it (stan.go sub.Dropped()), summed.',
    (c) => c.dropped,
  ],
  ['queue_client_max_inflight', 'gauge', "Max in-flight of the reporting clients' subscriptions, summed.", (c) => c.maxInflight],
];

/**
 * Writes the client-side families; families without samples write nothing. Their labels are
 * those of the server's queue series (account only outside the default account), so the two
 * sides of one queue match in PromQL.
 */
export async function writeClientFamilies(snapshot: Snapshot, out: ExpositionWriter): Promise<void> {
  const consumers = labelled<ClientPending>();
  for (const c of snapshot.clientPending) {
    const account: Array<[string, string]> = c.account === undefined ? [] : [['account', c.account]];
    add(consumers, labelBytes(labelText([['server', c.server], ...account, ['subject', c.subject], ['group', c.group], ['durable', c.durable]])), NO_LABELS, c);
  }
  await writeRows(out, CLIENT_ROWS, consumers);
}
