import { parseArgs } from 'node:util';
import { ConfigError } from './config-error.js';
import { loadWebConfig, type WebConfig } from './http/web-config.js';
import { type MonitorTls, readMonitorTls, ServerPasswords } from './monitor-access.js';
import { patternProblem } from './subjects.js';

export { ConfigError };

export interface ServerTarget {
  /** The `server` label. */
  name: string;
  /** Monitoring base URL without credentials and without a trailing slash. */
  url: string;
  /** Value of the Authorization header when the URL names a user (password from the URL, a file or env). */
  authorization?: string;
  /** Set on https:// targets when a --server-ca/cert/key/insecure flag is given. */
  tls?: MonitorTls;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  servers: readonly ServerTarget[];
  listen: { host: string; port: number };
  timeoutSeconds: number;
  pageSize: number;
  /** --answer-cap-factor: multiplies the cap of every monitoring answer (src/sources/stan/answer-caps.ts). */
  answerCapFactor: number;
  subjects: readonly string[];
  /** `--subjects auto`: only the channels this pod's probes report (subjects is then empty). */
  subjectsAuto: boolean;
  excludeSubjects: readonly string[];
  subscriptionMetrics: boolean;
  logLevel: LogLevel;
  /** Where workers POST their client-side pending reports; undefined when turned off. */
  probeListen: { host: string; port: number } | undefined;
  probeTtlSeconds: number;
  probeMaxSeries: number;
  /** Most bytes probe reports may take at once: the held ones and the bodies being read together. */
  probeMaxBytes: number;
  /** --web-config: TLS and basic auth for the metrics listener; undefined serves plain http to anyone. */
  webConfig: WebConfig | undefined;
}

export type CliRequest = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'version' };

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

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

/** Every flag with its environment variable: the one list that --help and the README show. */
export const FLAGS: readonly FlagSpec[] = [
  { flag: 'server', env: 'NQE_SERVERS', arg: 'NAME=URL', multiple: true, fallback: 'local=http://127.0.0.1:8222',
    help: 'monitoring base URL of a NATS Streaming server, NAME becomes the server label; repeat the flag for more servers (env: comma-separated list). https:// and user:pass@ are allowed' },
  { flag: 'listen', env: 'NQE_LISTEN', arg: 'HOST:PORT', fallback: '0.0.0.0:7778', help: 'address for /metrics, /, /healthz and /readyz' },
  { flag: 'timeout', env: 'NQE_TIMEOUT', arg: 'SECONDS', fallback: '5', help: 'deadline for all requests to one server in one scrape' },
  { flag: 'page-size', env: 'NQE_PAGE_SIZE', arg: 'N', fallback: '1024', help: 'channels asked for per channelsz request; every page is read until total' },
  { flag: 'answer-cap-factor', env: 'NQE_ANSWER_CAP_FACTOR', arg: 'FACTOR', fallback: '1', help: 'multiplies the most bytes read of each monitoring answer (serverz 64 KiB, storez 256 KiB, a channelsz page sized by --page-size and the channels and subscriptions serverz counts); an answer past its cap is cut off and its server is down' },
  { flag: 'subjects', env: 'NQE_SUBJECTS', arg: 'PATTERN[,PATTERN]', fallback: '', help: 'export only channels matching these NATS subject patterns (* and >), or "auto": only the channels the probes of this pod report (sidecar); default all' },
  { flag: 'exclude-subjects', env: 'NQE_EXCLUDE_SUBJECTS', arg: 'PATTERN[,PATTERN]', fallback: '', help: 'leave out channels matching these patterns' },
  { flag: 'no-subscription-metrics', env: 'NQE_NO_SUBSCRIPTION_METRICS', fallback: 'false', help: 'leave out the per-subscription stan_subscription_* series (env: true or false)' },
  { flag: 'probe-listen', env: 'NQE_PROBE_LISTEN', arg: 'HOST:PORT', fallback: '127.0.0.1:7779', help: 'address for workers to POST /v1/pending (client-side pending reports), or "off"' },
  { flag: 'probe-ttl', env: 'NQE_PROBE_TTL', arg: 'SECONDS', fallback: '30', help: 'a client\'s report counts for this long unless it reports again, so a dead worker\'s figures vanish' },
  { flag: 'probe-max-series', env: 'NQE_PROBE_MAX_SERIES', arg: 'N', fallback: '1000', help: 'most subscription reports held at once over all clients; a report beyond it is refused with 429' },
  { flag: 'probe-max-bytes', env: 'NQE_PROBE_MAX_BYTES', arg: 'BYTES', fallback: '16777216', help: 'most memory the probe reports may take at once, the ones held and the bodies being read together; a report beyond it is refused with 429 before it is read' },
  { flag: 'web-config', env: 'NQE_WEB_CONFIG', arg: 'FILE', fallback: '', help: 'TLS and basic auth for the metrics listener, in the Prometheus exporter-toolkit web config format (tls_server_config, basic_auth_users, http_server_config.headers, auth_excluded_paths); /healthz and /readyz stay open to basic auth unless auth_excluded_paths says otherwise' },
  { flag: 'server-ca-file', env: 'NQE_SERVER_CA_FILE', arg: 'FILE', fallback: '', help: 'PEM CA certificates that https:// monitoring URLs are checked against, instead of the system CAs (all servers)' },
  { flag: 'server-cert-file', env: 'NQE_SERVER_CERT_FILE', arg: 'FILE', fallback: '', help: 'PEM client certificate shown to https:// monitoring URLs, with --server-key-file (all servers)' },
  { flag: 'server-key-file', env: 'NQE_SERVER_KEY_FILE', arg: 'FILE', fallback: '', help: 'PEM private key of --server-cert-file' },
  { flag: 'server-insecure-skip-verify', env: 'NQE_SERVER_INSECURE_SKIP_VERIFY', fallback: 'false', help: 'accept any certificate from https:// monitoring URLs (for tests; env: true or false)' },
  { flag: 'server-password-file', env: 'NQE_SERVER_PASSWORD_FILES', arg: '[NAME=]FILE', multiple: true, fallback: '', help: 'password for a monitoring URL that names a user (https://USER@host:8222): NAME=FILE for server NAME, FILE alone for every such server; repeat the flag for more (env: comma-separated). NQE_SERVER_PASSWORD_<NAME> (NAME in capitals, other characters as _) holds one server\'s password itself' },
  { flag: 'log-level', env: 'NQE_LOG_LEVEL', arg: 'LEVEL', fallback: 'info', help: `one of ${LOG_LEVELS.join(', ')}` },
];

