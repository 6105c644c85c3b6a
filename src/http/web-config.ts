import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { FileReadError, PEM_OR_CONFIG_MAX_BYTES, readCappedFile, sizeText } from '../capped-file.js';
import { ConfigError } from '../config-error.js';
import { Secret } from '../secret.js';
import { checkTlsMaterial } from './tls.js';
import { CLIENT_AUTH_TYPES, type ClientAuthType, type PemSource, type TlsServerSettings } from './tls-settings.js';

/** `--web-config`: who may reach the metrics listener, and over what. */
export interface WebConfig {
  file: string;
  /** Undefined serves plain http. */
  tls: TlsServerSettings | undefined;
  /** User name -> bcrypt hash; empty means no basic auth. */
  users: ReadonlyMap<string, string>;
  /** Paths answered without basic auth (exact match). */
  authExcludedPaths: ReadonlySet<string>;
  /** Added to every response. */
  headers: Readonly<Record<string, string>>;
}

/**
 * Liveness and readiness answer only "ok"/"ready", and a kubelet httpGet probe cannot send
 * credentials without writing them into the pod spec, so these stay open unless the file says
 * otherwise with auth_excluded_paths.
 */
export const DEFAULT_AUTH_EXCLUDED_PATHS: readonly string[] = ['/healthz', '/readyz'];

const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
const TLS_VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** The Go (IANA) names exporter-toolkit accepts for TLS 1.2 cipher suites, as OpenSSL calls them. */
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites are not configurable in exporter-toolkit, so they stay on whatever the list says. */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The response headers exporter-toolkit allows, with the values it allows (undefined: any). */
const HEADERS: Record<string, readonly string[] | undefined> = {
  'Content-Security-Policy': undefined,
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-Content-Type-Options': ['nosniff'],
  'X-XSS-Protection': undefined,
  'Strict-Transport-Security': undefined,
};

const BCRYPT_HASH = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/;

type Mapping = Record<string, unknown>;

/**
 * The YAML parser, loaded only when a web config is read: it adds to every process's memory, and
 * most exporters (every sidecar) run without a web config. Synchronous, as flags are parsed.
 */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml') as typeof import('yaml');

