/**
 * The Unix socket path rules of PROTOCOL.md section 4, with the real command line
 * (`node bin/ringwire.js serve`): a server killed with SIGKILL leaves a stale socket
 * that the next start takes over; a live server is never stolen from; a path that is
 * not a socket is never removed.
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire, run } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

async function answers(path: string, text: string): Promise<void> {
  const client = await connect(path, { protocol: 'mcp1', timeoutMs: 2000 });
  try {
    expect(await client.call('echo', [text])).toBe(text);
  } finally {
    await client.close();
  }
}

/** One line on stderr, exit 1, no stack trace. */
function expectOneLineFailure(result: { code: number | null; stderr: string }, text: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^ringwire: /);
  expect(result.stderr).toMatch(text);
}

describe.each(transports())('socket path takeover and refusal with the real CLI (%s)', (transport) => {
  const serve = (dir: string, path = 's.sock') => ringwire(['serve', '--transport', transport, '--unix', path], dir);

  it('after SIGKILL the stale socket file is left, and the next serve takes it over', async () => {
    const dir = tempDir();
    const path = join(dir, 's.sock');
    for (let life = 0; life < 3; life++) {
      const cli = serve(dir);
      await cli.lines(/listening on unix:/);
      await answers(path, `life ${life}`);
      cli.child.kill('SIGKILL');
      expect(await cli.exited).toBe(null);
      // Nothing ran at exit: the socket file is still there, with nobody behind it.
      expect(lstatSync(path).isSocket()).toBe(true);
      // With io_uring the kernel lets go of the listening socket when it tears the dead
      // process's ring down, a moment after the exit: until then a connection is taken
      // into the backlog and closed. Never answered either way; refused soon after.
      let refusal: unknown;
      for (let i = 0; i < 50 && (refusal as { code?: string } | undefined)?.code !== 'ECONNREFUSED'; i++) {
        refusal = await answers(path, 'nobody').then(
          () => ({ code: 'answered' }),
          (error: unknown) => error,
        );
        if ((refusal as { code?: string }).code !== 'ECONNREFUSED') await new Promise((r) => setTimeout(r, 20));
      }
      expect(refusal).toMatchObject({ code: 'ECONNREFUSED' });
    }
    const last = serve(dir);
    await last.lines(/listening on unix:/);
    await answers(path, 'taken over');
  });

  it('never steals the path of a live server: the second serve exits 1 with one line, the first still answers', async () => {
    const dir = tempDir();
    const path = join(dir, 's.sock');
    const first = serve(dir);
    await first.lines(/listening on unix:/);
    const client = await connect(path, { protocol: 'mcp1' });
    const inFlight = client.call('sleep', [400]);
    for (let attempt = 0; attempt < 3; attempt++) {
      expectOneLineFailure(
        await run(['serve', '--transport', transport, '--unix', 's.sock'], dir),
        /s\.sock is in use by a running server/,
      );
    }
    expect(await inFlight).toBe(400);
    expect(await client.call('echo', ['still here'])).toBe('still here');
    await client.close();
    await answers(path, 'new connections too');
    expect(first.child.exitCode).toBe(null);
  });

  it.each([
    ['a regular file', (path: string) => writeFileSync(path, 'precious')],
    [
      'a symbolic link to a regular file',
      (path: string) => {
        writeFileSync(`${path}.target`, 'precious');
        symlinkSync(`${path}.target`, path);
      },
    ],
    ['a directory', (path: string) => mkdirSync(path)],
  ])('never removes %s at the path: exit 1, one clear line, the file intact', async (_what, make) => {
    const dir = tempDir();
    const path = join(dir, 's.sock');
    make(path);
    const before = lstatSync(path);
    expectOneLineFailure(await run(['serve', '--transport', transport, '--unix', 's.sock'], dir), /s\.sock exists and is not a socket/);
    const after = lstatSync(path);
    expect([after.ino, after.mode, after.size]).toEqual([before.ino, before.mode, before.size]);
    if (after.isSymbolicLink()) {
      expect(readlinkSync(path)).toBe(`${path}.target`);
      expect(readFileSync(`${path}.target`, 'utf8')).toBe('precious');
    } else if (after.isFile()) {
      expect(readFileSync(path, 'utf8')).toBe('precious');
    }
  });
});
