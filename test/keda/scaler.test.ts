/**
 * npm run test:keda (not part of npm test: the first build of KEDA's module takes minutes).
 *
 * KEDA's own prometheus scaler and fallback (go/keda-check, built from KEDA's Go module) poll a
 * real Prometheus that scrapes real exporters and evaluates the generated rules, with the
 * ScaledObjects the chart renders. Under it: a NATS Streaming FT pair and a nats-server with
 * JetStream. What is checked is the replica count KEDA and the HPA arrive at while a queue grows,
 * while it drains at a steady rate (and the time to drain beside the measured one), through an FT
 * failover, and while an exporter is down.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { RunningExporter } from '../../src/exporter.js';
import { BACKLOG, TIME_TO_DRAIN } from '../../mixin/alerts/scaling.js';
import { CHART_DIR } from '../../tools/k8s/chart.js';
import { trackChild } from '../../harness/children.js';
import { eventually, startTestExporter } from '../../harness/exporter.js';
import { addConsumer, addStream, connectJs, type JsClient, publish as jsPublish } from '../../harness/jetstream-client.js';
import { type NatsServer, startNatsServer } from '../../harness/nats-server.js';
import { freePort } from '../../harness/ports.js';
import { instantQuery, type RunningTool, startPrometheus } from '../../harness/prometheus.js';
import { ROOT, RULES_FILE, readRepoFile } from '../../harness/repo-files.js';
import { type Message, type Stan, closeStan, connectStan, publish, ready } from '../../harness/stan-client.js';
import { type StanServer, startStan } from '../../harness/stan-server.js';
import { requireTool } from '../../harness/tools.js';

const KEDA_CHECK = join(ROOT, 'go/keda-check');
const NAMESPACE = 'monitoring';
const FT_QUEUE = { server: 'ft', subject: 'orders', group: 'workers', durable: 'd' };
const JS_QUEUE = { server: 'js', subject: 'ORDERS', group: '', durable: 'work' };
const PER_REPLICA = 100;
const ACKS_PER_SECOND = 10;

interface Answer {
  metric?: number;
  active: boolean;
  fallback: boolean;
  error?: string;
  replicas: number;
}

/** A keda-check process: KEDA's scaler and fallback on one ScaledObject, one poll per line. */
interface Scaler {
  poll(current: number): Promise<Answer>;
  stop(): void;
}

function startScaler(binary: string, scaledObjectFile: string): Scaler {
  const child: ChildProcess = spawn(binary, ['-scaledobject', scaledObjectFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const waiting: Array<(a: Answer) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as Answer));
  return {
    poll(current) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error(`keda-check exited: ${stderr}`));
        waiting.push(resolve);
        child.stdin!.write(`${current}\n`);
      });
    },
    stop: () => child.kill('SIGKILL'),
  };
}

