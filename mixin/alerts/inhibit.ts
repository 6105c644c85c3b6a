import { MONITORING } from './config.js';

/**
 * Alertmanager inhibit rules: one incident, one page. Each mutes the alerts that follow from the
 * source alert's cause, for the same server, channel or queue (Alertmanager treats a label missing
 * on both sides as equal).
 */
export interface InhibitRule {
  why: string;
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

const ID = MONITORING.identity;
const SERVER = [...ID, 'server'];
const CHANNEL = [...SERVER, 'account', 'subject'];
const QUEUE = [...CHANNEL, 'group', 'durable'];
const names = (...alerts: string[]): string => `alertname=~"${alerts.join('|')}"`;

export const INHIBIT_RULES: readonly InhibitRule[] = [
  {
    why: 'Every node down: losing a node and having no owner follow from it.',
    source_matchers: [names('NatsStreamingServerDown', 'NatsJetStreamServerDown')],
    target_matchers: [names('NatsStreamingRedundancyLost', 'NatsStreamingServerWithoutOwner')],
    equal: SERVER,
  },
  {
    why: 'No owner: the lost node is part of the same failure.',
    source_matchers: ['alertname="NatsStreamingServerWithoutOwner"'],
    target_matchers: ['alertname="NatsStreamingRedundancyLost"'],
    equal: SERVER,
  },
  {
    why: 'No exporter target discovered at all: every server and queue has vanished with it.',
    source_matchers: ['alertname="NatsQueueExporterDown"', 'instance=""'],
    target_matchers: [names('NatsStreamingServerVanished', 'NatsQueueVanished')],
    equal: [],
  },
  {
    why: 'A stuck queue is also stalled, hung and growing: the page says it all.',
    source_matchers: ['alertname="NatsQueueStuck"'],
    target_matchers: [names('NatsQueueConsumerStalled', 'NatsQueueHandlersHung', 'NatsQueueBacklogGrowing', 'NatsQueueOldestMessageTooOld')],
    equal: QUEUE,
  },
  {
    why: 'Hung handlers hold their whole in-flight window.',
    source_matchers: ['alertname="NatsQueueHandlersHung"'],
    target_matchers: ['alertname="NatsQueueConsumerStalled"'],
    equal: QUEUE,
  },
  {
    why: 'Messages already lost to an offline durable: the page says it.',
    source_matchers: ['alertname="NatsQueueMessagesLost"'],
    target_matchers: [names('NatsQueueDurableOffline', 'NatsQueueOldestMessageTooOld')],
    equal: QUEUE,
  },
  {
    why: "An offline durable's messages wait because nobody is there: that ticket says why.",
    source_matchers: ['alertname="NatsQueueDurableOffline"'],
    target_matchers: ['alertname="NatsQueueOldestMessageTooOld"'],
    equal: QUEUE,
  },
  {
    why: 'The channel at its limit is why messages were lost.',
    source_matchers: ['alertname="NatsQueueMessagesLost"'],
    target_matchers: [names('NatsStreamingChannelNearMessageLimit', 'NatsStreamingChannelNearByteLimit')],
    equal: CHANNEL,
  },
];
