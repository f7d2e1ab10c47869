/**
 * PROTOCOL.md 4: "TCP listeners bind 127.0.0.1 unless told otherwise." The
 * listener's address says so, and the port is really closed on the machine's other
 * addresses: a connection to a non-loopback address of this host is refused
 * (skipped where the host has none). The command line's `--tcp PORT` and
 * `--tcp :PORT` forms bind loopback too.
 */
import { connect as netConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { startServer, transports, useCleanup } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

useCleanup();
afterEach(killAll);
beforeAll(ensureBuilt, 180_000);

/** This host's addresses that are not loopback (IPv6 link-local left out: they need a scope id). */
function otherAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80')))
    .map((a) => a!.address);
}

/** The errno of a TCP connection attempt, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('ETIMEDOUT');
    }, 3000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? 'error');
    });
  });
}

describe.each(transports())('TCP binds loopback unless told otherwise (%s)', (transport) => {
  it('a listener given only a port is on 127.0.0.1, and refuses connections to the other addresses of the host', async (ctx) => {
    const { listener } = await startServer(transport, 'tcp', { listen: [{ port: 0 }] });
    expect(listener.address).toBe('127.0.0.1');
    expect(listener.name).toBe(`tcp:127.0.0.1:${listener.port}`);
    expect(await tryConnect('127.0.0.1', listener.port)).toBe('connected');
    const others = otherAddresses();
    if (others.length === 0) ctx.skip();
    for (const address of others) expect([address, await tryConnect(address, listener.port)]).toEqual([address, 'ECONNREFUSED']);
  });

  it.each([['0'], [':0']])('`ringwire serve --tcp %s` listens on 127.0.0.1', async (form) => {
    const cli = ringwire(['serve', '--transport', transport, '--tcp', form], tempDir());
    const [line] = await cli.lines(/^ringwire: listening on /);
    const match = /^ringwire: listening on tcp:127\.0\.0\.1:(\d+) /.exec(line!);
    expect(match, line).not.toBeNull();
    const port = Number(match![1]);
    for (const address of otherAddresses()) expect([address, await tryConnect(address, port)]).toEqual([address, 'ECONNREFUSED']);
    const client = await connect({ host: '127.0.0.1', port });
    expect(await client.call('ping')).toBe('pong');
    await client.close();
  });
});
