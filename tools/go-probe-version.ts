/**
 * Keeps the Go probe module versioned with the project. `npm version X.Y.Z` runs it (the
 * "version" script in package.json): it writes X.Y.Z into go/probe's `probe.Version`, which npm
 * then commits with package.json, and "postversion" tags that commit `go/probe/vX.Y.Z` beside
 * npm's `vX.Y.Z`, the tag `go get .../go/probe@vX.Y.Z` resolves. `--check` only compares.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VERSION_LINE = /^const Version = "([^"]*)"$/m;

/** probe.go's source with `version` as probe.Version; throws when the declaration is not found. */
export function withVersion(source: string, version: string): string {
  if (!VERSION_LINE.test(source)) throw new Error('go/probe/probe.go: no line `const Version = "..."` to update; put it back, or update this script');
  return source.replace(VERSION_LINE, `const Version = "${version}"`);
}

/** probe.Version as probe.go declares it. */
export function declaredVersion(source: string): string | undefined {
  return VERSION_LINE.exec(source)?.[1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('../../', import.meta.url);
  const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  const file = new URL('go/probe/probe.go', root);
  const source = readFileSync(file, 'utf8');
  if (process.argv.includes('--check')) {
    const declared = declaredVersion(source);
    if (declared !== version) {
      console.error(`go/probe/probe.go declares Version "${declared}", package.json is ${version}: run node dist/tools/go-probe-version.js`);
      process.exit(1);
    }
  } else {
    writeFileSync(file, withVersion(source, version));
    console.log(`go/probe/probe.go: Version = "${version}"`);
  }
}
