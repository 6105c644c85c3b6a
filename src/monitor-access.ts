import type { ConnectionOptions } from 'node:tls';
import { FileReadError, PEM_OR_CONFIG_MAX_BYTES, readCappedFile, SECRET_FILE_MAX_BYTES, sizeText } from './capped-file.js';
import { ConfigError } from './config-error.js';
import { nodeTls } from './node-builtins.js';
import { caBundleProblem } from './pem.js';
import { Secret } from './secret.js';

/** How the exporter talks TLS to https:// monitoring URLs; the same for every server. */
export interface TlsFiles {
  /** Replaces the system CAs when given. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Secret;
  rejectUnauthorized: boolean;
}

/** A flag's or variable's text and where it came from, for messages. */
export interface InputText {
  text: string;
  from: string;
}

/** The file a flag names, read whole: a regular file of at most maxBytes. */
export function readInputFile(src: InputText, what: string, maxBytes: number): Buffer {
  try {
    return readCappedFile(src.text, maxBytes);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new ConfigError(`${src.from} ${src.text}: ${err.message}; give the path of a readable ${what}, a regular file of at most ${sizeText(maxBytes)}`);
  }
}

/**
 * Reads --server-ca-file, --server-cert-file, --server-key-file and
 * --server-insecure-skip-verify; undefined when none is set. Files are read once, at start.
 */
export function readTlsFiles(
  input: { ca?: InputText; cert?: InputText; key?: InputText; insecure?: InputText },
  flags = { cert: '--server-cert-file', key: '--server-key-file' },
): TlsFiles | undefined {
  if (!input.ca && !input.cert && !input.key && !input.insecure) return undefined;
  if (Boolean(input.cert) !== Boolean(input.key)) {
    const given = (input.cert ?? input.key)!;
    throw new ConfigError(`${given.from} is given alone: a client certificate needs both ${flags.cert} and ${flags.key}`);
  }
  const tls: TlsFiles = { rejectUnauthorized: !input.insecure };
  if (input.ca) {
    tls.ca = readInputFile(input.ca, 'PEM file of CA certificates', PEM_OR_CONFIG_MAX_BYTES);
    const problem = caBundleProblem(tls.ca.toString('utf8'));
    if (problem) throw new ConfigError(`${input.ca.from} ${input.ca.text}: ${problem}; give the PEM file of the CA that signed the servers' certificates`);
  }
  if (input.cert && input.key) {
    tls.cert = readInputFile(input.cert, 'PEM certificate', PEM_OR_CONFIG_MAX_BYTES);
    tls.key = new Secret(readInputFile(input.key, 'PEM private key', PEM_OR_CONFIG_MAX_BYTES).toString('utf8'));
    try {
      nodeTls().createSecureContext({ cert: tls.cert, key: tls.key.reveal() });
    } catch (err) {
      throw new ConfigError(
        `${input.cert.from} ${input.cert.text} and ${input.key.from} ${input.key.text} do not make a certificate with its private key (${(err as Error).message}); give PEM files that belong together`,
      );
    }
  }
  return Object.freeze(tls);
}

/** undici/tls connect options for one https monitoring URL. */
export function tlsConnectOptions(tls: TlsFiles | undefined): ConnectionOptions {
  if (!tls) return {};
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca && { ca: tls.ca }),
    ...(tls.cert && { cert: tls.cert }),
    ...(tls.key && { key: tls.key.reveal() }),
  };
}

/** What to do about a failure code from a monitoring URL; empty when TLS cannot be the cause. */
export function tlsFailureHint(code: string | undefined, url: string): string {
  if (code === undefined || !url.startsWith('https:')) return '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME/.test(code) && !/ALERT/.test(code)) {
    return ' (the server certificate is not trusted: give its CA with --server-ca-file, and check the URL host is one the certificate names)';
  }
  if (/ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA)/.test(code)) {
    return ' (the server refused the client certificate: give one it trusts with --server-cert-file and --server-key-file)';
  }
  // With TLS 1.3 a refused client certificate reaches the client as a closed connection, not an alert.
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') {
    return ' (the server closed the TLS connection: if it requires a client certificate, give one it trusts with --server-cert-file and --server-key-file)';
  }
  return '';
}

