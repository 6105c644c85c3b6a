/**
 * npm run demo: a NATS Streaming queue and its JetStream twin side by side. A local
 * nats-streaming-server and a nats-server with JetStream, a publisher feeding both, a slow
 * consumer on each with the same subject, queue group and durable names, and the exporter
 * reading both, all on free ports, so the two queue_msgs_pending can be watched growing together.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsMsg } from '@nats-io/jetstream';
import { parseCli } from '../src/config.js';
import { startExporter } from '../src/exporter.js';
import { parseSamples, type Sample, valueOf } from '../harness/exporter.js';
import { goBinDir } from '../harness/go-bin.js';
import { addConsumer, addStream, connectJs } from '../harness/jetstream-client.js';
import { NATS_SERVERS, startNatsServer } from '../harness/nats-server.js';
import { freePort } from '../harness/ports.js';
import { closeStan, connectStan, publish, ready } from '../harness/stan-client.js';
import { findStanBinary, startStan } from '../harness/stan-server.js';

// A stream is named after its channel (stan2js), and stream names have no dots.
const SUBJECT = 'jobs';
const GROUP = 'workers';
const DURABLE = 'demo';
const PUBLISH_PER_SECOND = 5;
const SECONDS_PER_JOB = 1;
const IN_FLIGHT = 5;

function install(what: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`${what} is not installed; installing it with ${command} ${args.join(' ')} ...`);
  const r = spawnSync(command, args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`could not install ${what}: install Go, then run npm run demo again`);
    process.exit(1);
  }
}

if (!findStanBinary()) {
  install('nats-streaming-server', 'bash', [fileURLToPath(new URL('../../tools/install-nats-streaming-server.sh', import.meta.url))]);
}
const { version, binary } = NATS_SERVERS.current;
if (!existsSync(join(goBinDir(), binary))) {
  // Only the release the demo runs (tools/install-nats-server.sh also builds an older one for the tests).
  install(`nats-server ${version}`, 'go', ['install', `github.com/nats-io/nats-server/v2@${version}`], { ...process.env, GOBIN: goBinDir() });
}

const [stanServer, natsServer] = await Promise.all([startStan({ clusterId: 'demo-cluster' }), startNatsServer()]);

// NATS Streaming: a durable queue group with manual acks that finishes one job a second.
const publisher = await connectStan(stanServer.natsUrl, stanServer.clusterId, 'demo-publisher');
const worker = await connectStan(stanServer.natsUrl, stanServer.clusterId, 'demo-worker');
const opts = worker.subscriptionOptions().setManualAckMode(true).setMaxInFlight(IN_FLIGHT).setDurableName(DURABLE).setDeliverAllAvailable();
const sub = worker.subscribe(SUBJECT, GROUP, opts);
const stanJobs: Array<{ ack(): void }> = [];
sub.on('message', (m: { ack(): void }) => stanJobs.push(m));
await ready(sub);

// Its JetStream twin, as stan2js makes it: a stream named after the channel, a consumer named
// after the durable whose deliver group is the queue group, explicit acks; the same pace.
const js = await connectJs(natsServer.natsUrl);
await addStream(js.jsm, { name: SUBJECT, subjects: [SUBJECT] });
await addConsumer(js.jsm, SUBJECT, { durable_name: DURABLE, deliver_group: GROUP, deliver_subject: `deliver.${SUBJECT}`, max_ack_pending: IN_FLIGHT });
const jsJobs: JsMsg[] = [];
const twin = await (await js.js.consumers.getPushConsumer(SUBJECT, DURABLE)).consume();
void (async () => {
  for await (const m of twin) jsJobs.push(m);
})();

const working = setInterval(() => {
  stanJobs.shift()?.ack();
  jsJobs.shift()?.ack();
}, SECONDS_PER_JOB * 1000);
let n = 0;
const publishing = setInterval(() => {
  const job = `job ${++n}`;
  void publish(publisher, SUBJECT, job);
  void js.js.publish(SUBJECT, job);
}, 1000 / PUBLISH_PER_SECOND);

const request = parseCli(
  [
    '--server',
    `old=${stanServer.monitorUrl}`,
    '--jetstream',
    `new=${natsServer.monitorUrl}`,
    '--listen',
    `127.0.0.1:${await freePort()}`,
    '--probe-listen',
    'off',
    '--log-level',
    'warn',
  ],
  process.env,
);
if (request.kind !== 'run') throw new Error('unexpected CLI request');
const exporter = await startExporter(request.config);

console.log(`
NATS Streaming server:  ${stanServer.natsUrl} (monitoring ${stanServer.monitorUrl}), --server old=...
nats-server, JetStream: ${natsServer.natsUrl} (monitoring ${natsServer.monitorUrl}), --jetstream new=...
Publisher:              ${PUBLISH_PER_SECOND} messages/s to channel ${SUBJECT} and to stream ${SUBJECT}
Consumers:              durable queue group ${DURABLE}:${GROUP} on each, ${IN_FLIGHT} in flight, one job per ${SECONDS_PER_JOB} s
Exporter:               ${exporter.url}/metrics

Watch both backlogs grow:  curl -s ${exporter.url}/metrics | grep '^queue_msgs_pending'
Press Ctrl-C to stop.
`);

function line(samples: Sample[], server: string): string {
  const labels = { server, subject: SUBJECT, group: GROUP, durable: DURABLE };
  const figures = ['pending', 'undelivered', 'unacked'].map((f) => `${f}=${valueOf(samples, `queue_msgs_${f}`, labels)}`);
  return `queue_msgs_{server="${server}",subject="${SUBJECT}",group="${GROUP}",durable="${DURABLE}"} ${figures.join(' ')}`;
}

const watching = setInterval(async () => {
  const samples = parseSamples(await (await fetch(`${exporter.url}/metrics`)).text());
  console.log(`${line(samples, 'old')}\n${line(samples, 'new')}\n`);
}, 5000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(working);
  clearInterval(publishing);
  clearInterval(watching);
  await exporter.close(1000);
  // Ctrl-C reaches the servers too (one process group), and a NATS Streaming client's close
  // request to a server that is gone waits for its 10 s timeout: the clients get a second.
  const clientsClosed = Promise.all([closeStan(publisher), closeStan(worker), js.close()]);
  await Promise.race([clientsClosed, new Promise((resolve) => setTimeout(resolve, 1000))]);
  await Promise.all([stanServer.stop(), natsServer.stop()]);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
