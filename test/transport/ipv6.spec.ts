import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve } from '../helpers/servers.js';
import { transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

/** Containers may run without IPv6 loopback; then there is nothing to test. */
function ipv6LoopbackWorks(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
  });
}

describe.each(transports())('%s transport: IPv6', (transport) => {
  let available = false;
  beforeAll(async () => {
    available = await ipv6LoopbackWorks();
  });
  afterEach(cleanup);

  it('listens on ::1, names the listener tcp:[::1]:port and sees IPv6 peers', async (ctx) => {
    if (!available) ctx.skip();
    const server = await serve(transport, { listen: [{ host: '::1', port: 0 }] });
    echo(server);
    const listener = server.listeners[0]!;
    expect(listener).toMatchObject({ kind: 'tcp', address: '::1' });
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.name).toBe(`tcp:[::1]:${listener.port}`);

    const client = await RawClient.connect({ host: '::1', port: listener.port });
    await client.send('over v6');
    await client.waitForText('over v6');
    expect(client.text()).toBe('over v6');
    await waitUntil(() => server.connections.size === 1, 'the connection');
    const conn = [...server.connections][0]!;
    expect(conn.peer).toEqual({ family: 'IPv6', address: '::1', port: client.socket.localPort });
    expect(conn.listener).toBe(listener);
  });

  it('ipv6Only on :: refuses IPv4 clients', async (ctx) => {
    if (!available) ctx.skip();
    const server = await serve(transport, { listen: [{ host: '::', port: 0, ipv6Only: true }] });
    echo(server);
    const port = server.listeners[0]!.port;
    expect(server.listeners[0]!.name).toBe(`tcp:[::]:${port}`);
    await expect(RawClient.connect({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const client = await RawClient.connect({ host: '::1', port });
    await client.send('v6 only');
    await client.waitForText('v6 only');
    expect(client.text()).toBe('v6 only');
  });
});
