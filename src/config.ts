import { parseArgs } from 'node:util';
import { ConfigError } from './config-error.js';
import { loadWebConfig, type WebConfig } from './http/web-config.js';
import type { ListenInput } from './listen-error.js';
import { LOG_LEVELS, type LogLevel } from './log-level.js';
import { SECRET_FILE_MAX_BYTES } from './capped-file.js';
import { type TlsFiles, readInputFile, readTlsFiles, ServerPasswords } from './monitor-access.js';
import { Secret } from './secret.js';
import { patternProblem } from './subjects.js';
import type { Backend, NatsClientTarget, NodeTarget, ServerTarget } from './targets.js';

export { ConfigError };

export interface Config {
  servers: readonly ServerTarget[];
  listen: { host: string; port: number };
  timeoutSeconds: number;
  pageSize: number;
  /** --answer-cap-factor: multiplies the cap of every monitoring answer (src/sources/answer-caps.ts). */
  answerCapFactor: number;
  subjects: readonly string[];
  /** `--subjects auto`: only the channels this pod's probes report (subjects is then empty). */
  subjectsAuto: boolean;
  excludeSubjects: readonly string[];
  /**
   * --detailed-metrics: /metrics serves the detailed families too (the defaults before they were
   * split off); /metrics/detailed serves them either way.
   */
  detailedMetrics: boolean;
  /** What the logger says at warn once it is up: inputs that are accepted and have no effect. */
  warnings: readonly string[];
  /** --nss-compat: also the nss_* families of prometheus-nats-exporter v0.16.0. */
  nssCompat: boolean;
  logLevel: LogLevel;
  /** Where listen came from (--listen or NQE_LISTEN), for the message when it cannot be had. */
  listenInput: ListenInput;
  /** Where workers POST their client-side pending reports; undefined when turned off. */
  probeListen: { host: string; port: number } | undefined;
  probeListenInput: ListenInput;
  probeTtlSeconds: number;
  probeMaxSeries: number;
  /** Most bytes probe reports may take at once: the held ones and the bodies being read together. */
  probeMaxBytes: number;
  /** --web-config: TLS and basic auth for the metrics listener; undefined serves plain http to anyone. */
  webConfig: WebConfig | undefined;
  /** --age-lookups: most publish times read per server and scrape over --nats-url. */
  ageLookups: number;
}

export type CliRequest = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'version' };

interface FlagSpec {
  flag: string;
  env: string;
  /** What the flag takes; a flag without `arg` is a switch. */
  arg?: string;
  /** The flag may be given more than once. */
  multiple?: true;
  fallback: string;
  help: string;
}

