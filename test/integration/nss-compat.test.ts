import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ConfigError, parseCli } from '../../src/config.js';
import type { RunningExporter } from '../../src/exporter.js';
import { ExpositionWriter } from '../../src/metrics/exposition.js';
import { writeNssFamilies } from '../../src/metrics/nss-compat.js';
import { buildChannel } from '../../src/model/consumers.js';
import type { Snapshot } from '../../src/model/types.js';
import { NameTable, readChannelsPage } from '../../src/sources/stan/channelsz-reader.js';
import { parseServerz } from '../../src/sources/stan/parse.js';
import { eventually, parseSamples, startTestExporter } from '../../harness/exporter.js';
import { instantQuery, startPrometheus } from '../../harness/prometheus.js';
import { labelsOfKey, type NssSeries as Nss, readNss, seriesKey } from '../../harness/nss-series.js';
import { FILLER_CHANNELS, nssLines, PAGE_LIMIT, SCENARIOS, type ScenarioName, startScenario } from '../../harness/nss-scenarios.js';
import { startPeer } from '../../bench/bench-process.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/nss/', import.meta.url));
const TEXT_FORMAT = 'text/plain; version=0.0.4';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

async function metricsText(exporter: RunningExporter, accept = TEXT_FORMAT): Promise<string> {
  const res = await fetch(`${exporter.url}/metrics`, { headers: { accept } });
  assert.equal(res.status, 200);
  return res.text();
}

interface Serving {
  /** Every path asked for, in order. */
  requests?: string[];
  /** Answer channelsz with 500, as a server in trouble might. */
  failChannelsz?: boolean;
}

