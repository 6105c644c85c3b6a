import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningExporter } from '../../src/exporter.js';
import { find, parseSamples, startTestExporter, valueOf } from '../../harness/exporter.js';
import { jetStreamRecording, recordedText, serveRecorded, stanRecording } from '../../harness/recorded-monitor.js';

/** A recorded page's text with `from` replaced by `to` (it must be there). */
function edited(path: string, from: string, to: string): string {
  const text = recordedText(path);
  assert.ok(text.includes(from), `${path} still has ${from}`);
  return text.replace(from, to);
}

describe('a monitoring answer with a count below zero is a malformed answer, and only its server fails', () => {
  const servers: Array<{ url: string; close(): Promise<void> }> = [];
  let exporter: RunningExporter;

  before(async () => {
    const stanChannelsz = 'standalone/channelsz-subs.json';
    const jsz = 'jetstream/standalone/jsz-offset-0-limit-1024.json';
    const negativePending = edited(stanChannelsz, '"pending_count": 3,', '"pending_count": -3,');
    const negativeAckPending = edited(jsz, '"num_ack_pending": 5,', '"num_ack_pending": -3,');
    const stan = stanRecording('standalone/', () => stanChannelsz);
    const jetStream = jetStreamRecording('standalone/');
    // Each second server answers as the first, but for the edited page.
    for (const recording of [
      stan,
      (url: URL) => (url.pathname === '/streaming/channelsz' ? { text: negativePending } : stan(url)),
      jetStream,
      (url: URL) => (url.pathname === '/jsz' ? { text: negativeAckPending } : jetStream(url)),
    ])
      servers.push(await serveRecorded(recording));
    exporter = await startTestExporter([
      '--server',
      `good=${servers[0]!.url}`,
      '--server',
      `negative=${servers[1]!.url}`,
      '--jetstream',
      `jsgood=${servers[2]!.url}`,
      '--jetstream',
      `jsnegative=${servers[3]!.url}`,
    ]);
  });
  after(async () => {
    await exporter.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('/metrics has no negative figure; the server that sent one is down with invalid_response, the others keep their figures', async () => {
    const res = await fetch(`${exporter.url}/metrics`);
    assert.equal(res.status, 200);
    const samples = parseSamples(await res.text());
    assert.deepEqual(
      samples.filter((s) => s.value < 0),
      [],
      'no negative series',
    );
    assert.deepEqual(find(samples, 'queue_msgs_unacked', { server: 'negative' }), []);
    assert.deepEqual(find(samples, 'queue_msgs_unacked', { server: 'jsnegative' }), []);
    for (const server of ['negative', 'jsnegative']) {
      assert.equal(valueOf(samples, 'nats_queue_exporter_scrape_errors_total', { server, reason: 'invalid_response' }), 1, server);
      assert.equal(valueOf(samples, 'queue_server_owner_up', { server }), 0, server);
    }
    assert.equal(valueOf(samples, 'stan_up', { server: 'negative' }), 0);
    assert.equal(valueOf(samples, 'stan_up', { server: 'good' }), 1);
    assert.ok(
      find(samples, 'queue_msgs_unacked', { server: 'good' }).some((s) => s.value === 3),
      "the good server's recorded pending_count 3",
    );
    assert.equal(valueOf(samples, 'queue_server_owner_up', { server: 'jsgood' }), 1);
    assert.ok(
      find(samples, 'queue_msgs_unacked', { server: 'jsgood' }).some((s) => s.value === 5),
      "the good JetStream server's recorded num_ack_pending 5",
    );
  });

  test('the reason names the field, the channel or consumer, and the value', async () => {
    const doc = (await (await fetch(`${exporter.url}/api/v1/queues`)).json()) as {
      servers: Array<{ name: string; nodes: Array<{ error?: { reason: string; message: string } }> }>;
    };
    const error = (name: string) => doc.servers.find((s) => s.name === name)!.nodes[0]!.error;
    assert.equal(error('negative')?.reason, 'invalid_response');
    assert.match(error('negative')!.message, /channel "jobs" subscription 0: field "pending_count" is -3, not a count/);
    assert.equal(error('jsnegative')?.reason, 'invalid_response');
    assert.match(error('jsnegative')!.message, /\(stream "orders"\).*\(consumer "billing"\): field "num_ack_pending" is -3, not a count/);
    assert.equal(error('good'), null);
  });
});