/** Every flag with its environment variable: the one list that --help and docs/configuration.md show. */
export const FLAGS: readonly FlagSpec[] = [
  {
    flag: 'server',
    env: 'NQE_SERVERS',
    arg: 'NAME[/NODE]=URL',
    multiple: true,
    fallback: 'local=http://127.0.0.1:8222',
    help: "monitoring base URL of a NATS Streaming server, NAME becomes the server label; the same NAME with several URLs is one FT pair or Raft cluster, whose nodes get the node label NODE (default: the URL's host:port); repeat the flag for more servers or nodes (env: comma-separated list). https:// and user:pass@ are allowed",
  },
  { flag: 'listen', env: 'NQE_LISTEN', arg: 'HOST:PORT', fallback: '0.0.0.0:7778', help: 'address for /metrics, /, /healthz and /readyz' },
  {
    flag: 'jetstream',
    env: 'NQE_JETSTREAM',
    arg: 'NAME[/NODE]=URL',
    multiple: true,
    fallback: '',
    help: 'monitoring base URL of a nats-server with JetStream (-m port), NAME becomes the server label; the same NAME with several URLs is one cluster (give every node: each consumer is read from the node that leads it); repeat the flag for more servers or nodes (env: comma-separated list). Mixes with --server; https:// and user:pass@ are allowed',
  },
  { flag: 'timeout', env: 'NQE_TIMEOUT', arg: 'SECONDS', fallback: '5', help: 'deadline for all requests to one server in one scrape' },
  {
    flag: 'page-size',
    env: 'NQE_PAGE_SIZE',
    arg: 'N',
    fallback: '1024',
    help: 'channels asked for per channelsz request (NATS Streaming), accounts per /jsz request (JetStream); every page is read until total',
  },
  {
    flag: 'answer-cap-factor',
    env: 'NQE_ANSWER_CAP_FACTOR',
    arg: 'FACTOR',
    fallback: '1',
    help: 'multiplies the most bytes read of each monitoring answer (serverz 64 KiB, storez 256 KiB, varz 256 KiB, a channelsz page sized by --page-size and the channels and subscriptions serverz counts, a /jsz page by the streams and consumers at its start); an answer past its cap is cut off and its server is down',
  },
  {
    flag: 'subjects',
    env: 'NQE_SUBJECTS',
    arg: 'PATTERN[,PATTERN]',
    fallback: '',
    help: 'export only channels matching these NATS subject patterns (* and >), or "auto": only the channels the probes of this pod report (sidecar); default all',
  },
  { flag: 'exclude-subjects', env: 'NQE_EXCLUDE_SUBJECTS', arg: 'PATTERN[,PATTERN]', fallback: '', help: 'leave out channels matching these patterns' },
  {
    flag: 'detailed-metrics',
    env: 'NQE_DETAILED_METRICS',
    fallback: 'false',
    help: 'serve the detailed families (the per-subscription stan_subscription_* series, and the per channel, stream and queue families no dashboard, alert or status page reads) on /metrics too, as the defaults were before they were split off; /metrics/detailed serves them either way (env: true or false)',
  },
  {
    flag: 'no-subscription-metrics',
    env: 'NQE_NO_SUBSCRIPTION_METRICS',
    fallback: 'false',
    help: 'no effect, kept so that existing manifests still start: /metrics leaves the per-subscription series out by default now (see --detailed-metrics); logs a warning (env: true or false)',
  },
  {
    flag: 'nss-compat',
    env: 'NQE_NSS_COMPAT',
    fallback: 'false',
    help: "also export the nss_* families of prometheus-nats-exporter v0.16.0 (-channelz -serverz), same names, types, help and labels, for every channel; reads every subscription's inbox and the channels of Raft followers too (env: true or false)",
  },
  {
    flag: 'probe-listen',
    env: 'NQE_PROBE_LISTEN',
    arg: 'HOST:PORT',
    fallback: '127.0.0.1:7779',
    help: 'address for workers to POST /v1/pending (client-side pending reports), or "off"',
  },
  {
    flag: 'probe-ttl',
    env: 'NQE_PROBE_TTL',
    arg: 'SECONDS',
    fallback: '30',
    help: "a client's report counts for this long unless it reports again, so a dead worker's figures vanish",
  },
  {
    flag: 'probe-max-series',
    env: 'NQE_PROBE_MAX_SERIES',
    arg: 'N',
    fallback: '1000',
    help: 'most subscription reports held at once over all clients; a report beyond it is refused with 429',
  },
  {
    flag: 'probe-max-bytes',
    env: 'NQE_PROBE_MAX_BYTES',
    arg: 'BYTES',
    fallback: '12582912',
    help: 'most memory the probe reports may take at once, the ones held and the bodies being read together; a report beyond it is refused with 429 before it is read',
  },
  {
    flag: 'web-config',
    env: 'NQE_WEB_CONFIG',
    arg: 'FILE',
    fallback: '',
    help: 'TLS and basic auth for the metrics listener, in the Prometheus exporter-toolkit web config format (tls_server_config, basic_auth_users, http_server_config.headers, auth_excluded_paths); /healthz and /readyz stay open to basic auth unless auth_excluded_paths says otherwise',
  },
  {
    flag: 'server-ca-file',
    env: 'NQE_SERVER_CA_FILE',
    arg: 'FILE',
    fallback: '',
    help: 'PEM CA certificates that https:// monitoring URLs are checked against, instead of the system CAs (all servers)',
  },
  {
    flag: 'server-cert-file',
    env: 'NQE_SERVER_CERT_FILE',
    arg: 'FILE',
    fallback: '',
    help: 'PEM client certificate shown to https:// monitoring URLs, with --server-key-file (all servers)',
  },
  { flag: 'server-key-file', env: 'NQE_SERVER_KEY_FILE', arg: 'FILE', fallback: '', help: 'PEM private key of --server-cert-file' },
  {
    flag: 'server-insecure-skip-verify',
    env: 'NQE_SERVER_INSECURE_SKIP_VERIFY',
    fallback: 'false',
    help: 'accept any certificate from https:// monitoring URLs (for tests; env: true or false)',
  },
  {
    flag: 'server-password-file',
    env: 'NQE_SERVER_PASSWORD_FILES',
    arg: '[NAME=]FILE',
    multiple: true,
    fallback: '',
    help: "password for a monitoring URL that names a user (https://USER@host:8222): NAME=FILE for server NAME, FILE alone for every such server; repeat the flag for more (env: comma-separated). NQE_SERVER_PASSWORD_<NAME> (NAME in capitals, other characters as _) holds one server's password itself",
  },
  {
    flag: 'nats-url',
    env: 'NQE_NATS_URLS',
    arg: 'NAME=URL',
    multiple: true,
    fallback: '',
    help: 'a NATS client URL (nats://host:4222, tls://..., nats://USER@host:4222) of server NAME (a --server or a --jetstream): the exporter reads the publish time of the oldest waiting message of each queue over it, for an exact queue_oldest_undelivered_age_seconds (without it the age is estimated); repeat for more servers (env: comma-separated)',
  },
  {
    flag: 'nats-password-file',
    env: 'NQE_NATS_PASSWORD_FILES',
    arg: 'NAME=FILE',
    multiple: true,
    fallback: '',
    help: 'the password for the user a --nats-url of server NAME names, read from FILE; repeat for more servers (env: comma-separated)',
  },
  {
    flag: 'nats-token-file',
    env: 'NQE_NATS_TOKEN_FILES',
    arg: 'NAME=FILE',
    multiple: true,
    fallback: '',
    help: 'an authentication token for the --nats-url of server NAME, read from FILE; repeat for more servers (env: comma-separated)',
  },
  {
    flag: 'nats-ca-file',
    env: 'NQE_NATS_CA_FILE',
    arg: 'FILE',
    fallback: '',
    help: 'PEM CA certificates that tls:// --nats-url servers are checked against (all servers)',
  },
  {
    flag: 'nats-cert-file',
    env: 'NQE_NATS_CERT_FILE',
    arg: 'FILE',
    fallback: '',
    help: 'PEM client certificate shown to --nats-url servers, with --nats-key-file (all servers)',
  },
  { flag: 'nats-key-file', env: 'NQE_NATS_KEY_FILE', arg: 'FILE', fallback: '', help: 'PEM private key of --nats-cert-file' },
  {
    flag: 'age-lookups',
    env: 'NQE_AGE_LOOKUPS',
    arg: 'N',
    fallback: '5',
    help: 'most publish times read over --nats-url per server and scrape, those the publish history cannot place first; the rest are estimated until a later scrape reads theirs (each costs a NATS Streaming server about 50 ms of CPU at 10,000 channels)',
  },
  { flag: 'log-level', env: 'NQE_LOG_LEVEL', arg: 'LEVEL', fallback: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
];

export function helpText(): string {
  const lines = [
    'Usage: nats-queue-exporter [--server NAME=URL ...] [--jetstream NAME=URL ...] [flags]',
    '',
    'Exports the queues of NATS Streaming (channels, queue groups, subscriptions) and JetStream (streams, consumers) as Prometheus metrics.',
    '',
    'Flags (each also read from the environment variable shown; a flag wins over its variable):',
  ];
  for (const f of FLAGS) {
    const name = `--${f.flag}${f.arg ? ` ${f.arg}` : ''}`;
    const fallback = f.fallback === '' || f.fallback === 'false' ? '' : ` (default ${f.fallback})`;
    lines.push(`  ${name}`, `      ${f.help}${fallback}. Env: ${f.env}`);
  }
  lines.push('  --help', '      print this help and exit', '  --version', '      print the version and exit');
  return lines.join('\n') + '\n';
}

type Source = { text: string; from: string };

/** One `--server` or `--jetstream` entry, before nodes are grouped into logical servers. */
interface ServerEntry extends NodeTarget {
  backend: Backend;
  /** The entry as given, credentials hidden, for messages that name it. */
  given: string;
}

/** The flag of each backend, for messages. */
const BACKEND_FLAG: Readonly<Record<Backend, string>> = { stan: 'server', jetstream: 'jetstream' };
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

function parseServer(raw: string, from: string, backend: Backend, passwords: ServerPasswords): ServerEntry {
  const eq = raw.indexOf('=');
  const example = `write NAME=http://host:8222 (or NAME/NODE=http://host:8222), e.g. --${BACKEND_FLAG[backend]} prod-a=http://nats-a:8222`;
  if (eq <= 0) throw new ConfigError(`${from} "${raw}": missing NAME=; ${example}`);
  const label = raw.slice(0, eq).trim();
  const urlText = raw.slice(eq + 1).trim();
  const slash = label.indexOf('/');
  const name = slash < 0 ? label : label.slice(0, slash);
  const nodeName = slash < 0 ? undefined : label.slice(slash + 1);
  if (!NAME_PATTERN.test(name)) {
    throw new ConfigError(`${from} "${redactUrlText(raw)}": NAME "${name}" may hold only letters, digits, ".", "_", ":" and "-"; ${example}`);
  }
  if (nodeName !== undefined && !NAME_PATTERN.test(nodeName)) {
    throw new ConfigError(`${from} "${redactUrlText(raw)}": NODE "${nodeName}" may hold only letters, digits, ".", "_", ":" and "-"; ${example}`);
  }
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new ConfigError(`${from} "${label}=...": "${redactUrlText(urlText)}" is not a URL; ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${from} "${label}=...": the URL must start with http:// or https:// (the monitoring port, not nats://); ${example}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${from} "${label}=...": the URL must be the monitoring base URL without ?query or #fragment; ${example}`);
  }
  if (/(^|\/)(streaming|jsz)(\/|$)/.test(url.pathname)) {
    throw new ConfigError(
      `${from} "${label}=...": the URL's path ${url.pathname} is a page of the monitoring API, which the exporter adds itself; give the monitoring port's root, e.g. http://${url.host}`,
    );
  }
  let authorization: Secret | undefined;
  if (url.username !== '' || url.password !== '') {
    const given = `${from} "${label}=${redactUrlText(urlText)}"`;
    const user = decodeUserinfo(url.username, 'user', given);
    const pass = passwords.forServer(name, url.password === '' ? undefined : decodeUserinfo(url.password, 'password', given), from);
    authorization = new Secret(`Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`);
    url.username = '';
    url.password = '';
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const entry: ServerEntry = { server: name, node: nodeName ?? url.host, url: base, backend, given: `${from} "${label}=${base}"` };
  if (authorization !== undefined) entry.authorization = authorization;
  return entry;
}

/**
 * Entries with the same NAME become the nodes of one logical server, in the order given. A URL
 * given twice, under one NAME or two, a node name given twice in one server, and one NAME for a
 * --server and a --jetstream are refused.
 */
function groupServers(entries: readonly ServerEntry[]): ServerTarget[] {
  const byUrl = new Map<string, ServerEntry>();
  const byName = new Map<string, NodeTarget[]>();
  const firstOf = new Map<string, ServerEntry>();
  for (const entry of entries) {
    const sameUrl = byUrl.get(entry.url);
    if (sameUrl) {
      throw new ConfigError(
        `${sameUrl.given} and ${entry.given} name the same monitoring URL: give each node once, under the NAME of the server it belongs to`,
      );
    }
    byUrl.set(entry.url, entry);
    const first = firstOf.get(entry.server) ?? entry;
    if (first.backend !== entry.backend) {
      throw new ConfigError(
        `${first.given} and ${entry.given} give one NAME to a NATS Streaming server and a JetStream server: the server label must tell them apart, so give them different NAMEs`,
      );
    }
    firstOf.set(entry.server, first);
    const nodes = byName.get(entry.server) ?? [];
    const sameNode = nodes.find((n) => n.node === entry.node);
    if (sameNode) {
      throw new ConfigError(
        `${entry.given}: server "${entry.server}" has a node "${entry.node}" already (${sameNode.url}); name the nodes apart with NAME/NODE=URL`,
      );
    }
    const { given: _given, backend: _backend, ...node } = entry;
    nodes.push(Object.freeze(node));
    byName.set(entry.server, nodes);
  }
  return [...byName].map(([name, nodes]) => Object.freeze({ name, backend: firstOf.get(name)!.backend, nodes: Object.freeze(nodes) }));
}

/** `NAME=FILE` entries of a per-server file flag, read into secrets by server NAME. */
function secretsByServer(entries: readonly Source[], names: ReadonlySet<string>, what: string, flag: string): Map<string, { secret: Secret; from: string }> {
  const found = new Map<string, { secret: Secret; from: string }>();
  for (const src of entries) {
    const eq = src.text.indexOf('=');
    const name = eq > 0 ? src.text.slice(0, eq).trim() : '';
    const file = src.text.slice(eq + 1).trim();
    if (eq <= 0 || file === '') throw new ConfigError(`${src.from} "${src.text}": write NAME=FILE, e.g. ${flag} prod=/run/secrets/nats`);
    if (!names.has(name))
      throw new ConfigError(`${src.from} ${name}=...: there is no --nats-url for a server named "${name}"; give --nats-url ${name}=nats://host:4222 first`);
    if (found.has(name)) throw new ConfigError(`${src.from}: server "${name}" is given two ${what} files; give one`);
    const text = readInputFile({ text: file, from: src.from }, `file holding the ${what}`, SECRET_FILE_MAX_BYTES)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (text === '') throw new ConfigError(`${src.from} ${file}: the file is empty; write the ${what} into it`);
    found.set(name, { secret: new Secret(text), from: src.from });
  }
  return found;
}

/** Adds each `--nats-url NAME=URL` (with its password, token and TLS) to the server of that NAME. */
function withNatsClients(
  servers: ServerTarget[],
  input: { urls: Source[]; passwordFiles: Source[]; tokenFiles: Source[]; tls: TlsFiles | undefined },
): ServerTarget[] {
  const example = 'write NAME=nats://host:4222 with the NAME of a --server or --jetstream, e.g. --nats-url prod=nats://nats-a:4222';
  const clients = new Map<string, NatsClientTarget>();
  for (const src of input.urls) {
    const eq = src.text.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${src.from} "${redactUrlText(src.text)}": missing NAME=; ${example}`);
    const name = src.text.slice(0, eq).trim();
    if (!servers.some((s) => s.name === name))
      throw new ConfigError(`${src.from} "${name}=...": there is no --server named "${name}", nor a --jetstream; ${example}`);
    if (clients.has(name))
      throw new ConfigError(
        `${src.from} "${name}=...": server "${name}" has a --nats-url already; give one per server (a NATS client reaches the whole cluster from one URL)`,
      );
    let url: URL;
    try {
      url = new URL(src.text.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(`${src.from} "${name}=...": "${redactUrlText(src.text.slice(eq + 1).trim())}" is not a URL; ${example}`);
    }
    if (!['nats:', 'tls:'].includes(url.protocol))
      throw new ConfigError(`${src.from} "${name}=...": the URL must start with nats:// or tls:// (the client port, not the monitoring port); ${example}`);
    const client: NatsClientTarget = { server: name, url: `${url.protocol}//${url.host}` };
    const given = `${src.from} "${name}=${redactUrlText(src.text.slice(eq + 1).trim())}"`;
    if (url.username !== '') client.user = decodeUserinfo(url.username, 'user', given);
    if (url.password !== '') client.password = new Secret(decodeUserinfo(url.password, 'password', given));
    if (input.tls) client.tls = input.tls;
    clients.set(name, client);
  }
  const named = new Set(clients.keys());
  for (const [name, { secret, from }] of secretsByServer(input.passwordFiles, named, 'password', '--nats-password-file')) {
    const client = clients.get(name)!;
    if (client.user === undefined)
      throw new ConfigError(`${from} ${name}=...: the --nats-url of server "${name}" names no user; write it as nats://USER@host:4222`);
    if (client.password !== undefined)
      throw new ConfigError(`${from} ${name}=...: the --nats-url of server "${name}" holds a password already; keep one (the file is safer)`);
    client.password = secret;
  }
  for (const [name, { secret }] of secretsByServer(input.tokenFiles, named, 'token', '--nats-token-file')) clients.get(name)!.token = secret;
  if (input.tls && clients.size === 0)
    throw new ConfigError('--nats-ca-file, --nats-cert-file and --nats-key-file apply to --nats-url connections, and no --nats-url is given');
  return servers.map((s) => {
    const client = clients.get(s.name);
    return client ? Object.freeze({ ...s, natsClient: Object.freeze(client) }) : s;
  });
}

/** The user or password of a URL, percent-decoded; `given` names the flag and the URL without its credentials. */
function decodeUserinfo(encoded: string, part: 'user' | 'password', given: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ConfigError(
      `${given}: the ${part} in the URL holds a "%" that is not valid percent-encoding; percent-encode the ${part}: % is %25 (and @ is %40, : is %3A)`,
    );
  }
}