/** Serves one recorded node's files at the paths this exporter asks for. */
async function serveRecordedNode(dir: string, node: string, { requests = [], failChannelsz = false }: Serving = {}): Promise<Server> {
  const server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    const url = new URL(req.url ?? '/', 'http://x');
    if (failChannelsz && url.pathname === '/streaming/channelsz') {
      res.writeHead(500).end('recorded server made to fail');
      return;
    }
    let file: string | undefined;
    if (url.pathname === '/streaming/serverz') file = `${node}-serverz.json`;
    else if (url.pathname === '/streaming/storez') file = `${node}-storez.json`;
    else if (url.pathname === '/streaming/channelsz' && url.searchParams.get('subs') === '1' && url.searchParams.get('limit') === String(PAGE_LIMIT)) {
      file = `${node}-channelsz-subs-offset-${url.searchParams.get('offset') ?? '0'}.json`;
    }
    const path = file && `${dir}/${file}`;
    if (!path || !existsSync(path)) {
      res.writeHead(404).end(`no recording for ${req.url}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Replay {
  exporter: RunningExporter;
  /** Our server_id of each node -> the URL the peer was given when it was recorded. */
  serverIds: Map<string, string>;
  /** Each node's URL here, by node name. */
  urls: Map<string, string>;
  peer: Nss;
}

interface ReplayOptions {
  /** The exporter's flags besides the servers; default --nss-compat. */
  args?: string[];
  /** Filled with the paths each node was asked for. */
  requests?: Map<string, string[]>;
  /** Nodes whose channelsz fails. */
  failChannelsz?: ReadonlySet<string>;
}

/** The recorded nodes of a scenario served again, and this exporter reading them. */
async function replay(scenario: ScenarioName, close: Array<() => Promise<void>>, opts: ReplayOptions = {}): Promise<Replay> {
  const dir = `${FIXTURES}${scenario}`;
  const nodes = JSON.parse(readFileSync(`${dir}/nodes.json`, 'utf8')) as Array<{ name: string; url: string }>;
  const serverIds = new Map<string, string>();
  const urls = new Map<string, string>();
  const args = [...(opts.args ?? ['--nss-compat'])];
  for (const node of nodes) {
    const requests: string[] = [];
    opts.requests?.set(node.name, requests);
    const server = await serveRecordedNode(dir, node.name, { requests, failChannelsz: opts.failChannelsz?.has(node.name) ?? false });
    close.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    serverIds.set(url, node.url);
    urls.set(node.name, url);
    // The nodes of a pair or cluster are one logical server here; v0.16.0 had a URL each.
    args.push('--server', `${scenario}/${node.name}=${url}`);
  }
  const exporter = await startTestExporter(args);
  close.push(() => exporter.close());
  return { exporter, serverIds, urls, peer: readNss(readFileSync(`${dir}/peer-metrics.txt`, 'utf8')) };
}

/** The Raft role of each recorded cluster node, as its serverz said. */
function recordedRoles(): Map<string, string> {
  return new Map(['n1', 'n2', 'n3'].map((n) => [n, (JSON.parse(readFileSync(`${FIXTURES}clustered/${n}-serverz.json`, 'utf8')) as { role: string }).role]));
}

/** Series of `ours` that `peer` lacks, after checking every series and header of `peer` is in `ours` with the same value. */
function compare(ours: Nss, peer: Nss): string[] {
  for (const [header, text] of peer.headers) assert.equal(ours.headers.get(header), text, header);
  for (const header of ours.headers.keys()) assert.ok(peer.headers.has(header), `${header}: not a family of v0.16.0`);
  assert.ok(peer.series.size > 0);
  for (const [key, value] of peer.series) assert.equal(ours.series.get(key), value, key);
  return [...ours.series.keys()].filter((key) => !peer.series.has(key));
}

/** Channels of the extra series, when they are all channel or subscription series. */
function channelsOf(keys: readonly string[]): Set<string> {
  return new Set(
    keys.map((key) => {
      const labels = labelsOfKey(key);
      assert.ok(labels['channel'] !== undefined, `${key}: a series v0.16.0 would have had`);
      return labels['channel'];
    }),
  );
}

describe('--nss-compat against the recorded answers of prometheus-nats-exporter v0.16.0', () => {
  const close: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of close.reverse()) await c();
  });

  test('standalone: every series v0.16.0 gave, identical, and those of the channels past its first 1,024', async () => {
    const { exporter, serverIds, peer } = await replay('standalone', close);
    const extra = compare(readNss(await metricsText(exporter), serverIds), peer);
    const page2 = JSON.parse(readFileSync(`${FIXTURES}standalone/server-channelsz-subs-offset-1024.json`, 'utf8')) as { channels: Array<{ name: string }> };
    assert.deepEqual([...channelsOf(extra)].sort(), page2.channels.map((c) => c.name).sort());
    assert.equal(extra.length, 3 * page2.channels.length, 'three channel series each, no subscriptions');
    // The recording holds what these families exist to show: queue groups, durables, offline ones, colons.
    const sub = (labels: Record<string, string>) =>
      [...peer.series.keys()].filter(
        (k) => k.startsWith('nss_chan_subs_pending_count') && Object.entries(labels).every(([n, v]) => k.includes(JSON.stringify([n, v]))),
      );
    assert.equal(
      sub({ queue_name: 'grp', durable_name: 'dur', is_durable: 'true', is_offline: 'true' }).length,
      1,
      'dur:grp:with:colon is cut at the second colon, as v0.16.0 does',
    );
    assert.equal(sub({ queue_name: 'billing:eu', is_durable: 'false' }).length, 1);
    assert.equal(sub({ durable_name: 'audit', is_offline: 'true' }).length, 1);
    assert.equal(sub({ queue_name: 'workers' }).length, 2);
    assert.equal(FILLER_CHANNELS + 2 - PAGE_LIMIT, page2.channels.length);
  });

  test('FT pair: the same series for active and standby (the standby lists no channels)', async () => {
    const { exporter, serverIds, peer } = await replay('ft', close);
    assert.deepEqual(compare(readNss(await metricsText(exporter), serverIds), peer), []);
    const standby = [...serverIds.values()][1]!;
    assert.equal(peer.series.get(seriesKey('nss_server_active', { server_id: standby })), 0);
  });

  test("Raft cluster: the same series for leader and followers, each node's channels from its own pages", async () => {
    const { exporter, serverIds, peer } = await replay('clustered', close);
    assert.deepEqual(compare(readNss(await metricsText(exporter), serverIds), peer), []);
    const roles = [...peer.series.keys()]
      .filter((k) => k.startsWith('nss_chan_last_seq'))
      .map((k) => /"server_role","(\w+)"/.exec(k)![1])
      .sort();
    assert.deepEqual(roles, ['Follower', 'Follower', 'Leader']);
  });

  test('Raft followers are swept, and inboxes read, only with --nss-compat', async () => {
    const roles = recordedRoles();
    const sweeps = async (args: string[]) => {
      const requests = new Map<string, string[]>();
      const { exporter } = await replay('clustered', close, { args, requests });
      const text = await metricsText(exporter);
      return { text, channelsz: new Map([...requests].map(([node, asked]) => [node, asked.filter((p) => p.startsWith('/streaming/channelsz')).length])) };
    };
    const off = await sweeps([]);
    for (const [node, role] of roles) assert.equal(off.channelsz.get(node), role === 'Leader' ? 1 : 0, `${node} (${role}) without --nss-compat`);
    assert.doesNotMatch(off.text, /nss_|_INBOX/);
    const on = await sweeps(['--nss-compat']);
    for (const node of roles.keys()) assert.equal(on.channelsz.get(node), 1, `${node} with --nss-compat`);
    assert.match(on.text, /inbox="_INBOX\./);
    // The queue figures are the leader's alone either way.
    assert.equal(parseSamples(on.text).filter((s) => s.name === 'queue_msgs_pending').length, 1);
  });

  test("a follower whose channelsz fails is down for that scrape; the leader's figures and the other follower stay", async () => {
    const roles = recordedRoles();
    const [broken, healthy] = [...roles].filter(([, role]) => role === 'Follower').map(([n]) => n);
    const { exporter, urls } = await replay('clustered', close, { failChannelsz: new Set([broken!]) });
    const samples = parseSamples(await metricsText(exporter));
    const up = (node: string) => samples.find((s) => s.name === 'stan_up' && s.labels['node'] === node)?.value;
    assert.equal(up(broken!), 0);
    assert.equal(up(healthy!), 1);
    assert.equal(samples.find((s) => s.name === 'queue_server_nodes_up')?.value, 2);
    assert.equal(samples.filter((s) => s.name === 'queue_msgs_pending').length, 1);
    const lastSeq = samples
      .filter((s) => s.name === 'nss_chan_last_seq')
      .map((s) => s.labels['server_id'])
      .sort();
    assert.deepEqual(
      lastSeq,
      [...roles.keys()]
        .filter((n) => n !== broken)
        .map((n) => urls.get(n))
        .sort(),
    );
    assert.equal(samples.filter((s) => s.name.startsWith('nss_') && s.labels['server_id'] === urls.get(broken!)).length, 0);
  });

  test('OpenMetrics: the same sample names; counters not named _total are declared unknown there', async () => {
    const { exporter, serverIds } = await replay('ft', close);
    const om = await metricsText(exporter, OPENMETRICS);
    assert.match(om, /^# TYPE nss_server_bytes_in unknown$/m);
    assert.match(om, /^# TYPE nss_server_bytes counter$/m);
    assert.match(om, /^# TYPE nss_chan_bytes_total gauge$/m);
    const names = (nss: Nss) => [...nss.series.keys()].sort();
    assert.deepEqual(names(readNss(om.replace(/^# EOF\n?$/m, ''), serverIds)), names(readNss(await metricsText(exporter), serverIds)));
  });

  test("a real Prometheus takes them in (OpenMetrics, as it asks) and the queries of v0.16.0's dashboard answer as before", async () => {
    const { exporter } = await replay('clustered', close);
    const prometheus = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s' },
        scrape_configs: [{ job_name: 'nss', static_configs: [{ targets: [new URL(exporter.url).host] }] }],
      }),
    );
    close.push(() => prometheus.stop());
    const value = async (expr: string) => {
      const { result } = await instantQuery(prometheus, expr);
      assert.equal(result.length, 1, `${expr}: ${JSON.stringify(result)}`);
      return Number(result[0]!.value![1]);
    };
    await eventually(async () => assert.equal(await value('count(nss_server_bytes_in)'), 3), 20_000);
    assert.equal(await value('up{job="nss"}'), 1);
    // walkthrough/grafana-nss-dash.json of v0.16.0 divides by the three nodes that each list the channel.
    assert.equal(await value('sum(nss_chan_msgs_total) by (channel) / 3'), 10);
    assert.equal(await value('sum(nss_chan_subs_pending_count{server_role="Leader"})'), 3);
    // Rates need two scrapes; the recorded figures do not move, so they are 0.
    assert.equal(await eventually(() => value('round(sum(rate(nss_server_msgs_total[5m])) by (instance))'), 10_000), 0);
    assert.equal(await value('sum(rate(nss_chan_bytes_total[5m])) by (channel) / 3'), 0);
  });

  test('off by default: no nss_* family', async () => {
    const request = parseCli([], {});
    assert.equal(request.kind === 'run' && request.config.nssCompat, false);
    const on = parseCli([], { NQE_NSS_COMPAT: 'true' });
    assert.equal(on.kind === 'run' && on.config.nssCompat, true);
    const dir = `${FIXTURES}ft`;
    const server = await serveRecordedNode(dir, 'active');
    close.push(() => new Promise((resolve) => server.close(() => resolve())));
    const exporter = await startTestExporter(['--server', `a=http://127.0.0.1:${(server.address() as AddressInfo).port}`]);
    close.push(() => exporter.close());
    const text = await metricsText(exporter);
    assert.match(text, /^stan_channel_messages\{server="a",subject="ft.orders"\} 5$/m);
    assert.doesNotMatch(text, /nss_/);
  });

  /** The recorded standalone server's `orders` channel as the model holds it, one logical server per URL. */
  const recordedSnapshot = (...urls: string[]): Snapshot => {
    const dir = `${FIXTURES}standalone`;
    const page = readChannelsPage(readFileSync(`${dir}/server-channelsz-subs-offset-0.json`), new NameTable(), new NameTable())!;
    const channels = page.channels.filter((c) => c.facts.name === 'orders').map((c) => buildChannel(c.facts, c.subscriptions));
    const info = parseServerz(JSON.parse(readFileSync(`${dir}/server-serverz.json`, 'utf8')));
    const servers = urls.map((url, i) => ({
      name: `s${i}`,
      backend: 'stan' as const,
      nodes: [{ node: `n${i}`, url, durationSeconds: 0, info, checkedPages: 0 }],
      owner: `n${i}`,
      claimers: [`n${i}`],
      channels,
      ageLookups: 0,
    }));
    return { startedAt: 0, clientPending: [], servers };
  };
  const render = async (s: Snapshot, family: string) => {
    const parts: Buffer[] = [];
    const out = new ExpositionWriter('text', (chunk, written) => {
      parts.push(Buffer.from(chunk));
      written();
    });
    await writeNssFamilies(s, out);
    await out.end();
    return parseSamples(Buffer.concat(parts).toString('utf8')).filter((x) => x.name === family);
  };

  test("server_id is the URL's scheme://host:port; URLs that share one keep their path, so their series stay apart", async () => {
    const ids = (await render(recordedSnapshot('http://nats:8222/', 'http://proxy:8222/a', 'http://proxy:8222/b'), 'nss_server_info')).map(
      (x) => x.labels['server_id'],
    );
    assert.deepEqual(ids.sort(), ['http://nats:8222', 'http://proxy:8222/a', 'http://proxy:8222/b']);
  });

  test('a subscription whose client went away between scrapes has its new labels, though its inbox is the same', async () => {
    const snapshot = () => recordedSnapshot('http://nats:8222');
    const before = await render(snapshot(), 'nss_chan_subs_pending_count');
    const later = snapshot();
    later.servers[0]!.channels[0]!.subscriptions[0]!.offline = true;
    const after = await render(later, 'nss_chan_subs_pending_count');
    assert.deepEqual(
      before.map((x) => x.labels['is_offline']),
      ['false', 'false'],
    );
    assert.deepEqual(
      after.map((x) => x.labels['is_offline']),
      ['true', 'false'],
    );
    assert.equal(after[0]!.labels['inbox'], before[0]!.labels['inbox']);
  });

  test('with --subjects auto it is refused, naming both', () => {
    assert.throws(
      () => parseCli(['--nss-compat', '--subjects', 'auto'], {}),
      (err: Error) => err instanceof ConfigError && /--nss-compat and --subjects auto cannot go together/.test(err.message),
    );
  });
});

