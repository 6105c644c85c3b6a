import { nodeCrypto } from './node-builtins.js';

/**
 * What is wrong with a PEM bundle of CA certificates, or undefined when it holds at least one and
 * every one parses. Needed because Node's TLS takes a bundle with no certificate in it silently
 * and then trusts nothing.
 */
export function caBundleProblem(text: string): string | undefined {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)';
  for (const [i, block] of blocks.entries()) {
    try {
      new (nodeCrypto().X509Certificate)(block);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} does not parse (${(err as Error).message})`;
    }
  }
  return undefined;
}