/** The ScaledObjects the chart renders for these workers, by Deployment name. */
function renderScaledObjects(prometheusUrl: string, workers: object[]): Map<string, object> {
  const values = { autoscaling: { prometheusUrl, keda: { enabled: true, failureThreshold: 3 }, workers } };
  const dir = mkdtempSync(join(tmpdir(), 'nqe-keda-values-'));
  try {
    writeFileSync(join(dir, 'values.json'), JSON.stringify(values));
    const res = spawnSync(
      requireTool('helm', 'go install helm.sh/helm/v3/cmd/helm@v3.22.0'),
      ['template', 'nqe', CHART_DIR, '--namespace', NAMESPACE, '-f', join(dir, 'values.json'), '--show-only', 'templates/scaledobject.yaml'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(res.status, 0, res.stderr);
    const objects = parseAllDocuments(res.stdout)
      .map((d) => d.toJS() as { metadata: { name: string } } | null)
      .filter((o) => o !== null);
    return new Map(objects.map((o) => [o.metadata.name, o]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker of the queue group: holds what it receives, and acks at a steady rate while told to. */
class SteadyWorker {
  readonly #held: Message[] = [];
  #timer: NodeJS.Timeout | undefined;
  acked = 0;

  constructor(sc: Stan, subject: string, group: string, durable: string) {
    const sub = sc.subscribe(
      subject,
      group,
      sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(20).setAckWait(600_000).setDeliverAllAvailable().setDurableName(durable),
    );
    sub.on('message', (m: Message) => this.#held.push(m));
    this.ready = ready(sub);
  }

  readonly ready: Promise<void>;

  start(perSecond: number): void {
    this.#timer = setInterval(() => {
      const m = this.#held.shift();
      if (m) {
        m.ack();
        this.acked++;
      }
    }, 1000 / perSecond);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

// The two queues' tests run side by side: each waits minutes on Prometheus' windows.
describe("KEDA's prometheus scaler on the recording rules, against real servers", { timeout: 30 * 60_000, concurrency: true }, () => {
  let buildDir: string;
  let binary: string;
  let storeDir: string;
  let active: StanServer;
  let standby: StanServer;
  let nats: NatsServer;
  let stanExporter: RunningExporter;
  let jsExporter: RunningExporter | undefined;
  let prometheus: RunningTool;
  let sc: Stan;
  let js: JsClient;
  let worker: SteadyWorker;
  const scalers: Scaler[] = [];
  const objectFiles = new Map<string, string>();
  let buildSeconds = 0;

  before(async () => {
    buildDir = mkdtempSync(join(tmpdir(), 'nqe-keda-check-'));
    binary = join(buildDir, 'keda-check');
    const started = Date.now();
    try {
      // KEDA v2.21 wants a newer Go than the machine may have (GOTOOLCHAIN=auto fetches it); -mod=mod
      // because `go mod tidy` trips on a test-only module of KEDA's that the proxy does not serve.
      execFileSync('go', ['build', '-buildvcs=false', '-o', binary, '.'], {
        cwd: KEDA_CHECK,
        stdio: 'pipe',
        env: { ...process.env, GOTOOLCHAIN: 'auto', GOFLAGS: '-mod=mod' },
      });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`go build in go/keda-check failed (Go and the Go module proxy are needed): ${e.stderr?.toString() ?? e.message}`);
    }
    buildSeconds = (Date.now() - started) / 1000;

    storeDir = mkdtempSync(join(tmpdir(), 'nqe-keda-ft-'));
    const [routeA, routeB] = [await freePort(), await freePort()];
    const ft = (own: number, peer: number) => ['-ft_group', 'ft', '-cluster', `nats://127.0.0.1:${own}`, '-routes', `nats://127.0.0.1:${peer}`];
    active = await startStan({ clusterId: 'ftc', store: 'FILE', dir: storeDir, args: ft(routeA, routeB), waitForStates: ['FT_ACTIVE'] });
    standby = await startStan({ clusterId: 'ftc', store: 'FILE', dir: storeDir, args: ft(routeB, routeA), waitForStates: ['FT_STANDBY'] });
    sc = await eventually(() => connectStan(standby.natsUrl, 'ftc', 'keda-worker'), 20_000);
    worker = new SteadyWorker(sc, FT_QUEUE.subject, FT_QUEUE.group, FT_QUEUE.durable);
    await worker.ready;

    nats = await startNatsServer();
    js = await connectJs(nats.natsUrl);
    await addStream(js.jsm, { name: JS_QUEUE.subject, subjects: ['orders.js'] });
    await addConsumer(js.jsm, JS_QUEUE.subject, { durable_name: JS_QUEUE.durable });

    stanExporter = await startTestExporter(['--server', `ft/a=${active.monitorUrl}`, '--server', `ft/b=${standby.monitorUrl}`]);
    jsExporter = await startTestExporter(['--jetstream', `js=${nats.monitorUrl}`]);
    const target = (url: string) => url.replace(/^http:\/\//, '');
    prometheus = await startPrometheus(
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: nats-queue-exporter
    static_configs:
      - targets: ['${target(stanExporter.url)}', '${target(jsExporter.url)}']
        labels: {namespace: ${NAMESPACE}}
`,
      { 'rules.yml': readRepoFile(RULES_FILE) },
    );

    const rendered = renderScaledObjects(prometheus.url, [
      { deployment: 'ft-worker', queue: FT_QUEUE, messagesPerReplica: PER_REPLICA, minReplicaCount: 0, maxReplicaCount: 30 },
      { deployment: 'js-worker', queue: JS_QUEUE, messagesPerReplica: 50, minReplicaCount: 1, maxReplicaCount: 30 },
      { deployment: 'ft-drain', queue: FT_QUEUE, targetDrainSeconds: 300, messagesPerSecondPerReplica: 2, minReplicaCount: 1, maxReplicaCount: 30 },
    ]);
    for (const [name, object] of rendered) {
      const file = join(buildDir, `${name}.json`);
      writeFileSync(file, JSON.stringify(object));
      objectFiles.set(name, file);
    }
  });

  after(async () => {
    for (const s of scalers) s.stop();
    worker?.stop();
    if (sc) await closeStan(sc).catch(() => undefined);
    await js?.close();
    await prometheus?.stop();
    await stanExporter?.close();
    await jsExporter?.close();
    await Promise.all([active?.stop(), standby?.stop(), nats?.stop()]);
    for (const dir of [storeDir, buildDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`# go build of go/keda-check took ${buildSeconds.toFixed(0)} s\n`);
  });

  function scaler(name: string): Scaler {
    const s = startScaler(binary, objectFiles.get(name)!);
    scalers.push(s);
    return s;
  }

  /** The recorded value of `rule` for the FT queue, once Prometheus has it. */
  async function recorded(rule: string): Promise<number | undefined> {
    const r = await instantQuery(prometheus, `${rule}{namespace="${NAMESPACE}", server="ft", subject="orders", group="workers", durable="d"}`);
    assert.ok(r.result.length <= 1, `${rule}: one series per queue, got ${r.result.length}`);
    return r.result[0]?.value ? Number(r.result[0].value[1]) : undefined;
  }

  /** Polls as the HPA would, feeding each answer back as the current count, until `until` holds. */
  async function follow(s: Scaler, current: number, until: (a: Answer) => boolean, ms: number): Promise<Answer[]> {
    const answers: Answer[] = [];
    const deadline = Date.now() + ms;
    for (;;) {
      const a = await s.poll(current);
      answers.push(a);
      current = a.replicas;
      if (until(a)) return answers;
      assert.ok(Date.now() < deadline, `not reached within ${ms} ms: ${JSON.stringify(answers.slice(-5))}`);
      await sleep(1000);
    }
  }

  test('NATS Streaming FT pair: the count rises with the backlog, falls as it drains (the time to drain within 20% of the drain measured), and stays through a failover', async () => {
    const s = scaler('ft-worker');
    // Once Prometheus has the queue: an empty queue is 0, not an absent series, and needs no worker.
    const first = (await follow(s, 0, (a) => a.metric === 0, 60_000)).at(-1)!;
    assert.equal(first.replicas, 0, `an empty queue, scaled to zero: ${JSON.stringify(first)}`);

    // Grows in three steps of 600: 6, 12, 18 replicas of 100 messages.
    let current = 0;
    const rising: number[] = [];
    for (const step of [1, 2, 3]) {
      for (let i = 0; i < 600; i++) await publish(sc, FT_QUEUE.subject, `job ${step}.${i}`);
      const answers = await follow(s, current, (a) => a.metric === 600 * step, 60_000);
      current = answers.at(-1)!.replicas;
      rising.push(current);
    }
    // One replica per 100 messages (6, 12, 18), as the HPA reaches it: a poll that saw the backlog
    // part-way through a step may settle on a count that the HPA's 10 % tolerance then keeps.
    assert.ok(rising[0]! < rising[1]! && rising[1]! < rising[2]!, `the count rises with the backlog: ${rising}`);
    rising.forEach((replicas, i) => {
      const wanted = (600 * (i + 1)) / 100;
      assert.ok(Math.abs(wanted / replicas - 1) <= 0.1, `one replica per 100 messages, within the HPA's tolerance: ${replicas} for ${wanted}`);
    });

    const drain = await follow(scaler('ft-drain'), 1, (a) => a.metric !== undefined, 30_000);
    assert.ok(drain.at(-1)!.metric! >= 1800 / 300, `the drain-time target asks for the backlog over 300 s plus arrivals: ${JSON.stringify(drain.at(-1))}`);

    // Drains at a steady rate. The estimate is read once the rate window holds only the drain.
    worker.start(ACKS_PER_SECOND);
    const startedDrain = Date.now();
    await sleep(130_000);
    const estimate = await recorded(TIME_TO_DRAIN);
    const estimatedAt = Date.now();
    assert.ok(estimate !== undefined && Number.isFinite(estimate), `a finite time to drain while draining, got ${estimate}`);

    const falling = await follow(s, current, (a) => a.metric === 0, 300_000);
    const counts = falling.map((a) => a.replicas);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i]! <= counts[i - 1]!, `the count never rises while the queue drains: ${counts.join(' ')}`);
    assert.ok(counts.at(-1)! < current, `the count falls: ${counts.join(' ')}`);
    assert.equal(counts.at(-1), 0, 'an empty queue scales to zero (the figures come from a central exporter)');
    const drainedAt = await eventually(async () => {
      assert.equal(await recorded(BACKLOG), 0);
      return Date.now();
    }, 60_000);
    const measured = (drainedAt - estimatedAt) / 1000;
    process.stdout.write(
      `# drained in ${((drainedAt - startedDrain) / 1000).toFixed(0)} s; at ${((estimatedAt - startedDrain) / 1000).toFixed(0)} s the time to drain read ${estimate.toFixed(1)} s, and it took ${measured.toFixed(1)} s\n`,
    );
    assert.ok(
      Math.abs(estimate - measured) <= 0.2 * measured,
      `time to drain ${estimate.toFixed(1)} s, measured ${measured.toFixed(1)} s: more than 20% apart`,
    );
    assert.equal(await recorded(TIME_TO_DRAIN), 0, 'an empty queue drains in 0');
    worker.stop();

    // An FT failover: the standby takes over from the shared store and the count stays.
    for (let i = 0; i < 500; i++) await publish(sc, FT_QUEUE.subject, `failover ${i}`);
    const settled = await follow(s, 0, (a) => a.metric === 500, 60_000);
    assert.equal(settled.at(-1)!.replicas, 5);
    await active.kill();
    const takeover: Answer[] = [];
    for (let i = 0; i < 30; i++) {
      const a = await s.poll(5);
      takeover.push(a);
      assert.equal(a.replicas, 5, `during and after the takeover: ${JSON.stringify(a)}`);
      assert.equal(a.metric, 500, `the same backlog, carried over the takeover and then read from the new active: ${JSON.stringify(a)}`);
      await sleep(1000);
    }
    const r = await fetch(`${standby.monitorUrl}/streaming/serverz`);
    assert.equal(((await r.json()) as { state: string }).state, 'FT_ACTIVE', 'the standby took over');
  });

  test("JetStream: with the exporter down the count stays, through the scaler's error and KEDA's fallback, never 0", async () => {
    await jsPublish(js.js, 'orders.js', 250);
    const s = scaler('js-worker');
    const settled = await follow(s, 1, (a) => a.metric === 250, 60_000);
    assert.equal(settled.at(-1)!.replicas, 5);
    await jsExporter!.close();
    jsExporter = undefined;
    const answers: Answer[] = [];
    // The rules carry the last backlog over an owner change (3 minutes); then the series is absent.
    const deadline = Date.now() + 5 * 60_000;
    while (Date.now() < deadline) {
      const a = await s.poll(5);
      answers.push(a);
      assert.equal(a.replicas, 5, `the count stays while the exporter is down: ${JSON.stringify(a)}`);
      if (answers.filter((x) => x.fallback).length >= 3) break;
      await sleep(2000);
    }
    const errors = answers.filter((a) => a.error);
    assert.ok(errors.length > 0, 'an absent series is an error (ignoreNullValues "false")');
    assert.match(errors[0]!.error!, /the result is empty/);
    assert.ok(
      answers.some((a) => a.fallback),
      "after failureThreshold errors KEDA's fallback answers, with the current count",
    );
  });
});
