/**
 * Client-side pending for node-nats-streaming workers and @nats-io/jetstream consumers:
 * `import { watchPending } from 'nats-queue-exporter/probe'`. It imports nothing but Node itself,
 * so a worker pulls in neither the exporter nor a NATS client through it.
 */
export {
  watchPending,
  type PendingFigures,
  type PendingWatcher,
  type ProbeSubscription,
  type SubscriptionLabels,
  type WatchPendingOptions,
} from './watch-pending.js';
export type { ProbeConnection } from './account.js';
export type { ProbeConsumer, ProbeConsumerInfo, ProbeConsumerMessages } from './jetstream.js';
export type { ConsumerLabels, ProbeJsMsg, ProbeMessage } from './tally.js';
