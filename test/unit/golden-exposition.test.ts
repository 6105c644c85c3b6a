import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mock, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestExporter } from '../../harness/exporter.js';
import { jetStreamRecording, type Recording, recordedText, serveRecorded, stanRecording } from '../../harness/recorded-monitor.js';

/**
 * The golden exposition: /metrics and /metrics/detailed of the real exporter reading the recorded
 * pages of each scenario (test/fixtures, served again on 127.0.0.1), compared with
 * test/golden/SCENARIO.txt and SCENARIO.detailed.txt. A changed name, help text, label or value
 * shows as a diff here. After an intended change, regenerate with `npm run golden:update` and
 * review the diff of test/golden/. With --detailed-metrics, /metrics is the two together.
 *
 * What changes from run to run is written so that it does not (the rules of `stable` below):
 * - the clock is the recorded `now` of the scenario's pages (Date is mocked), so ages are those
 *   of the moment of recording;
 * - each node's URL, `127.0.0.1:` and a free port, is written `NODE:8222`;
 * - process_* and nodejs_* families keep their HELP and TYPE lines, without samples (they
 *   describe this test's process);
 * - nats_queue_exporter_scrape_duration_seconds samples keep their labels, their value is
 *   written DURATION;
 * - nats_queue_exporter_build_info's version label is written VERSION (it changes with every release).
 * - nats_queue_exporter_scrape_cache_bytes is written BYTES (it depends on the scrapes before).
 */

const GOLDEN = fileURLToPath(new URL('../../../test/golden/', import.meta.url));
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

interface Node {
  flag: '--server' | '--jetstream';
  /** NAME/NODE, as given to the flag. */
  name: string;
  recording: Recording;
}

interface Scenario {
  name: string;
  /** A recorded page whose `now` is the clock of the scenario. */
  clockFrom: string;
  nodes: Node[];
  args?: string[];
}

const stanNode = (name: string, dir: string, node: string): Node => ({
  flag: '--server',
  name,
  recording: stanRecording(`${dir}${node}-`, (offset) => `${dir}${node}-channelsz-subs-offset-${offset}.json`),
});
const jetStreamNode = (name: string, prefix: string): Node => ({ flag: '--jetstream', name, recording: jetStreamRecording(prefix) });
const ftPair = ['active', 'standby'].map((node) => stanNode(`ft/${node}`, 'nss/ft/', node));
const raftCluster = ['n1', 'n2', 'n3'].map((node) => stanNode(`raft/${node}`, 'nss/clustered/', node));
const standalone: Node = {
  flag: '--server',
  name: 'standalone/server',
  recording: stanRecording('standalone/', (offset) => (offset === 0 ? 'standalone/channelsz-subs.json' : '')),
};

const SCENARIOS: Scenario[] = [
  { name: 'stan-standalone', clockFrom: 'standalone/serverz.json', nodes: [standalone] },
  { name: 'stan-ft', clockFrom: 'nss/ft/active-serverz.json', nodes: ftPair },
  { name: 'stan-raft', clockFrom: 'nss/clustered/n1-serverz.json', nodes: raftCluster },
  { name: 'jetstream-standalone', clockFrom: 'jetstream/standalone/jsz-offset-0-limit-1024.json', nodes: [jetStreamNode('js/server', 'standalone/')] },
  {
    name: 'jetstream-cluster',
    clockFrom: 'jetstream/cluster/n1-jsz-offset-0-limit-1024.json',
    nodes: ['n1', 'n2', 'n3'].map((node) => jetStreamNode(`jscluster/${node}`, `cluster/${node}-`)),
  },
  { name: 'nss-compat', clockFrom: 'nss/clustered/n1-serverz.json', nodes: [standalone, ...ftPair, ...raftCluster], args: ['--nss-compat'] },
];

/** The exposition with what changes from run to run written as the rules above say. */
function stable(text: string, ports: Map<string, string>): string {
  const out: string[] = [];
  for (let line of text.split('\n')) {
    if (/^(process|nodejs)_/.test(line)) continue;
    line = line.replace(/127\.0\.0\.1:(\d+)/g, (all, port: string) => (ports.has(port) ? `${ports.get(port)}:8222` : all));
    if (line.startsWith('nats_queue_exporter_scrape_duration_seconds{')) line = line.replace(/ \S+$/, ' DURATION');
    if (line.startsWith('nats_queue_exporter_build_info{')) line = line.replace(/version="[^"]*"/, 'version="VERSION"');
    if (line.startsWith('nats_queue_exporter_scrape_cache_bytes ')) line = line.replace(/ \S+$/, ' BYTES');
    out.push(line);
  }
  return out.join('\n');
}

