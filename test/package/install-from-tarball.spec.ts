/**
 * ringwire as a user installs it: the packed tarball, installed into a new project
 * with production dependencies only (no TypeScript, no devDependency), imported by
 * name from ESM and CommonJS, serving every framing. Then the two other ways the
 * addon is had: a source build where no prebuild fits, and the node:net transport,
 * with one warning, where neither works.
 *
 * The tarball is RINGWIRE_TARBALL where CI packed it once for every Node version;
 * otherwise this spec packs a copy of the working tree (never the tree itself:
 * prepack rebuilds dist/, which other specs are using).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../fixtures/cli.js';
import { removeTempDirs, tempDir } from '../helpers/socketPath.js';
import { CJS_PROGRAM, ESM_PROGRAM } from './consumer.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const MINUTES = 60_000;

/** npm, quiet, with the node running this spec first on PATH (npm runs scripts with it). */
async function npm(args: string[], cwd: string): Promise<string> {
  const env = { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` };
  const { stdout } = await run(NPM, [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env,
    maxBuffer: 64 << 20,
    timeout: 5 * MINUTES,
  });
  return stdout;
}

/** Packs a copy of the working tree's files (tracked, and untracked but not ignored). */
async function packCopy(): Promise<string> {
  const copy = join(tempDir(), 'ringwire');
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 << 20 });
  for (const file of stdout.split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)))) {
    mkdirSync(join(copy, file, '..'), { recursive: true });
    cpSync(join(ROOT, file), join(copy, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const out = tempDir();
  await npm(['pack', '--pack-destination', out], copy);
  return join(out, readdirSync(out).find((f) => f.endsWith('.tgz'))!);
}

async function runNode(cwd: string, file: string, args: string[]): Promise<{ result: Record<string, unknown>; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [file, ...args], { cwd, timeout: MINUTES });
  return { result: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>, stderr };
}

let tarball: string;
let app: string;
let installed: string;

beforeAll(async () => {
  tarball = process.env.RINGWIRE_TARBALL ?? (await packCopy());
  app = tempDir();
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  writeFileSync(join(app, 'esm.mjs'), ESM_PROGRAM);
  writeFileSync(join(app, 'cjs.cjs'), CJS_PROGRAM);
  await npm(['install', '--omit=dev', tarball], app);
  installed = join(app, 'node_modules', 'ringwire');
}, 10 * MINUTES);

afterAll(removeTempDirs);

describe('the packed package', () => {
  it('holds what users run, and no tests, benchmarks or TypeScript sources', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 64 << 20 });
    const files = stdout.split('\n').filter(Boolean);
    for (const needed of [
      'package/dist/src/index.js',
      'package/dist/src/index.d.ts',
      'package/dist/operators/index.js',
      'package/dist/src/testing/index.js',
      'package/dist/src/server/worker.mjs',
      'package/bin/ringwire.js',
      'package/native/binding.gyp',
      'package/native/src/addon.cc',
      'package/native/install.mjs',
      'package/native/prebuilds/linux-x64/node.napi.glibc.node',
      'package/README.md',
      'package/docs/PROTOCOL.md',
    ]) {
      expect(files).toContain(needed);
    }
    const strays = files.filter((f) => /^package\/(test|bench|dist\/bench|dist\/test|\.ci)\//.test(f) || /\.spec\.|(?<!\.d)\.ts$/.test(f));
    expect(strays).toEqual([]);
  });

  it('installs with production dependencies only', () => {
    const modules = readdirSync(join(app, 'node_modules'));
    expect(modules).toContain('ringwire');
    for (const dev of ['typescript', 'vitest', 'benchmark', 'prebuildify', 'node-gyp']) expect(modules).not.toContain(dev);
  });

  it('serves every framing from ESM, with all three entry points, on the prebuilt addon', async () => {
    const { result } = await runNode(app, 'esm.mjs', [join(tempDir(), 'esm.sock')]);
    expect(result.transport).toBe('native');
    expect(result.marbles).toBe('passed');
    expect(result.calls).toEqual({
      'ndjson/unix': 'ndjson',
      'ndjson/tcp': 'ndjson',
      'lsp/unix': 'lsp',
      'lsp/tcp': 'lsp',
      'mcp1/unix': 'mcp1',
      'mcp1/tcp': 'mcp1',
      'mcp1-json/unix': 'mcp1-json',
      'mcp1-json/tcp': 'mcp1-json',
      concatenated: ['a', 'b'],
    });
  });

  it('is required from CommonJS', async () => {
    const { result } = await runNode(app, 'cjs.cjs', [join(tempDir(), 'cjs.sock')]);
    expect(result).toEqual({ transport: 'native', sum: 6, rpcError: 'function' });
  });

  it('runs on node:net, saying so once, where no addon loads', async () => {
    const prebuilds = join(installed, 'native', 'prebuilds');
    const kept = join(tempDir(), 'prebuilds');
    cpSync(prebuilds, kept, { recursive: true });
    rmSync(prebuilds, { recursive: true });
    try {
      const { result, stderr } = await runNode(app, 'esm.mjs', [join(tempDir(), 'net.sock')]);
      expect(result.transport).toBe('net');
      expect((result.calls as Record<string, unknown>)['mcp1/tcp']).toBe('mcp1');
      const warnings = stderr.split('\n').filter((l) => l.includes('native transport unavailable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/using node:net/);
    } finally {
      cpSync(kept, prebuilds, { recursive: true });
    }
  });

  it('installs, with one warning, where the addon can be neither loaded nor built', async () => {
    const prebuilds = join(installed, 'native', 'prebuilds');
    const kept = join(tempDir(), 'prebuilds-2');
    cpSync(prebuilds, kept, { recursive: true });
    rmSync(prebuilds, { recursive: true });
    try {
      // No prebuild and no node-gyp: what a platform without either meets. CI's
      // RINGWIRE_REQUIRE_NATIVE (which makes this fatal) is not a user's.
      const env: NodeJS.ProcessEnv = { ...process.env, npm_config_node_gyp: join(app, 'no-node-gyp.js') };
      delete env.RINGWIRE_REQUIRE_NATIVE;
      const { stdout, stderr } = await run(process.execPath, [join(installed, 'native', 'install.mjs')], { cwd: installed, env });
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^ringwire: native addon not available \(.+\); the node:net transport will be used$/),
      ]);
    } finally {
      cpSync(kept, prebuilds, { recursive: true });
    }
  });

  it(
    'builds the addon from source where no prebuild fits (npm rebuild, its install script allowed)',
    async () => {
      const prebuilds = join(installed, 'native', 'prebuilds');
      rmSync(prebuilds, { recursive: true });
      // This npm runs no dependency's install script unless the project approves it.
      await npm(['install-scripts', 'approve', 'ringwire'], app);
      await npm(['rebuild', 'ringwire'], app);
      expect(existsSync(join(installed, 'native', 'build', 'Release', 'ringwire.node'))).toBe(true);
      const { result, stderr } = await runNode(app, 'cjs.cjs', [join(tempDir(), 'built.sock')]);
      expect(result.transport).toBe('native');
      expect(stderr).not.toMatch(/unavailable/);
      // The version the user installed is the one that runs.
      expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).name).toBe('ringwire');
    },
    5 * MINUTES,
  );
});