/** Hides user:pass@ in a URL-like text that did not parse. */
function redactUrlText(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}

function parseListen(src: Source, examples = 'e.g. 0.0.0.0:7778 or [::]:7778'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(src.text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${src.from} "${src.text}": write HOST:PORT with a port from 0 to 65535, ${examples}`);
  }
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!), port };
}

function parseNumber(src: Source, opts: { integer: boolean; min: number; max: number; example: string }): number {
  const value = Number(src.text);
  const ok = src.text.trim() !== '' && Number.isFinite(value) && (!opts.integer || Number.isInteger(value));
  if (!ok || value < opts.min || value > opts.max) {
    const kind = opts.integer ? 'a whole number' : 'a number';
    throw new ConfigError(`${src.from} "${src.text}": must be ${kind} from ${opts.min} to ${opts.max}, e.g. ${opts.example}`);
  }
  return value;
}

function parsePatterns(src: Source): string[] {
  if (src.text.trim() === '') return [];
  return src.text.split(',').map((p) => {
    const pattern = p.trim();
    const problem = patternProblem(pattern);
    if (problem !== undefined) {
      throw new ConfigError(
        `${src.from} "${src.text}": pattern "${pattern}" ${problem}; write NATS subject patterns separated by commas, e.g. orders.>,jobs.*`,
      );
    }
    return pattern;
  });
}

function parseBoolean(src: Source): boolean {
  const t = src.text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no' || t === '') return false;
  throw new ConfigError(`${src.from} "${src.text}": write true or false`);
}

function rephraseParseError(err: unknown): ConfigError {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const option = /'(-[^']*)'/.exec(message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ConfigError(`unknown flag ${option ?? ''}: see nats-queue-exporter --help for the flags`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /--([a-z-]+)/.exec(message)?.[1];
      const spec = FLAGS.find((f) => f.flag === flag);
      if (spec?.arg)
        return new ConfigError(`--${spec.flag} needs a value: write --${spec.flag} ${spec.arg} (or --${spec.flag}=VALUE for a value that starts with "-")`);
      return new ConfigError(`${flag ? `--${flag}` : 'a flag'} takes no value: write it alone`);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ConfigError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}: servers are given as --server NAME=URL`);
    default:
      return new ConfigError(message);
  }
}

