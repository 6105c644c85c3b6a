import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lintDockerfile } from '../../tools/lint-dockerfile.js';
import { eventually } from '../../harness/exporter.js';
import { freePort } from '../../harness/ports.js';
import { ROOT, readRepoFile } from '../../harness/repo-files.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of each stage (continuation lines joined, comments dropped). */
function stages(text: string): Instruction[][] {
  const result: Instruction[][] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)!.push(instruction);
  }
  return result;
}

describe('Dockerfile', () => {
  const text = readRepoFile('Dockerfile');
  const all = stages(text);
  const final = all.at(-1)!;

  test('the Dockerfile linter finds nothing', () => {
    assert.deepEqual(lintDockerfile(join(ROOT, 'Dockerfile')), []);
  });

  test('the linter does report a broken Dockerfile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nqe-dockerfile-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM node:24-alpine\nMAINTAINER someone\nCMD ["a"]\nCMD ["b"]\n');
      assert.equal(lintDockerfile(join(dir, 'Dockerfile')).length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('multi-stage on Node 24 LTS: npm ci and npm run build, production dependencies only, non-root, ports, one process', () => {
    assert.ok(all.length >= 2, 'multi-stage');
    for (const stage of all) assert.match(stage[0]!.args, /^node:24-alpine\b/, 'every stage starts from Node 24 LTS');
    const runs = all
      .flat()
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);
    assert.ok(
      runs.some((r) => /^npm ci\b(?!.*--omit=dev)/.test(r)),
      'the build stage runs npm ci',
    );
    assert.ok(runs.includes('npm run build'), 'the build stage runs npm run build');
    assert.ok(
      runs.some((r) => /^npm ci .*--omit=dev/.test(r)),
      'production dependencies come from npm ci --omit=dev',
    );
    assert.ok(!final.some((i) => i.keyword === 'RUN'), 'the final stage runs nothing: it only copies');
    const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), 'the final stage runs as a non-root user');
    assert.deepEqual(
      final.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)),
      ['7778', '7779'],
    );
    const entrypoint = final.filter((i) => i.keyword === 'ENTRYPOINT');
    assert.equal(entrypoint.length, 1);
    assert.deepEqual(JSON.parse(entrypoint[0]!.args), ['node', 'dist/src/cli.js'], 'node itself is the process (exec form, no shell, no npm)');
    assert.ok(!final.some((i) => i.keyword === 'CMD'), 'no CMD: arguments go to the exporter');
  });

  test('.dockerignore lets in exactly what the Dockerfile copies from the context', () => {
    const allowed = readRepoFile('.dockerignore')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const copied = all
      .flat()
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    assert.deepEqual([...new Set(copied)].sort(), allowed.sort());
  });

  describe("the image's production install, done outside Docker", () => {
    let dir: string | undefined;
    let child: ChildProcess | undefined;
    after(() => {
      child?.kill('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('npm ci --omit=dev and the built dist/src serve /metrics and stop on SIGTERM', async () => {
      dir = mkdtempSync(join(tmpdir(), 'nqe-image-'));
      for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(dir, f));
      const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
      assert.equal(install.status, 0, install.stderr);
      cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
      const port = await freePort();
      const deadPort = await freePort();
      child = spawn(
        process.execPath,
        ['dist/src/cli.js', '--server', `gone=http://127.0.0.1:${deadPort}`, '--listen', `127.0.0.1:${port}`, '--probe-listen', 'off', '--log-level', 'error'],
        { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      const metrics = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        assert.equal(res.status, 200);
        return res.text();
      }, 15_000).catch((err: Error) => assert.fail(`${err.message}\n${stderr}`));
      assert.match(metrics, /^stan_up\{server="gone",node="[^"]+"\} 0$/m);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    });
  });
});
