import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where `go install` puts binaries: $GOBIN, else the first GOPATH's bin, else ~/go/bin without Go. */
export function goBinDir(): string {
  try {
    const gobin = execFileSync('go', ['env', 'GOBIN'], { encoding: 'utf8' }).trim();
    return gobin || join(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim().split(delimiter)[0]!, 'bin');
  } catch {
    // No Go on PATH: only the default GOPATH is left to look in.
    return join(homedir(), 'go', 'bin');
  }
}
