import type { SecureVersion } from 'node:tls';
import type { Secret } from '../secret.js';

/** What tls_server_config of a web config says: read by web-config.ts, served by tls.ts. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** PEM text named by a file (read again when the file changes) or written inline in the web config. */
export type PemSource = { file: string } | { inline: Secret };

export interface TlsServerSettings {
  cert: PemSource;
  key: PemSource;
  clientCa: PemSource | undefined;
  clientAuthType: ClientAuthType;
  /** A client certificate must carry one of these subject alternative names; empty allows any. */
  clientAllowedSans: readonly string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** OpenSSL cipher list; undefined keeps Node's defaults. */
  ciphers: string | undefined;
  honorCipherOrder: boolean;
  /** OpenSSL curve list; undefined keeps Node's defaults. */
  ecdhCurve: string | undefined;
}
