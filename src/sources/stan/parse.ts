import type { ChannelFacts, StanServerInfo, StoreLimits, Subscription } from '../../model/types.js';
import { CHANNEL, CHANNELS_PAGE, SERVERZ, STOREZ, SUBSCRIPTION } from './fields.js';

/**
 * Checks and converts the JSON of nats-streaming-server's /streaming endpoints
 * (server/monitor.go, v0.25.6). Fields the server marks omitempty may be missing.
 */

export function parseServerz(body: unknown): StanServerInfo {
  const o = SERVERZ.check(body, 'serverz');
  return {
    clusterId: o.cluster_id,
    serverId: o.server_id,
    version: o.version,
    goVersion: o.go ?? '',
    state: o.state,
    role: o.role ?? '',
    startTimeSeconds: o.start_time / 1000,
    // As the server wrote it (nanoseconds and all), checked as a time above.
    startTime: (body as { start_time: string }).start_time,
    clients: o.clients,
    subscriptions: o.subscriptions,
    channels: o.channels,
    messages: o.total_msgs,
    bytes: o.total_bytes,
    openFds: o.open_fds ?? 0,
    maxFds: o.max_fds ?? 0,
    receivedMessages: o.in_msgs,
    receivedBytes: o.in_bytes,
    sentMessages: o.out_msgs,
    sentBytes: o.out_bytes,
  };
}

export function parseStorez(body: unknown): StoreLimits {
  const { limits } = STOREZ.check(body, 'storez');
  return {
    channels: limits.max_channels ?? 0,
    subscriptions: limits.max_subscriptions ?? 0,
    messages: limits.max_msgs ?? 0,
    bytes: limits.max_bytes ?? 0,
    ageSeconds: (limits.max_age ?? 0) / 1e9,
  };
}

export interface ParsedChannel {
  facts: ChannelFacts;
  /** Each with index 0: buildChannel numbers them. */
  subscriptions: Subscription[];
}

export interface ChannelsPage {
  total: number;
  count: number;
  channels: unknown[];
}

export function parseChannelsPage(body: unknown, where: string): ChannelsPage {
  return CHANNELS_PAGE.check(body, where);
}

/** Splits a queue name: "DURABLE:GROUP" for durable queue groups, at the first colon. */
export function splitQueueName(queueName: string, isDurable: boolean): { group: string; durable: string } {
  if (!isDurable) return { group: queueName, durable: '' };
  const colon = queueName.indexOf(':');
  if (colon < 0) return { group: queueName, durable: '' };
  return { group: queueName.slice(colon + 1), durable: queueName.slice(0, colon) };
}

function parseSubscription(value: unknown, where: string, withInbox: boolean): Subscription {
  const s = SUBSCRIPTION.check(value, where, withInbox ? 0 : SUBSCRIPTION.bit('inbox'));
  const queueName = s.queue_name ?? '';
  const { group, durable } = queueName !== '' ? splitQueueName(queueName, s.is_durable) : { group: '', durable: s.durable_name ?? '' };
  return {
    clientId: s.client_id,
    inbox: withInbox ? s.inbox : '',
    group,
    durable,
    unacked: s.pending_count,
    lastSent: s.last_sent,
    maxInflight: s.max_inflight,
    ackWaitSeconds: s.ack_wait,
    stalled: s.is_stalled,
    offline: s.is_offline,
    index: 0,
  };
}

/** Reads a channel object as channelsz?subs=1 gives it; subscription inboxes only when asked for. */
export function parseChannel(value: unknown, where: string, withInbox = false): ParsedChannel {
  const name = CHANNEL.field(value, where, 'name');
  const at = `${where} channel "${name}"`;
  const c = CHANNEL.check(value, at);
  const facts: ChannelFacts = { name, messages: c.msgs, bytes: c.bytes, firstSeq: c.first_seq, lastSeq: c.last_seq, subscriptionCount: c.subs_count };
  const subscriptions = c.subscriptions.map((s, i) => parseSubscription(s, `${at} subscription ${i}`, withInbox));
  return { facts, subscriptions };
}