/**
 * Reads flags and environment into one validated, frozen Config. A flag wins over its
 * environment variable; both lose to nothing else. Throws ConfigError naming the input.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const f of FLAGS) options[f.flag] = f.arg ? { type: 'string', multiple: f.multiple === true } : { type: 'boolean' };
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  try {
    values = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw rephraseParseError(err);
  }
  if (values['help']) return { kind: 'help' };
  if (values['version']) return { kind: 'version' };

  /** The flag's value, else its environment variable, else its default; `from` names which. */
  const pick = (flag: string): Source => {
    const spec = FLAGS.find((f) => f.flag === flag)!;
    const value = values[flag];
    if (typeof value === 'string') return { text: value, from: `--${flag}` };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return { text: fromEnv, from: spec.env };
    return { text: spec.fallback, from: `--${flag}` };
  };
  /** Where a switch was turned on (the flag, or its environment variable saying true), if it was. */
  const switchedOn = (flag: string): Source | undefined => {
    if (values[flag] === true) return { text: 'true', from: `--${flag}` };
    const src = pick(flag);
    return parseBoolean(src) ? src : undefined;
  };
  /** Every value of a flag that may be repeated. */
  const repeated = (flag: string): string[] => (values[flag] as string[] | undefined) ?? [];

  const optional = (flag: string): Source | undefined => {
    const src = pick(flag);
    return src.text.trim() === '' ? undefined : src;
  };
  /** Every value of a repeatable flag, else the comma-separated items of its variable. */
  const listOf = (flag: string): Source[] => {
    if (repeated(flag).length > 0) return repeated(flag).map((text) => ({ text, from: `--${flag}` }));
    const src = optional(flag);
    return (src?.text.split(',') ?? []).filter((t) => t.trim() !== '').map((text) => ({ text: text.trim(), from: src!.from }));
  };
  const passwords = new ServerPasswords(listOf('server-password-file'), env);

  /** The entries of --server or --jetstream: the repeated flag, else its comma-separated variable. */
  const entriesOf = (flag: string, backend: Backend): ServerEntry[] => {
    if (repeated(flag).length > 0) return repeated(flag).map((s) => parseServer(s, `--${flag}`, backend, passwords));
    const spec = FLAGS.find((f) => f.flag === flag)!;
    const text = env[spec.env];
    if (text === undefined || text === '') return [];
    const src = { text, from: spec.env };
    return src.text
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => parseServer(s.trim(), src.from, backend, passwords));
  };
  const jetstreamEntries = entriesOf('jetstream', 'jetstream');
  let stanEntries = entriesOf('server', 'stan');
  // The default STAN server only when no server of either kind is given.
  if (stanEntries.length === 0 && jetstreamEntries.length === 0) {
    const src = pick('server');
    stanEntries = src.text
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => parseServer(s.trim(), src.from, 'stan', passwords));
    if (stanEntries.length === 0) throw new ConfigError(`${src.from} is empty: write NAME=URL[,NAME=URL], e.g. prod-a=http://nats-a:8222`);
  }
  let entries = [...stanEntries, ...jetstreamEntries];
  passwords.checkAllUsed(entries);

  const monitorTls = readTlsFiles({
    ca: optional('server-ca-file'),
    cert: optional('server-cert-file'),
    key: optional('server-key-file'),
    insecure: switchedOn('server-insecure-skip-verify'),
  });
  if (monitorTls) {
    if (!entries.some((s) => s.url.startsWith('https:'))) {
      throw new ConfigError(
        '--server-ca-file, --server-cert-file, --server-key-file and --server-insecure-skip-verify apply to https:// monitoring URLs, and no --server URL starts with https:// (nor any --jetstream URL)',
      );
    }
    entries = entries.map((s) => (s.url.startsWith('https:') ? { ...s, tls: monitorTls } : s));
  }
  const servers = withNatsClients(groupServers(entries), {
    urls: listOf('nats-url'),
    passwordFiles: listOf('nats-password-file'),
    tokenFiles: listOf('nats-token-file'),
    tls: readTlsFiles(
      { ca: optional('nats-ca-file'), cert: optional('nats-cert-file'), key: optional('nats-key-file') },
      { cert: '--nats-cert-file', key: '--nats-key-file' },
    ),
  });
  const webConfigSrc = optional('web-config');

  const logLevel = pick('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel.text)) {
    throw new ConfigError(`${logLevel.from} "${logLevel.text}": write one of ${LOG_LEVELS.join(', ')}`);
  }

  const subjects = pick('subjects');
  const subjectsAuto = subjects.text.trim() === 'auto';
  if (!subjectsAuto && subjects.text.split(',').some((p) => p.trim() === 'auto')) {
    throw new ConfigError(
      `${subjects.from} "${subjects.text}": "auto" cannot be combined with patterns; write --subjects auto alone (and --exclude-subjects PATTERN to leave channels out) or patterns only`,
    );
  }
  const probeListenSrc = pick('probe-listen');
  const probeListen =
    probeListenSrc.text.trim() === 'off' ? undefined : Object.freeze(parseListen(probeListenSrc, 'e.g. 127.0.0.1:7779 (reachable from the pod only), or off'));
  /** Where a listener's address came from, for ListenError. */
  const listenInput = (flag: string, src: Source): ListenInput => {
    const spec = FLAGS.find((f) => f.flag === flag)!;
    return { flag: `--${flag}`, env: spec.env, fromEnv: src.from === spec.env };
  };
  const listenSrc = pick('listen');
  const nssCompat = switchedOn('nss-compat');
  if (subjectsAuto && nssCompat) {
    throw new ConfigError(
      `${nssCompat.from} and ${subjects.from} auto cannot go together: the nss_* families are a central exporter's view of every channel, a sidecar reads only its pod's; run --nss-compat in a central exporter without --subjects auto`,
    );
  }
  const warnings: string[] = [];
  const noSubscriptionMetrics = switchedOn('no-subscription-metrics');
  if (noSubscriptionMetrics) {
    warnings.push(
      `${noSubscriptionMetrics.from} has no effect and can be removed: leaving the per-subscription stan_subscription_* series out of /metrics is the default now (they are on /metrics/detailed; --detailed-metrics puts them back on /metrics)`,
    );
  } else if (pick('no-subscription-metrics').from === 'NQE_NO_SUBSCRIPTION_METRICS') {
    warnings.push(
      `NQE_NO_SUBSCRIPTION_METRICS "${env['NQE_NO_SUBSCRIPTION_METRICS']}" has no effect and can be removed: the per-subscription stan_subscription_* series are on /metrics/detailed, and on /metrics only with --detailed-metrics (NQE_DETAILED_METRICS=true)`,
    );
  }
  if (subjectsAuto && probeListen === undefined) {
    throw new ConfigError(
      `${subjects.from} auto takes its channels from probe reports, but ${probeListenSrc.from} is off: give --probe-listen HOST:PORT, or name the subjects`,
    );
  }

  const config: Config = {
    servers: Object.freeze(servers),
    listen: Object.freeze(parseListen(listenSrc)),
    listenInput: Object.freeze(listenInput('listen', listenSrc)),
    timeoutSeconds: parseNumber(pick('timeout'), { integer: false, min: 0.001, max: 300, example: '--timeout 5' }),
    pageSize: parseNumber(pick('page-size'), { integer: true, min: 1, max: 1_000_000, example: '--page-size 1024' }),
    answerCapFactor: parseNumber(pick('answer-cap-factor'), { integer: false, min: 1, max: 1000, example: '--answer-cap-factor 4' }),
    subjects: Object.freeze(subjectsAuto ? [] : parsePatterns(subjects)),
    subjectsAuto,
    excludeSubjects: Object.freeze(parsePatterns(pick('exclude-subjects'))),
    detailedMetrics: switchedOn('detailed-metrics') !== undefined,
    warnings: Object.freeze(warnings),
    nssCompat: nssCompat !== undefined,
    logLevel: logLevel.text as LogLevel,
    probeListen,
    probeListenInput: Object.freeze({ ...listenInput('probe-listen', probeListenSrc), probe: true as const }),
    probeTtlSeconds: parseNumber(pick('probe-ttl'), { integer: false, min: 0.1, max: 86_400, example: '--probe-ttl 30' }),
    probeMaxSeries: parseNumber(pick('probe-max-series'), { integer: true, min: 1, max: 1_000_000, example: '--probe-max-series 1000' }),
    probeMaxBytes: parseNumber(pick('probe-max-bytes'), { integer: true, min: 8 * 1024 * 1024, max: 2 ** 40, example: '--probe-max-bytes 33554432 (32 MiB)' }),
    webConfig: webConfigSrc && loadWebConfig(webConfigSrc.text, webConfigSrc.from),
    ageLookups: parseNumber(pick('age-lookups'), { integer: true, min: 0, max: 10_000, example: '--age-lookups 5' }),
  };
  return { kind: 'run', config: Object.freeze(config) };
}