const PEER = process.env['PROMETHEUS_NATS_EXPORTER'];

describe('--nss-compat against a live prometheus-nats-exporter v0.16.0 (PROMETHEUS_NATS_EXPORTER)', () => {
  for (const name of SCENARIOS) {
    test(name, { skip: PEER ? false : 'set PROMETHEUS_NATS_EXPORTER to a prometheus-nats-exporter v0.16.0 binary to compare live' }, async () => {
      const scenario = await startScenario(name);
      const peer = await startPeer('prometheus-nats-exporter v0.16.0', PEER!, ...scenario.nodes.map((n) => n.server.monitorUrl));
      const ours = await startTestExporter(['--nss-compat', ...scenario.nodes.flatMap((n) => ['--server', `${name}/${n.name}=${n.server.monitorUrl}`])]);
      try {
        await new Promise((r) => setTimeout(r, 1500));
        // Both read the servers within one steady moment: the peer's answer before and after ours agree.
        let compared = false;
        for (let attempt = 0; attempt < 5 && !compared; attempt++) {
          const before = await nssLines(peer.metricsUrl);
          const text = await metricsText(ours);
          if (before !== (await nssLines(peer.metricsUrl))) continue;
          const extra = compare(readNss(text), readNss(before));
          if (name === 'standalone') assert.equal(channelsOf(extra).size, FILLER_CHANNELS + 2 - PAGE_LIMIT);
          else assert.deepEqual(extra, []);
          compared = true;
        }
        assert.ok(compared, 'the servers never held still for two answers of the peer');
      } finally {
        await ours.close();
        await peer.stop();
        await scenario.stop();
      }
    });
  }
});
