/**
 * `allowUids` on a Unix listener (and `ringwire serve --allow-uid UID`): a peer
 * whose uid (SO_PEERCRED) is not listed is closed before a byte of it is read. It
 * is counted as rejected, no record of it enters the pipeline, its request reaches
 * no handler, and it receives nothing. A listed uid is served. The node:net
 * transport cannot read a peer's uid, so asking it for the check is an error, and
 * the command line says so in one line.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tap } from 'rxjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { Handlers } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer } from '../../src/server/createServer.js';
import { listen } from '../../src/transport/listen.js';
import { ensureBuilt, killAll, ringwire, run } from '../fixtures/cli.js';
import { startServer, transports, until, useCleanup } from '../fixtures/harness.js';
import { RawClient } from '../helpers/rawClient.js';
import { tempDir, tempSocketPath } from '../helpers/socketPath.js';

useCleanup();
afterEach(killAll);
beforeAll(ensureBuilt, 180_000);

const me = process.getuid!();
/** A uid that is not ours. */
const other = me === 12345 ? 12346 : 12345;
const isRoot = me === 0;
const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}\n';

/** A native server on a Unix socket that records every record entering its pipeline and every handler call. */
async function guarded(allowUids: number[], mode?: number) {
  const entered: string[] = [];
  const calls: number[] = [];
  const handlers: Handlers = { ...demoHandlers, ping: () => (calls.push(1), 'pong') };
  const started = await startServer('native', 'unix', {
    listen: [{ unix: tempSocketPath(), allowUids, ...(mode === undefined ? {} : { mode }) }],
    handlers,
    pipeline: (stages) => [{ name: 'entry', operator: tap((r) => entered.push(r.type)) }, ...stages],
  });
  return { ...started, entered, calls };
}

/** Connects, sends a ping at once, and waits for the server to close or answer. */
async function pingAsPeer(path: string): Promise<RawClient> {
  const c = await RawClient.connect({ path });
  await c.send(PING).catch(() => undefined); // a refused peer may see EPIPE
  await until(() => c.closed || c.text().includes('\n'), 'an answer or a close');
  return c;
}

