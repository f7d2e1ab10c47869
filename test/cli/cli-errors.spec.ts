import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as netServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, ringwire, run } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

/** One line on stderr, exit 1, no stack trace. */
function expectOneLineFailure(result: { code: number | null; stderr: string }, text: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^ringwire: /);
  expect(result.stderr).toMatch(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('ringwire command-line mistakes', () => {
  it.each([
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['serve', '--workers', 'many'], /--workers/],
    [['serve', '--tcp', 'nohost'], /--tcp expects HOST:PORT/],
    [['serve', '--socket-mode', '999'], /--socket-mode/],
    [['serve', '--transport', 'carrier-pigeon'], /--transport/],
    [['serve', '--max-connections', '0'], /--max-connections/],
    [['serve', '--handlers', '/nonexistent/handlers.mjs', '--unix', 'x.sock'], /cannot load handlers module/],
    [['frobnicate'], /unknown command/],
    [['call', 'tcp://127.0.0.1:1'], /expected 2 to 3 arguments/],
    [['call', 'tcp://127.0.0.1:1', 'ping', '{not json'], /PARAMS_JSON is not valid JSON/],
    [['call', 'tcp://127.0.0.1:1', 'ping'], /cannot connect to tcp:127\.0\.0\.1:1: ECONNREFUSED/],
  ])('%j fails with one clear line', async (args, text) => {
    expectOneLineFailure(await run(args, tempDir()), text);
  });

  it('prints usage for --help and exits 0', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ringwire serve [options]');
  });
});

describe.each(transports())('ringwire serve with an unusable address (%s)', (transport) => {
  it('refuses a socket path with a live server behind it', async () => {
    const dir = tempDir();
    const first = ringwire(['serve', '--transport', transport, '--unix', 'live.sock'], dir);
    await first.lines(/listening on unix:/);
    const result = await run(['serve', '--transport', transport, '--unix', 'live.sock'], dir);
    expectOneLineFailure(result, /live\.sock is in use by a running server/);
  });

  it('refuses, and keeps, a path that is not a socket', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const result = await run(['serve', '--transport', transport, '--unix', 'notes.txt'], dir);
    expectOneLineFailure(result, /notes\.txt exists and is not a socket/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('reports a directory it may not write to (EACCES)', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip(); // root writes anywhere: EACCES cannot happen
    const dir = join(tempDir(), 'locked');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    const result = await run(['serve', '--transport', transport, '--unix', join(dir, 's.sock')], dir);
    expectOneLineFailure(result, /EACCES|permission/i);
  });

  it('refuses a TCP port that is taken', async () => {
    const taken: Server = netServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await run(['serve', '--transport', transport, '--tcp', `127.0.0.1:${port}`], tempDir());
      expectOneLineFailure(result, new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      taken.close();
    }
  });
});
