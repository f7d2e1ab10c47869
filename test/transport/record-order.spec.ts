import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.js';
import type { ConnectionEvent } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, dataOf, echo, recordSlices, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

const CLIENTS = 50;

describe.each(transports())('%s transport: record order', (transport) => {
  afterEach(cleanup);

  it.each(SOCKET_KINDS)('%s: each connection gives open, then its data in order, then end, once', async (kind) => {
    const server = await serve(transport, { listen: [target(kind)] });
    echo(server);
    const log = recordSlices(server.slices$);
    const events: ConnectionEvent[] = [];
    track(server.connections$.subscribe((event) => events.push(event)));

    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const client = await RawClient.connect(server.listeners[0]!);
        const text = `${i}:a;${i}:b;${i}:c;`;
        for (const part of text.split(';').slice(0, 3)) {
          await client.send(`${part};`);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await client.waitForText(text);
        client.end();
        await client.waitForClose();
      }),
    );
    await waitUntil(() => server.connections.size === 0, 'all connections to close');

    const conns = new Set<Connection>(log.map((r) => r.connection));
    expect(conns.size).toBe(CLIENTS);
    for (const conn of conns) {
      const types = log.filter((r) => r.connection === conn).map((r) => r.type);
      expect(types[0]).toBe('open');
      expect(types.at(-1)).toBe('end');
      expect(types.slice(1, -1).every((t) => t === 'data')).toBe(true);
      const text = dataOf(log, conn).toString();
      const i = text.split(':')[0];
      expect(text).toBe(`${i}:a;${i}:b;${i}:c;`);
      expect(events.filter((e) => e.connection === conn).map((e) => e.type)).toEqual(['open', 'close']);
    }
  });
});
