import type { ChannelFacts, ServerInfo, StoreLimits, Subscription } from '../../model/types.js';
import { num, object, str, time } from '../json-fields.js';
import { CHANNEL, CHANNELS_PAGE, SUBSCRIPTION } from './channelsz-fields.js';

/**
 * Checks and converts the JSON of nats-streaming-server's /streaming endpoints
 * (server/monitor.go, v0.25.6). Fields the server marks omitempty may be missing.
 */

export function parseServerz(body: unknown): ServerInfo {
  const where = 'serverz';
  const o = object(body, where);
  return {
    clusterId: str(o, 'cluster_id', where),
    serverId: str(o, 'server_id', where),
    version: str(o, 'version', where),
    goVersion: str(o, 'go', where, true),
    state: str(o, 'state', where),
    role: str(o, 'role', where, true),
    startTimeSeconds: time(o, 'start_time', where) / 1000,
    startTime: str(o, 'start_time', where),
    clients: num(o, 'clients', where),
    subscriptions: num(o, 'subscriptions', where),
    channels: num(o, 'channels', where),
    messages: num(o, 'total_msgs', where),
    bytes: num(o, 'total_bytes', where),
    openFds: num(o, 'open_fds', where, true),
    maxFds: num(o, 'max_fds', where, true),
    receivedMessages: num(o, 'in_msgs', where),
    receivedBytes: num(o, 'in_bytes', where),
    sentMessages: num(o, 'out_msgs', where),
    sentBytes: num(o, 'out_bytes', where),
  };
}

export function parseStorez(body: unknown): StoreLimits {
  const where = 'storez';
  const o = object(body, where);
  const limits = object(o['limits'], `${where} limits`);
  const w = `${where} limits`;
  return {
    channels: num(limits, 'max_channels', w, true),
    subscriptions: num(limits, 'max_subscriptions', w, true),
    messages: num(limits, 'max_msgs', w, true),
    bytes: num(limits, 'max_bytes', w, true),
    // Go encodes time.Duration as nanoseconds.
    ageSeconds: num(limits, 'max_age', w, true) / 1e9,
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
