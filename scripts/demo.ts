/**
 * npm run demo: a local NATS Streaming server, a publisher, a slow queue-group consumer and the
 * exporter, all on free ports, so queue_msgs_pending can be watched growing.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../src/config.js';
import { startExporter } from '../src/exporter.js';
import { parseSamples, valueOf } from '../test/helpers/exporter.js';
import { freePort } from '../test/helpers/ports.js';
import { closeStan, connectStan, publish, ready } from '../test/helpers/stan-client.js';
import { findStanBinary, startStan } from '../test/helpers/stan-server.js';

const SUBJECT = 'demo.jobs';
const PUBLISH_PER_SECOND = 5;
const SECONDS_PER_JOB = 1;

if (!findStanBinary()) {
  console.log('nats-streaming-server is not installed; installing it with go install ...');
  const install = fileURLToPath(new URL('../../scripts/install-nats-streaming-server.sh', import.meta.url));
  const r = spawnSync('bash', [install], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('could not install nats-streaming-server: install Go, or set NATS_STREAMING_SERVER to its path');
    process.exit(1);
  }
}

const server = await startStan({ clusterId: 'demo-cluster' });
const publisher = await connectStan(server.natsUrl, server.clusterId, 'demo-publisher');
const worker = await connectStan(server.natsUrl, server.clusterId, 'demo-worker');
const opts = worker.subscriptionOptions().setManualAckMode(true).setMaxInFlight(5).setDurableName('demo').setDeliverAllAvailable();
const sub = worker.subscribe(SUBJECT, 'workers', opts);
const jobs: Array<{ ack(): void }> = [];
sub.on('message', (m: { ack(): void }) => jobs.push(m));
await ready(sub);
const working = setInterval(() => jobs.shift()?.ack(), SECONDS_PER_JOB * 1000);
let n = 0;
const publishing = setInterval(() => void publish(publisher, SUBJECT, `job ${++n}`), 1000 / PUBLISH_PER_SECOND);

const request = parseCli(['--server', `demo=${server.monitorUrl}`, '--listen', `127.0.0.1:${await freePort()}`, '--probe-listen', 'off', '--log-level', 'warn'], process.env);
if (request.kind !== 'run') throw new Error('unexpected CLI request');
const exporter = await startExporter(request.config);

console.log(`
NATS Streaming server:  ${server.natsUrl} (monitoring ${server.monitorUrl})
Publisher:              ${PUBLISH_PER_SECOND} messages/s on ${SUBJECT}
Consumer:               durable queue group demo:workers, one job per ${SECONDS_PER_JOB} s
Exporter:               ${exporter.url}/metrics

Watch the backlog grow:  curl -s ${exporter.url}/metrics | grep '^queue_msgs_pending'
Press Ctrl-C to stop.
`);

const watching = setInterval(async () => {
  const samples = parseSamples(await (await fetch(`${exporter.url}/metrics`)).text());
  const labels = { subject: SUBJECT, group: 'workers', durable: 'demo' };
  console.log(`queue_msgs_pending=${valueOf(samples, 'queue_msgs_pending', labels)} undelivered=${valueOf(samples, 'queue_msgs_undelivered', labels)} unacked=${valueOf(samples, 'queue_msgs_unacked', labels)}`);
}, 5000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(working);
  clearInterval(publishing);
  clearInterval(watching);
  await exporter.close(1000);
  await Promise.all([closeStan(publisher), closeStan(worker)]);
  await server.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