describe.runIf(transports().includes('native'))('allowUids on the native transport', () => {
  it(`refuses a peer whose uid (${me}) is not listed: closed before its first byte is read, counted, never handled`, async () => {
    const { server, listener, entered, calls } = await guarded([other]);
    const refused = await pingAsPeer(listener.address);
    expect(refused.closed).toBe(true);
    expect(refused.received).toBe(0);
    await until(() => server.stats().connections.rejected === 1, 'the rejection to be counted');
    expect(server.transport.stats()).toMatchObject({ accepted: 0, rejected: 1, bytesIn: 0, open: 0 });
    expect(entered).toEqual([]);
    expect(calls).toEqual([]);
  });

  it(`serves a peer whose uid (${me}) is listed, alone or among others`, async () => {
    for (const allow of [[me], [other, me]]) {
      const { server, listener, calls } = await guarded(allow);
      const client = await connect({ unix: listener.address });
      expect(await client.call('ping')).toBe('pong');
      await client.close();
      expect(calls).toHaveLength(1);
      expect(server.stats().connections.rejected).toBe(0);
    }
  });

  it.runIf(isRoot)(`tells peers apart by uid: a process running as uid ${other} is served while uid 0 is refused`, async () => {
    const { server, listener } = await guarded([other], 0o666);
    // The peer must reach the socket through its directory.
    chmodSync(dirname(listener.address), 0o711);
    const peer = spawn(
      process.execPath,
      [
        '-e',
        `const s=require('net').connect(process.argv[1],()=>s.write(${JSON.stringify(PING)}));let t='';s.on('data',d=>{t+=d;if(t.includes('\\n')){process.stdout.write(t);s.end()}});s.on('error',e=>{process.stdout.write(e.code);})`,
        listener.address,
      ],
      { uid: other, gid: other, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    peer.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    await new Promise((resolve) => peer.on('exit', resolve));
    expect(out).toBe('{"jsonrpc":"2.0","id":1,"result":"pong"}\n');
    const refused = await pingAsPeer(listener.address);
    expect(refused.received).toBe(0);
    expect(server.stats().connections.rejected).toBe(1);
  });

  it('rejects allowUids: [] in createServer (it lists nobody, and must not mean "everybody")', async () => {
    await expect(
      createServer({ listen: [{ unix: tempSocketPath(), allowUids: [] }], handlers: demoHandlers, transport: 'native' }),
    ).rejects.toMatchObject({ code: 'RINGWIRE_INVALID_OPTIONS' });
  });

  // An empty list lists nobody; the addon reads it as "no check", so listen() refuses
  // it outright rather than fail open.
  it('listen() refuses allowUids: [] instead of accepting everyone', async () => {
    const path = tempSocketPath();
    await expect(listen({ transport: 'native', listen: [{ unix: path, allowUids: [] }] })).rejects.toMatchObject({
      code: 'RINGWIRE_INVALID_OPTIONS',
    });
    expect(existsSync(path)).toBe(false);
  });
});

describe.runIf(transports().includes('net'))('allowUids on the net transport', () => {
  it('node:net refuses to start with allowUids: UnsupportedError, nothing left listening', async () => {
    const path = tempSocketPath();
    await expect(
      createServer({ listen: [{ unix: path, allowUids: [me] }], handlers: demoHandlers, transport: 'net' }),
    ).rejects.toMatchObject({ code: 'RINGWIRE_UNSUPPORTED' });
    expect(existsSync(path)).toBe(false);
  });
});

describe('ringwire serve --allow-uid', () => {
  it.runIf(transports().includes('native'))(`--allow-uid ${other} refuses us (uid ${me}); --allow-uid ${me} serves us`, async () => {
    const dir = tempDir();
    const guardedCli = ringwire(
      ['serve', '--transport', 'native', '--unix', 'no.sock', '--allow-uid', String(other), '--expose-stats'],
      dir,
    );
    const openCli = ringwire(
      ['serve', '--transport', 'native', '--unix', 'yes.sock', '--allow-uid', String(other), '--allow-uid', String(me)],
      dir,
    );
    await guardedCli.lines(/listening on unix:/);
    await openCli.lines(/listening on unix:/);
    const refused = await pingAsPeer(join(dir, 'no.sock'));
    expect(refused.received).toBe(0);
    expect(refused.closed).toBe(true);
    const client = await connect(join(dir, 'yes.sock'));
    expect(await client.call('ping')).toBe('pong');
    await client.close();
    expect(guardedCli.child.exitCode).toBeNull();
  });

  it.runIf(transports().includes('native'))('warns that a TCP listener beside it is not covered', async () => {
    const cli = ringwire(
      ['serve', '--transport', 'native', '--unix', 's.sock', '--tcp', '127.0.0.1:0', '--allow-uid', String(me)],
      tempDir(),
    );
    const [, tcp] = await cli.lines(/listening on /, 2);
    const name = /listening on (tcp:\S+)/.exec(tcp!)![1];
    await until(() => cli.stderr.includes('\n'), 'the warning');
    expect(cli.stderr).toBe(`ringwire: warn: --allow-uid does not apply to ${name}; any local user can connect there\n`);
  });

  it('with --transport net: exit 1 and one clear line', async () => {
    const result = await run(['serve', '--transport', 'net', '--unix', 's.sock', '--allow-uid', '12345'], tempDir());
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("ringwire: --allow-uid needs the native transport: node:net cannot read a peer's uid (SO_PEERCRED)\n");
  });

  it.each([
    [['--unix', 's.sock', '--allow-uid', 'root'], /--allow-uid expects a numeric uid/],
    [['--unix', 's.sock', '--allow-uid=-1'], /--allow-uid expects a numeric uid/],
    [['--unix', 's.sock', '--allow-uid', '-1'], /--allow-uid expects a numeric uid such as 1000 \(got -1\)/],
    [['--unix', 's.sock', '--allow-uid', '4294967295'], /--allow-uid expects a numeric uid/],
    [['--tcp', '127.0.0.1:0', '--allow-uid', '1000'], /--allow-uid applies to Unix sockets only/],
  ])('%j fails with one clear line', async (args, text) => {
    const result = await run(['serve', ...args], tempDir());
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(text);
  });

  it('is in serve --help', async () => {
    const result = await run(['serve', '--help']);
    expect(result.stdout).toMatch(/--allow-uid UID/);
  });
});
