import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The path of an external tool the tests need (promtool, prometheus, ...). Missing tools fail the
 * test with the command that installs them.
 */
export function requireTool(name: string, install = 'apt-get install -y prometheus prometheus-alertmanager'): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: run \`${install}\` (as .ci/run does)`);
}
