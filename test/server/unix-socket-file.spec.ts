import { existsSync, linkSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer } from '../../src/server/createServer.js';
import { forget, rawClient, readLines, startServer, transports, useCleanup } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

useCleanup();

describe.each(transports())('Unix socket files (%s)', (transport) => {
  it('creates the socket file with mode 0600 by default', async () => {
    const { listener } = await startServer(transport, 'unix');
    expect(lstatSync(listener.address).isSocket()).toBe(true);
    expect(statSync(listener.address).mode & 0o777).toBe(0o600);
  });

  it('uses socketMode when given', async () => {
    const { listener } = await startServer(transport, 'unix', { socketMode: 0o660 });
    expect(statSync(listener.address).mode & 0o777).toBe(0o660);
  });

  it('refuses a path with a live server behind it, with a clear error', async () => {
    const { listener } = await startServer(transport, 'unix');
    const attempt = createServer({ listen: [{ unix: listener.address }], handlers: demoHandlers, transport });
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_ADDRESS_IN_USE' });
    // The live server is untouched.
    const c = await rawClient({ path: listener.address });
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    expect(await readLines(c, 1)).toEqual([{ jsonrpc: '2.0', id: 1, result: 'pong' }]);
  });

  it('removes a stale socket and binds again', async () => {
    const dir = tempDir();
    const live = join(dir, 'live.sock');
    const stale = join(dir, 'stale.sock');
    const other = netServer();
    await new Promise<void>((resolve) => other.listen(live, resolve));
    linkSync(live, stale); // a second name for the socket, left behind once its server is gone
    await new Promise<void>((resolve) => other.close(() => resolve()));
    expect(lstatSync(stale).isSocket()).toBe(true);
    const { listener } = await startServer(transport, 'unix', { listen: [{ unix: stale }] });
    const c = await rawClient({ path: listener.address });
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    expect(await readLines(c, 1)).toEqual([{ jsonrpc: '2.0', id: 1, result: 'pong' }]);
  });

  it('never removes a path that is not a socket', async () => {
    const path = join(tempDir(), 'precious.txt');
    writeFileSync(path, 'keep me');
    const attempt = createServer({ listen: [{ unix: path }], handlers: demoHandlers, transport });
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_NOT_A_SOCKET' });
    expect(readFileSync(path, 'utf8')).toBe('keep me');
  });

  it('removes the socket file on a clean shutdown', async () => {
    const { server, listener } = await startServer(transport, 'unix');
    forget(server);
    await server.close();
    expect(existsSync(listener.address)).toBe(false);
  });
});
