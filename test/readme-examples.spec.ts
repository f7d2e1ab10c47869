/**
 * The README's examples, run exactly as written: every fenced `js` block whose
 * first line names a file (`// app.mjs ...`) is written, unchanged, into a fresh
 * folder inside this repository (where `import 'ringwire'` resolves to the package
 * itself, through its exports map and dist/) and run with node. If a spec here
 * fails, the README is wrong.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/client/connect.js';
import { ensureBuilt, ROOT } from './fixtures/cli.js';
import { until } from './fixtures/harness.js';

/** The README's named `js` blocks: file name to source. */
function examples(): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const match of readme.matchAll(/```js\n(\/\/ ([\w.-]+\.mjs)[^\n]*\n[\s\S]*?)```/g)) blocks.set(match[2]!, match[1]!);
  return blocks;
}

// Not under node_modules (no self-reference there) and not in os.tmpdir() (no
// package.json above it): a folder of the repository, ignored by git.
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(ROOT, '.readme-run-'));
  for (const [name, source] of examples()) writeFileSync(join(dir, name), source);
}, 180_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(file: string): { child: ChildProcess; output: () => { stdout: string; stderr: string }; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exited };
}

async function runToEnd(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = start(file);
  const code = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
  if (code === 'timeout') throw new Error(`${file} did not exit within 20 s: ${JSON.stringify(run.output())}`);
  return { code, ...run.output() };
}

describe('README examples', () => {
  it('has the four tour files', () => {
    expect([...examples().keys()].sort()).toEqual(['app.mjs', 'marbles.mjs', 'my-handlers.mjs', 'pipeline.mjs']);
  });

  it('1. pipeline.mjs answers JSON-RPC on ./app.sock until SIGINT, then exits and removes the socket', async () => {
    const run = start('pipeline.mjs');
    const sock = join(dir, 'app.sock');
    await until(() => existsSync(sock) || run.child.exitCode !== null, 'pipeline.mjs listening', 10_000);
    const client = await connect(sock);
    expect(await client.call('add', [2, 3])).toBe(5);
    await client.close();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output().stderr).toBe('');
    expect(existsSync(sock)).toBe(false);
  }, 30_000);

  it('2. app.mjs serves my-handlers.mjs and prints what its comments say', async () => {
    const { code, stdout, stderr } = await runToEnd('app.mjs');
    expect(stderr).toBe('');
    expect(stdout.split('\n').filter(Boolean)).toEqual(['0.25', '-32602 Division by zero', 'checking the docs', 'deployed', '0', '1', '2']);
    expect(code).toBe(0);
  }, 30_000);

  it('3. marbles.mjs passes', async () => {
    const { code, stderr } = await runToEnd('marbles.mjs');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30_000);
});