/** The lines that differ, as a unified diff does (- expected, + actual, with line numbers), for a readable failure. */
function diff(expected: string, actual: string): string {
  const want = expected.split('\n');
  const got = actual.split('\n');
  // Longest common subsequence of lines, from the end.
  const common = Array.from({ length: want.length + 1 }, () => new Uint32Array(got.length + 1));
  for (let i = want.length - 1; i >= 0; i--) {
    for (let j = got.length - 1; j >= 0; j--)
      common[i]![j] = want[i] === got[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
  }
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < want.length || j < got.length) {
    if (i < want.length && j < got.length && want[i] === got[j]) {
      i++;
      j++;
    } else if (i < want.length && (j === got.length || common[i + 1]![j]! >= common[i]![j + 1]!)) {
      lines.push(`-${i + 1}: ${want[i++]}`);
    } else {
      lines.push(`+${j + 1}: ${got[j++]}`);
    }
  }
  return lines.join('\n');
}

/** Compares `actual` with test/golden/`file`, or writes it there with UPDATE_GOLDEN=1. */
function checkGolden(path: string, file: string, actual: string): void {
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(`${GOLDEN}${file}`, actual);
    return;
  }
  const expected = readFileSync(`${GOLDEN}${file}`, 'utf8');
  if (actual !== expected)
    assert.fail(`${path} differs from test/golden/${file} (after an intended change: npm run golden:update, and review the diff):\n${diff(expected, actual)}`);
}

/** The exposition's lines that are neither empty nor an OpenMetrics # EOF. */
const linesOf = (text: string): string[] => text.split('\n').filter((line) => line !== '' && line !== '# EOF');

for (const scenario of SCENARIOS) {
  test(`golden exposition: ${scenario.name}`, async (t) => {
    const now = Date.parse((JSON.parse(recordedText(scenario.clockFrom)) as { now: string }).now);
    mock.timers.enable({ apis: ['Date'], now });
    t.after(() => mock.timers.reset());
    const served = await Promise.all(scenario.nodes.map((node) => serveRecorded(node.recording)));
    t.after(() => Promise.all(served.map((s) => s.close())));
    const ports = new Map(served.map((s, i) => [new URL(s.url).port, scenario.nodes[i]!.name.split('/')[1]!]));
    const args = [...scenario.nodes.flatMap((node, i) => [node.flag, `${node.name}=${served[i]!.url}`]), ...(scenario.args ?? [])];
    const exporter = await startTestExporter(args);
    t.after(() => exporter.close());
    const withDetailed = await startTestExporter([...args, '--detailed-metrics']);
    t.after(() => withDetailed.close());
    const get = async (url: string): Promise<string> => {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      return stable(await res.text(), ports);
    };
    // Asked for at once, both answers come from one collection.
    const [metrics, detailed] = await Promise.all([get(`${exporter.url}/metrics`), get(`${exporter.url}/metrics/detailed`)]);
    checkGolden('/metrics', `${scenario.name}.txt`, metrics);
    checkGolden('/metrics/detailed', `${scenario.name}.detailed.txt`, detailed);

    // --detailed-metrics: /metrics is the default families and the detailed ones, each in its order (the defaults before the split).
    const union = linesOf(await get(`${withDetailed.url}/metrics`));
    const defaults = new Set(linesOf(metrics));
    const detailedLines = new Set(linesOf(detailed));
    assert.deepEqual(
      union.filter((line) => !defaults.has(line) && !detailedLines.has(line)),
      [],
      'lines of /metrics with --detailed-metrics that neither endpoint has without it',
    );
    assert.deepEqual(
      union.filter((line) => defaults.has(line)),
      linesOf(metrics),
    );
    assert.deepEqual(
      union.filter((line) => detailedLines.has(line)),
      linesOf(detailed),
    );
  });
}