/** The environment variable that holds one server's monitoring password. */
export function passwordEnvName(serverName: string): string {
  return `NQE_SERVER_PASSWORD_${serverName.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Passwords for monitoring URLs that name a user (https://USER@host:8222), taken from
 * `--server-password-file [NAME=]FILE` or NQE_SERVER_PASSWORD_<NAME>, so that they stay out of
 * the command line, the process list and the URL. For one server: NAME=FILE first, then its
 * variable, then a FILE given without NAME.
 */
export class ServerPasswords {
  readonly #byServer = new Map<string, { src: InputText; file: string; used: boolean }>();
  #fallback: { src: InputText; file: string; used: boolean } | undefined;
  readonly #env: NodeJS.ProcessEnv;

  constructor(files: readonly InputText[], env: NodeJS.ProcessEnv) {
    this.#env = env;
    for (const src of files) {
      const eq = src.text.indexOf('=');
      const name = eq > 0 ? src.text.slice(0, eq).trim() : undefined;
      const file = (eq > 0 ? src.text.slice(eq + 1) : src.text).trim();
      if (file === '') throw new ConfigError(`${src.from} "${src.text}": write [NAME=]FILE, e.g. --server-password-file prod-a=/run/secrets/nats-monitor`);
      const entry = { src, file, used: false };
      if (name === undefined) {
        if (this.#fallback)
          throw new ConfigError(`${src.from}: two files are given for every server (${this.#fallback.file} and ${file}); give one, or NAME=FILE per server`);
        this.#fallback = entry;
      } else {
        if (this.#byServer.has(name)) throw new ConfigError(`${src.from}: server "${name}" is given two password files; give one`);
        this.#byServer.set(name, entry);
      }
    }
  }

  /**
   * The password for server `name` whose URL names a user; `inUrl` is the password written in
   * the URL, if any. A URL password next to a NAME=FILE or variable for the same server is refused.
   */
  forServer(name: string, inUrl: string | undefined, from: string): string {
    const own = this.#byServer.get(name);
    const envName = passwordEnvName(name);
    const fromEnv = this.#env[envName];
    if (inUrl !== undefined) {
      const other = own ? `${own.src.from} ${name}=...` : fromEnv !== undefined && fromEnv !== '' ? envName : undefined;
      if (other) throw new ConfigError(`${from} "${name}=...": the URL holds a password and ${other} gives another; keep one (a file is safer than the URL)`);
      return inUrl;
    }
    if (own) {
      own.used = true;
      return this.#read(own);
    }
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    if (this.#fallback) {
      this.#fallback.used = true;
      return this.#read(this.#fallback);
    }
    return '';
  }

  /**
   * Refuses passwords that no server can use: a NAME that is not a server, or a server none of
   * whose URLs names a user. `nodes` are the --server entries, several per FT pair or cluster.
   */
  checkAllUsed(nodes: readonly { server: string; authorization?: unknown }[]): void {
    const names = [...new Set(nodes.map((n) => n.server))];
    for (const [name, entry] of this.#byServer) {
      if (entry.used) continue;
      const known = names.includes(name);
      throw new ConfigError(
        known
          ? `${entry.src.from} ${name}=...: the URL of server "${name}" names no user; write it as https://USER@host:8222 so the password goes with a user`
          : `${entry.src.from} ${name}=...: there is no server named "${name}"; the names are ${names.join(', ')}`,
      );
    }
    for (const name of names) {
      const envName = passwordEnvName(name);
      const withUser = nodes.some((n) => n.server === name && n.authorization !== undefined);
      if (this.#env[envName] !== undefined && this.#env[envName] !== '' && !withUser) {
        throw new ConfigError(`${envName} is set, but the URL of server "${name}" names no user; write it as https://USER@host:8222`);
      }
    }
    if (this.#fallback && !this.#fallback.used) {
      throw new ConfigError(
        `${this.#fallback.src.from} ${this.#fallback.file}: no server URL names a user without a password; write the URL as https://USER@host:8222`,
      );
    }
  }

  #read(entry: { src: InputText; file: string }): string {
    const text = readInputFile({ text: entry.file, from: entry.src.from }, 'file holding the password', SECRET_FILE_MAX_BYTES).toString('utf8');
    // Files written by echo or editors end with a newline that is not part of the password.
    const password = text.replace(/\r?\n$/, '');
    if (password === '') throw new ConfigError(`${entry.src.from} ${entry.file}: the file is empty; write the password into it`);
    return password;
  }
}
