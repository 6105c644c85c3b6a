import { readFileSync } from 'node:fs';
import { validate } from 'dockerfile-utils';

/**
 * Lints a Dockerfile with dockerfile-utils (the Docker language service's validator). Every
 * finding counts, warnings included: the CLI of dockerfile-utils exits 0 on them.
 */
export function lintDockerfile(path: string): string[] {
  return validate(readFileSync(path, 'utf8')).map((d) => `${path}:${d.range.start.line + 1}: ${d.message}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2] ?? 'Dockerfile';
  const findings = lintDockerfile(path);
  for (const f of findings) process.stderr.write(`${f}\n`);
  process.stdout.write(findings.length === 0 ? `${path}: no findings\n` : '');
  process.exitCode = findings.length === 0 ? 0 : 1;
}
