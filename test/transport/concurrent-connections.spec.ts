import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve, target } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

const CLIENTS = 1000;

describe.each(transports())('%s transport: concurrent connections', (transport) => {
  afterEach(cleanup);

  it.each(SOCKET_KINDS)(`serves ${CLIENTS} concurrent %s connections, each its own round trip`, async (kind) => {
    // A backlog above the client count: the test is about the server, not SYN/EAGAIN retries.
    const server = await serve(transport, { listen: [target(kind, { backlog: 2048 })] });
    echo(server);
    const ids = new Set<number>();
    server.connections$.subscribe((event) => {
      if (event.type === 'open') ids.add(event.connection.id);
    });

    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => RawClient.connect(server.listeners[0]!)));
    await waitUntil(() => server.connections.size === CLIENTS, `${CLIENTS} open connections`);
    await Promise.all(
      clients.map(async (client, i) => {
        const message = `client ${i} says hello\n`;
        await client.send(message);
        await client.waitForText(message);
        expect(client.text()).toBe(message);
        client.end();
        await client.waitForClose();
      }),
    );

    await waitUntil(() => server.connections.size === 0, 'every connection to close');
    expect(ids.size).toBe(CLIENTS);
    expect(server.stats()).toMatchObject({ open: 0, accepted: CLIENTS, rejected: 0 });
  });
});
