import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.js';
import type { ConnectionEvent } from '../../src/transport/types.js';
import { addressOf, RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, recordSlices, serve, target, track } from '../helpers/servers.js';
import { transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

async function connectError(...args: Parameters<typeof RawClient.connect>): Promise<string | undefined> {
  try {
    const client = await RawClient.connect(...args);
    client.destroy();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

describe.each(transports())('%s transport: closing the server', (transport) => {
  afterEach(cleanup);

  it('close() with open connections resolves, closes every client and empties connections', async () => {
    const server = await serve(transport, { listen: [target('unix'), target('tcp')] });
    echo(server);
    const log = recordSlices(server.slices$);
    const closes: ConnectionEvent[] = [];
    track(server.connections$.subscribe((event) => event.type === 'close' && closes.push(event)));
    const [unix, tcp] = server.listeners;
    const clients = await Promise.all([unix, tcp, unix, tcp].map((listener) => RawClient.connect(listener!)));
    await Promise.all(clients.map(async (c) => (await c.send('x'), c.waitForText('x'))));
    const conns = [...server.connections];
    expect(conns).toHaveLength(4);
    // One connection with output still queued, one paused: close() must not wait on either.
    conns[0]!.write(Buffer.alloc(8 * 1024 * 1024));
    conns[1]!.pause();

    await server.close();

    expect(server.connections.size).toBe(0);
    expect(server.stats().open).toBe(0);
    expect(conns.every((conn: Connection) => conn.closed)).toBe(true);
    expect(new Set(closes.map((e) => e.connection))).toEqual(new Set(conns));
    for (const conn of conns) expect(log.filter((r) => r.connection === conn).at(-1)!.type).toBe('end');
    await Promise.all(clients.map((c) => c.waitForClose()));
    expect(existsSync(unix!.address)).toBe(false);
    expect(await connectError(addressOf(tcp!))).toBe('ECONNREFUSED');
    expect(await connectError(addressOf(unix!))).toBe('ENOENT');
    await server.close();
  });

  it('close() also closes connections that were never read (no subscriber)', async () => {
    const server = await serve(transport, { listen: [target('tcp')] });
    const client = await RawClient.connect(server.listeners[0]!);
    await client.send('unread');
    await waitUntil(() => server.connections.size === 1, 'the connection to be accepted');
    await server.close();
    expect(server.connections.size).toBe(0);
    await client.waitForClose();
  });

  it('stopAccepting() refuses new clients and keeps serving the open ones', async () => {
    const server = await serve(transport, { listen: [target('unix'), target('tcp')] });
    echo(server);
    const [unix, tcp] = server.listeners;
    const before = await Promise.all([RawClient.connect(unix!), RawClient.connect(tcp!)]);

    await server.stopAccepting();

    expect(existsSync(unix!.address)).toBe(false);
    expect(await connectError(addressOf(tcp!))).toBe('ECONNREFUSED');
    expect(await connectError(addressOf(unix!))).toBe('ENOENT');
    for (const client of before) {
      await client.send('still here');
      await client.waitForText('still here');
      expect(client.text()).toBe('still here');
    }
    expect(server.connections.size).toBe(2);
    await server.stopAccepting();
    await server.close();
    expect(server.connections.size).toBe(0);
  });
});
