import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from './tools.js';

export interface Issued {
  certFile: string;
  keyFile: string;
}

export interface TestCa {
  /** The CA certificate (PEM), to trust. */
  caFile: string;
  /** Signs a new key for `name`: a server certificate for 127.0.0.1 and localhost, or a client one. */
  issue(name: string, use: 'server' | 'client', sans?: string[]): Issued;
}

function openssl(args: string[]): void {
  execFileSync(requireTool('openssl', 'apt-get install -y openssl'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A throwaway certificate authority made with openssl in `dir` at test time (EC P-256 keys,
 * valid two days), so that no key is ever committed.
 */
export function createTestCa(dir: string, name: string): TestCa {
  const caFile = join(dir, `${name}-ca.pem`);
  const caKey = join(dir, `${name}-ca.key`);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    caFile,
    issue(leaf, use, sans = use === 'server' ? ['IP:127.0.0.1', 'DNS:localhost'] : [`DNS:${leaf}`]) {
      const base = join(dir, `${name}-${leaf}-${randomBytes(4).toString('hex')}`);
      const ext = `${base}.ext`;
      writeFileSync(
        ext,
        ['basicConstraints=CA:FALSE', `extendedKeyUsage=${use === 'server' ? 'serverAuth' : 'clientAuth'}`, `subjectAltName=${sans.join(',')}`].join('\n'),
      );
      openssl([
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${leaf}`,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-days',
        '2',
        '-set_serial',
        `0x${randomBytes(8).toString('hex')}`,
        '-extfile',
        ext,
        '-out',
        `${base}.pem`,
      ]);
      return { certFile: `${base}.pem`, keyFile: `${base}.key` };
    },
  };
}
