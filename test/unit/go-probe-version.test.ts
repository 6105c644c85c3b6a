import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { declaredVersion, withVersion } from '../../tools/go-probe-version.js';

const root = new URL('../../../', import.meta.url);
const probeSource = readFileSync(new URL('go/probe/probe.go', root), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string; scripts: Record<string, string> };

test("the Go probe declares the project's version, which its module tag carries", () => {
  assert.equal(declaredVersion(probeSource), packageJson.version);
});

test('npm version rewrites probe.Version, commits it and tags go/probe/vX.Y.Z', () => {
  const bumped = withVersion(probeSource, '9.8.7');
  assert.equal(declaredVersion(bumped), '9.8.7');
  assert.equal(bumped.replace('"9.8.7"', `"${packageJson.version}"`), probeSource, 'only the version changes');
  assert.match(packageJson.scripts['version'] ?? '', /go-probe-version\.js.*git add go\/probe\/probe\.go/);
  assert.match(packageJson.scripts['postversion'] ?? '', /git tag -a go\/probe\/v\$npm_package_version/);
  assert.throws(() => withVersion('package probe\n', '1.0.0'), /no line `const Version = "..."`/);
});