/** Reads and checks a web config file; every problem is a ConfigError naming the file and the key. */
export function loadWebConfig(file: string, from: string): WebConfig {
  const fail = (problem: string): never => {
    throw new ConfigError(`${from} ${file}: ${problem}`);
  };
  let text: string;
  try {
    text = readCappedFile(file, PEM_OR_CONFIG_MAX_BYTES).toString('utf8');
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    return fail(`${err.message}; give the path of a readable YAML file, a regular file of at most ${sizeText(PEM_OR_CONFIG_MAX_BYTES)}`);
  }
  let doc: unknown;
  try {
    doc = yaml().parse(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    return fail(`is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const root = mapping(doc ?? {}, '', fail);
  knownKeys(root, '', ['tls_server_config', 'http_server_config', 'basic_auth_users', 'auth_excluded_paths'], fail, {
    rate_limit: 'nats-queue-exporter does not rate-limit; remove it (or rate-limit in a reverse proxy)',
  });
  const baseDir = dirname(resolve(file));
  const tls = root['tls_server_config'] == null ? undefined : tlsSettings(mapping(root['tls_server_config'], 'tls_server_config', fail), baseDir, fail);
  if (tls) {
    try {
      checkTlsMaterial(tls);
    } catch (err) {
      fail(`tls_server_config: ${(err as Error).message}`);
    }
  }
  return {
    file,
    tls,
    users: users(root['basic_auth_users'], fail),
    authExcludedPaths: new Set(
      root['auth_excluded_paths'] === undefined
        ? DEFAULT_AUTH_EXCLUDED_PATHS
        : stringList(root['auth_excluded_paths'], 'auth_excluded_paths', fail).map((p) => {
            if (!p.startsWith('/')) fail(`auth_excluded_paths: "${p}" must be a path starting with "/", e.g. /healthz`);
            return p;
          }),
    ),
    headers: headers(root['http_server_config'], fail),
  };
}

function tlsSettings(m: Mapping, baseDir: string, fail: (problem: string) => never): TlsServerSettings {
  const at = 'tls_server_config';
  knownKeys(
    m,
    at,
    [
      'cert_file',
      'key_file',
      'cert',
      'key',
      'client_ca_file',
      'client_ca',
      'client_auth_type',
      'client_allowed_sans',
      'min_version',
      'max_version',
      'cipher_suites',
      'prefer_server_cipher_suites',
      'curve_preferences',
    ],
    fail,
  );
  const pem = (fileKey: string, inlineKey: string, required: boolean): PemSource | undefined => {
    const path = optionalString(m[fileKey], `${at}.${fileKey}`, fail);
    const inline = optionalString(m[inlineKey], `${at}.${inlineKey}`, fail);
    if (path !== undefined && inline !== undefined) fail(`${at}: give ${fileKey} or ${inlineKey}, not both`);
    if (path !== undefined) return { file: resolve(baseDir, path) };
    if (inline !== undefined) return { inline: new Secret(inline) };
    if (required) fail(`${at}: ${fileKey} is missing; name the PEM file (relative paths start at the web config's folder)`);
    return undefined;
  };
  const cert = pem('cert_file', 'cert', true)!;
  const key = pem('key_file', 'key', true)!;
  const clientCa = pem('client_ca_file', 'client_ca', false);

  const authText = optionalString(m['client_auth_type'], `${at}.client_auth_type`, fail) ?? 'NoClientCert';
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(authText)) {
    fail(
      `${at}.client_auth_type "${authText}" is not one of ${CLIENT_AUTH_TYPES.join(', ')}; RequireAndVerifyClientCert is the one that authenticates clients`,
    );
  }
  const clientAuthType = authText as ClientAuthType;
  if (clientCa && clientAuthType === 'NoClientCert') {
    fail(`${at}: a client CA is given but client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert, or remove the client CA`);
  }
  if (!clientCa && (clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert')) {
    fail(`${at}.client_auth_type ${clientAuthType} verifies client certificates, but no client_ca_file is given; name the CA that signs them`);
  }
  const clientAllowedSans = m['client_allowed_sans'] == null ? [] : stringList(m['client_allowed_sans'], `${at}.client_allowed_sans`, fail);
  if (clientAllowedSans.length > 0 && clientAuthType !== 'RequireAnyClientCert' && clientAuthType !== 'RequireAndVerifyClientCert') {
    fail(`${at}.client_allowed_sans needs client_auth_type RequireAndVerifyClientCert (or RequireAnyClientCert), so that every client shows a certificate`);
  }

  const version = (key: string, fallback: SecureVersion): SecureVersion => {
    const text = optionalString(m[key], `${at}.${key}`, fail);
    if (text === undefined) return fallback;
    const v = TLS_VERSIONS[text];
    if (!v) fail(`${at}.${key} "${text}" is not one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
    return v!;
  };
  const minVersion = version('min_version', 'TLSv1.2');
  const maxVersion = version('max_version', 'TLSv1.3');
  if (TLS_VERSION_ORDER.indexOf(minVersion) > TLS_VERSION_ORDER.indexOf(maxVersion)) {
    fail(`${at}: min_version is above max_version; lower min_version or raise max_version`);
  }

  const suites = m['cipher_suites'] == null ? [] : stringList(m['cipher_suites'], `${at}.cipher_suites`, fail);
  const ciphers =
    suites.length === 0
      ? undefined
      : [
          TLS13_SUITES,
          ...suites.map((s) => {
            const openssl = CIPHER_SUITES[s];
            if (!openssl)
              fail(
                `${at}.cipher_suites: "${s}" is not a supported suite; use names like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (${Object.keys(CIPHER_SUITES).length} are known)`,
              );
            return openssl;
          }),
        ].join(':');
  const curves = m['curve_preferences'] == null ? [] : stringList(m['curve_preferences'], `${at}.curve_preferences`, fail);
  const ecdhCurve =
    curves.length === 0
      ? undefined
      : curves
          .map((c) => {
            const openssl = CURVES[c];
            if (!openssl) fail(`${at}.curve_preferences: "${c}" is not one of ${Object.keys(CURVES).join(', ')}`);
            return openssl;
          })
          .join(':');

  return {
    cert,
    key,
    clientCa,
    clientAuthType,
    clientAllowedSans,
    minVersion,
    maxVersion,
    ciphers,
    honorCipherOrder: optionalBoolean(m['prefer_server_cipher_suites'], `${at}.prefer_server_cipher_suites`, fail) ?? true,
    ecdhCurve,
  };
}

function users(value: unknown, fail: (problem: string) => never): ReadonlyMap<string, string> {
  const result = new Map<string, string>();
  if (value == null) return result;
  for (const [user, hash] of Object.entries(mapping(value, 'basic_auth_users', fail))) {
    if (user === '' || user.includes(':')) fail(`basic_auth_users: the user name "${user}" must be non-empty and without ":"`);
    const m = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
    const cost = m ? Number(m[1]) : NaN;
    if (!m || cost < 4 || cost > 31) {
      fail(`basic_auth_users.${user} is not a bcrypt hash; write the output of \`htpasswd -nBC 10 "" | tr -d ':\\n'\` (it starts with $2y$10$)`);
    }
    result.set(user, hash as string);
  }
  return result;
}

function headers(value: unknown, fail: (problem: string) => never): Record<string, string> {
  if (value == null) return {};
  const at = 'http_server_config';
  const m = mapping(value, at, fail);
  knownKeys(m, at, ['headers', 'http2'], fail);
  optionalBoolean(m['http2'], `${at}.http2`, fail);
  if (m['headers'] == null) return {};
  const result: Record<string, string> = {};
  for (const [name, v] of Object.entries(mapping(m['headers'], `${at}.headers`, fail))) {
    if (!(name in HEADERS)) fail(`${at}.headers: "${name}" cannot be set; the headers allowed are ${Object.keys(HEADERS).join(', ')}`);
    if (typeof v !== 'string') fail(`${at}.headers.${name} must be a string`);
    const allowed = HEADERS[name];
    if (allowed && !allowed.includes((v as string).toLowerCase())) fail(`${at}.headers.${name} "${String(v)}" must be one of ${allowed.join(', ')}`);
    if ((v as string) !== '') result[name] = v as string;
  }
  return result;
}

function mapping(value: unknown, at: string, fail: (problem: string) => never): Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${at === '' ? 'the file' : at} must be a mapping of keys to values`);
  }
  return value as Mapping;
}

function knownKeys(m: Mapping, at: string, known: readonly string[], fail: (problem: string) => never, unsupported: Record<string, string> = {}): void {
  for (const key of Object.keys(m)) {
    const path = at === '' ? key : `${at}.${key}`;
    if (key in unsupported) fail(`${path}: ${unsupported[key]}`);
    if (!known.includes(key)) fail(`${path} is not a known key; the keys here are ${known.join(', ')}: fix its spelling or remove it`);
  }
}

function optionalString(value: unknown, at: string, fail: (problem: string) => never): string | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'string' || value === '') fail(`${at} must be a non-empty string`);
  return value as string;
}

function optionalBoolean(value: unknown, at: string, fail: (problem: string) => never): boolean | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'boolean') fail(`${at} must be true or false`);
  return value as boolean;
}

function stringList(value: unknown, at: string, fail: (problem: string) => never): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) fail(`${at} must be a list of non-empty strings`);
  return value as string[];
}
