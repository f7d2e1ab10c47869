import { closeSync as closeFile, existsSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError } from '../../src/core/errors.js';
import { loadAddon, type NativeAddon } from '../../src/transport/addon.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve } from '../helpers/servers.js';
import { tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

// The sockets come from the addon's bindUnix/bindTcp, as `ringwire serve --processes`
// makes them; systemd's are the same kind of fd. The server takes each fd over.
const addon = loadAddon() as NativeAddon;

describe.each(transports())('%s transport: listening on a socket passed in as an fd', (transport) => {
  afterEach(cleanup);

  it('serves a Unix socket made elsewhere, names it by its path, and leaves its file on close', async () => {
    const path = tempSocketPath();
    const fd = addon.bindUnix(path, 0o600, 64);
    const server = await serve(transport, { listen: [{ fd, proxyProtocol: false }] });
    echo(server);
    expect(server.listeners[0]).toEqual({ index: 0, kind: 'unix', name: `unix:${path}`, address: path, port: 0, proxyProtocol: false });
    const client = await RawClient.connect({ path });
    await client.send('hello\n');
    await client.waitForText('hello\n');
    client.destroy();
    await server.close();
    // The socket file belongs to whoever made the fd (systemd, the primary).
    expect(existsSync(path)).toBe(true);
  });

  it('serves a TCP socket made elsewhere, names it by its bound address', async () => {
    const [fd, port] = addon.bindTcp('127.0.0.1', 0, 64, false);
    const server = await serve(transport, { listen: [{ fd }] });
    echo(server);
    expect(server.listeners[0]).toMatchObject({ kind: 'tcp', name: `tcp:127.0.0.1:${port}`, address: '127.0.0.1', port });
    const client = await RawClient.connect(server.listeners[0]!);
    await client.send('over tcp\n');
    await client.waitForText('over tcp\n');
    await waitUntil(() => server.connections.size === 1, 'the connection');
    expect([...server.connections][0]!.peer).toMatchObject({ family: 'IPv4', address: '127.0.0.1', port: client.socket.localPort });
    client.destroy();
  });

  it('refuses an fd that is not a listening socket, naming it', async () => {
    const file = openSync(new URL(import.meta.url).pathname, 'r');
    try {
      const failure = await serve(transport, { listen: [{ fd: file }] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ListenError);
      expect((failure as Error).message).toMatch(new RegExp(`fd:${file}`));
    } finally {
      closeFile(file);
    }
  });
});
