import { statSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import type { Server } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { FileReadError, PEM_OR_CONFIG_MAX_BYTES, readCappedFile, sizeText } from '../capped-file.js';
import { nodeHttps, nodeTls } from '../node-builtins.js';
import type { Logger } from '../log.js';
import { caBundleProblem } from '../pem.js';
import type { PemSource, TlsServerSettings } from './tls-settings.js';

function describe(source: PemSource, key: string): string {
  return 'file' in source ? `${key}_file ${source.file}` : `${key} (inline)`;
}

function readPem(source: PemSource, key: string): string {
  if ('inline' in source) return source.inline.reveal();
  try {
    return readCappedFile(source.file, PEM_OR_CONFIG_MAX_BYTES).toString('utf8');
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new Error(`${describe(source, key)}: ${err.message}; give a readable PEM file, a regular file of at most ${sizeText(PEM_OR_CONFIG_MAX_BYTES)}`);
  }
}

/** Reads the certificate, key and client CA as they are now, with the file's TLS settings. */
function contextOptions(settings: TlsServerSettings): SecureContextOptions {
  const cert = readPem(settings.cert, 'cert');
  const key = readPem(settings.key, 'key');
  const ca = settings.clientCa && readPem(settings.clientCa, 'client_ca');
  try {
    nodeTls().createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `${describe(settings.cert, 'cert')} and ${describe(settings.key, 'key')} do not make a certificate with its private key (${(err as Error).message}); give PEM files that belong together`,
    );
  }
  const caProblem = ca === undefined ? undefined : caBundleProblem(ca);
  if (caProblem) throw new Error(`${describe(settings.clientCa!, 'client_ca')} ${caProblem}; give the PEM file of the CA that signs client certificates`);
  return {
    cert,
    key,
    ...(ca !== undefined && { ca }),
    minVersion: settings.minVersion,
    maxVersion: settings.maxVersion,
    honorCipherOrder: settings.honorCipherOrder,
    ...(settings.ciphers !== undefined && { ciphers: settings.ciphers }),
    ...(settings.ecdhCurve !== undefined && { ecdhCurve: settings.ecdhCurve }),
  };
}

/** Throws an Error naming the file when the certificate, key or client CA cannot be used. */
export function checkTlsMaterial(settings: TlsServerSettings): void {
  nodeTls().createSecureContext(contextOptions(settings));
}

/** What identifies a file's current content without reading it; a replaced or rewritten file changes it. */
function fileStamp(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/** Why a client that finished the handshake is still refused, or undefined to let it in. */
function clientCertRefusal(socket: TLSSocket, settings: TlsServerSettings): string | undefined {
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && Object.keys(cert).length > 0;
  switch (settings.clientAuthType) {
    case 'RequireAnyClientCert':
      if (!presented) return 'no client certificate';
      break;
    case 'VerifyClientCertIfGiven':
      if (presented && !socket.authorized) return `client certificate not trusted (${String(socket.authorizationError)})`;
      break;
    default:
      break;
  }
  if (settings.clientAllowedSans.length > 0) {
    // Node quotes a SAN value that holds a comma as a JSON string.
    const sans = (cert.subjectaltname ?? '').split(', ').map((entry) => {
      const value = entry.slice(entry.indexOf(':') + 1);
      return value.startsWith('"') ? (JSON.parse(value) as string) : value;
    });
    if (!sans.some((san) => settings.clientAllowedSans.includes(san))) return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}

/**
 * An https server whose certificate, key and client CA are read again when their files change:
 * each new connection checks the files' stamps first (a stat per file), so a renewed
 * certificate is served from the next connection on, and a broken renewal keeps the old one.
 */
export function createTlsServer(settings: TlsServerSettings, handler: RequestListener, log: Logger): Server {
  const files = [settings.cert, settings.key, settings.clientCa].flatMap((s) => (s && 'file' in s ? [s.file] : []));
  let stamp = fileStamp(files);
  const verify = settings.clientAuthType === 'RequireAndVerifyClientCert';
  const server = nodeHttps().createServer(
    {
      ...contextOptions(settings),
      requestCert: settings.clientAuthType !== 'NoClientCert',
      rejectUnauthorized: verify,
    },
    handler,
  );

  // Prepended so that it runs before the TLS wrapper picks the context for this connection.
  server.prependListener('connection', () => {
    const now = fileStamp(files);
    if (now === stamp) return;
    stamp = now;
    try {
      server.setSecureContext(contextOptions(settings));
      log.info({ files }, 'TLS certificate reloaded for the metrics listener');
    } catch (err) {
      log.error({ err }, 'TLS certificate files changed but cannot be used; still serving the previous certificate');
    }
  });

  server.on('secureConnection', (socket: TLSSocket) => {
    const refusal = clientCertRefusal(socket, settings);
    if (refusal === undefined) return;
    log.debug({ remote: socket.remoteAddress, refusal }, 'TLS client refused');
    socket.destroy();
  });
  server.on('tlsClientError', (err, socket) => {
    log.debug({ remote: socket.remoteAddress, err }, 'TLS handshake failed');
  });
  return server;
}
