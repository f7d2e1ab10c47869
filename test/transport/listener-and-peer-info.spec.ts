import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve } from '../helpers/servers.js';
import { tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

describe.each(transports())('%s transport: listener and peer info', (transport) => {
  afterEach(cleanup);

  it('describes each listener in the order given, with the real bound port', async () => {
    const path = tempSocketPath();
    const server = await serve(transport, {
      listen: [{ unix: path }, { port: 0 }, { host: '127.0.0.1', port: 0, proxyProtocol: true }],
    });
    expect(server.kind).toBe(transport);
    const [unix, tcp, proxied] = server.listeners;
    expect(unix).toEqual({ index: 0, kind: 'unix', name: `unix:${path}`, address: path, port: 0, proxyProtocol: false });
    expect(tcp).toEqual({
      index: 1,
      kind: 'tcp',
      name: `tcp:127.0.0.1:${tcp!.port}`,
      address: '127.0.0.1',
      port: tcp!.port,
      proxyProtocol: false,
    });
    expect(tcp!.port).toBeGreaterThan(0);
    expect(proxied).toMatchObject({ index: 2, kind: 'tcp', proxyProtocol: true });
    expect(proxied!.port).not.toBe(tcp!.port);
  });

  it('gives each connection its listener, a fresh id, and who the peer is', async () => {
    const path = tempSocketPath();
    const server = await serve(transport, { listen: [{ unix: path }, { port: 0 }] });
    echo(server);
    const [unix, tcp] = server.listeners;
    const overUnix = await RawClient.connect(unix!);
    await waitUntil(() => server.connections.size === 1, 'the unix connection');
    const overTcp = await RawClient.connect(tcp!);
    await waitUntil(() => server.connections.size === 2, 'the tcp connection');
    const [unixConn, tcpConn] = [...server.connections];

    expect(unixConn!.listener).toBe(unix);
    expect(tcpConn!.listener).toBe(tcp);
    expect(tcpConn!.id).not.toBe(unixConn!.id);
    expect(unixConn!.peer).toMatchObject({ family: 'unix', address: path, port: 0 });
    expect(tcpConn!.peer).toMatchObject({ family: 'IPv4', address: '127.0.0.1', port: overTcp.socket.localPort });

    overUnix.destroy();
    overTcp.destroy();
    await waitUntil(() => server.connections.size === 0, 'both to close');
    const again = await RawClient.connect(tcp!);
    await waitUntil(() => server.connections.size === 1, 'a third connection');
    const third = [...server.connections][0]!;
    expect(third.id).not.toBe(unixConn!.id);
    expect(third.id).not.toBe(tcpConn!.id);
    again.destroy();
  });
});