export function helpText(): string {
  const lines = [
    'Usage: nats-queue-exporter [--server NAME=URL ...] [flags]',
    '',
    'Exports NATS Streaming channels, queue groups and subscriptions as Prometheus metrics.',
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

function parseServer(raw: string, from: string, passwords: ServerPasswords): ServerTarget {
  const eq = raw.indexOf('=');
  const example = 'write NAME=http://host:8222, e.g. --server prod-a=http://nats-a:8222';
  if (eq <= 0) throw new ConfigError(`${from} "${raw}": missing NAME=; ${example}`);
  const name = raw.slice(0, eq).trim();
  const urlText = raw.slice(eq + 1).trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(name)) {
    throw new ConfigError(`${from} "${raw}": NAME "${name}" may hold only letters, digits, ".", "_", ":" and "-"; ${example}`);
  }
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new ConfigError(`${from} "${name}=...": "${redactUrlText(urlText)}" is not a URL; ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${from} "${name}=...": the URL must start with http:// or https:// (the monitoring port, not nats://); ${example}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(`${from} "${name}=...": the URL must be the monitoring base URL without ?query or #fragment; ${example}`);
  }
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const pass = passwords.forServer(name, url.password === '' ? undefined : decodeURIComponent(url.password), from);
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return authorization === undefined ? { name, url: base } : { name, url: base, authorization };
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
      throw new ConfigError(`${src.from} "${src.text}": pattern "${pattern}" ${problem}; write NATS subject patterns separated by commas, e.g. orders.>,jobs.*`);
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
      if (spec?.arg) return new ConfigError(`--${spec.flag} needs a value: write --${spec.flag} ${spec.arg} (or --${spec.flag}=VALUE for a value that starts with "-")`);
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
  const passwordFiles = repeated('server-password-file').length > 0
    ? repeated('server-password-file').map((text) => ({ text, from: '--server-password-file' }))
    : (optional('server-password-file')?.text.split(',') ?? []).filter((t) => t.trim() !== '').map((text) => ({ text, from: 'NQE_SERVER_PASSWORD_FILES' }));
  const passwords = new ServerPasswords(passwordFiles, env);

  let servers: ServerTarget[];
  if (repeated('server').length > 0) {
    servers = repeated('server').map((s) => parseServer(s, '--server', passwords));
  } else {
    const src = pick('server');
    servers = src.text.split(',').filter((s) => s.trim() !== '').map((s) => parseServer(s.trim(), src.from, passwords));
    if (servers.length === 0) throw new ConfigError(`${src.from} is empty: write NAME=URL[,NAME=URL], e.g. prod-a=http://nats-a:8222`);
  }
  const names = new Set<string>();
  for (const s of servers) {
    if (names.has(s.name)) throw new ConfigError(`--server: the name "${s.name}" is given twice; give each server its own NAME`);
    names.add(s.name);
  }
  passwords.checkAllUsed(servers);

  const monitorTls = readMonitorTls({
    ca: optional('server-ca-file'),
    cert: optional('server-cert-file'),
    key: optional('server-key-file'),
    insecure: switchedOn('server-insecure-skip-verify'),
  });
  if (monitorTls) {
    if (!servers.some((s) => s.url.startsWith('https:'))) {
      throw new ConfigError('--server-ca-file, --server-cert-file, --server-key-file and --server-insecure-skip-verify apply to https:// monitoring URLs, and no --server URL starts with https://');
    }
    servers = servers.map((s) => (s.url.startsWith('https:') ? { ...s, tls: monitorTls } : s));
  }
  const webConfigSrc = optional('web-config');

  const logLevel = pick('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel.text)) {
    throw new ConfigError(`${logLevel.from} "${logLevel.text}": write one of ${LOG_LEVELS.join(', ')}`);
  }

  const subjects = pick('subjects');
  const subjectsAuto = subjects.text.trim() === 'auto';
  if (!subjectsAuto && subjects.text.split(',').some((p) => p.trim() === 'auto')) {
    throw new ConfigError(`${subjects.from} "${subjects.text}": "auto" cannot be combined with patterns; write --subjects auto alone (and --exclude-subjects PATTERN to leave channels out) or patterns only`);
  }
  const probeListenSrc = pick('probe-listen');
  const probeListen = probeListenSrc.text.trim() === 'off'
    ? undefined
    : Object.freeze(parseListen(probeListenSrc, 'e.g. 127.0.0.1:7779 (reachable from the pod only), or off'));
  if (subjectsAuto && probeListen === undefined) {
    throw new ConfigError(`${subjects.from} auto takes its channels from probe reports, but ${probeListenSrc.from} is off: give --probe-listen HOST:PORT, or name the subjects`);
  }

  const config: Config = {
    servers: Object.freeze(servers.map((s) => Object.freeze(s))),
    listen: Object.freeze(parseListen(pick('listen'))),
    timeoutSeconds: parseNumber(pick('timeout'), { integer: false, min: 0.001, max: 300, example: '--timeout 5' }),
    pageSize: parseNumber(pick('page-size'), { integer: true, min: 1, max: 1_000_000, example: '--page-size 1024' }),
    answerCapFactor: parseNumber(pick('answer-cap-factor'), { integer: false, min: 1, max: 1000, example: '--answer-cap-factor 4' }),
    subjects: Object.freeze(subjectsAuto ? [] : parsePatterns(subjects)),
    subjectsAuto,
    excludeSubjects: Object.freeze(parsePatterns(pick('exclude-subjects'))),
    subscriptionMetrics: switchedOn('no-subscription-metrics') === undefined,
    logLevel: logLevel.text as LogLevel,
    probeListen,
    probeTtlSeconds: parseNumber(pick('probe-ttl'), { integer: false, min: 0.1, max: 86_400, example: '--probe-ttl 30' }),
    probeMaxSeries: parseNumber(pick('probe-max-series'), { integer: true, min: 1, max: 1_000_000, example: '--probe-max-series 1000' }),
    probeMaxBytes: parseNumber(pick('probe-max-bytes'), { integer: true, min: 8 * 1024 * 1024, max: 2 ** 40, example: '--probe-max-bytes 33554432 (32 MiB)' }),
    webConfig: webConfigSrc && loadWebConfig(webConfigSrc.text, webConfigSrc.from),
  };
  return { kind: 'run', config: Object.freeze(config) };
}
