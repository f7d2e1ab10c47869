import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.js';
import type { ConnectionEvent } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, dataOf, recordSlices, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

describe.each(transports())('%s transport: half-close', (transport) => {
  afterEach(cleanup);

  describe.each(SOCKET_KINDS)('over %s', (kind) => {
    it('a client that ends its output still gets the reply; the server ends after it', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log = recordSlices(server.slices$);
      const closes: ConnectionEvent[] = [];
      track(server.connections$.subscribe((event) => event.type === 'close' && closes.push(event)));
      let atEnd: { closed: boolean; inputEnded: boolean; wrote: boolean } | undefined;
      track(
        server.slices$.subscribe((record) => {
          if (record.type !== 'end') return;
          const conn = record.connection;
          const request = dataOf(log, conn).toString();
          atEnd = { closed: conn.closed, inputEnded: conn.inputEnded, wrote: conn.write(Buffer.from(`reply to ${request}`)) };
        }),
      );
      const client = await RawClient.connect(server.listeners[0]!, { allowHalfOpen: true });
      await client.send('question');
      client.end();

      await client.waitForText('reply to question');
      expect(client.text()).toBe('reply to question');
      expect(atEnd).toEqual({ closed: false, inputEnded: true, wrote: true });
      const conn = [...server.connections][0]!;
      expect(log.filter((r) => r.connection === conn).map((r) => r.type)).toEqual(['open', 'data', 'end']);
      await sleep(50);
      expect(client.ended).toBe(false);
      expect(conn.closed).toBe(false);

      conn.end();
      await client.waitForEnd();
      await client.waitForClose();
      await waitUntil(() => conn.closed, 'the connection to close once both sides are done');
      expect(closes).toEqual([{ type: 'close', connection: conn }]);
      expect(server.connections.size).toBe(0);
    });

    it('a server that ends first still reads the client until the client ends', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log = recordSlices(server.slices$);
      let conn: Connection | undefined;
      track(
        server.slices$.subscribe((record) => {
          if (record.type === 'open') {
            conn = record.connection;
            conn.write(Buffer.from('bye'));
            conn.end();
          }
        }),
      );
      const client = await RawClient.connect(server.listeners[0]!, { allowHalfOpen: true });
      await client.waitForEnd();
      expect(client.text()).toBe('bye');
      expect(conn!.closed).toBe(false);

      await client.send('still talking');
      await waitUntil(() => dataOf(log, conn!).length === 'still talking'.length, 'the late bytes');
      expect(dataOf(log, conn!).toString()).toBe('still talking');
      expect(conn!.inputEnded).toBe(false);

      client.end();
      await waitUntil(() => conn!.closed, 'the connection to close');
      expect(log.filter((r) => r.connection === conn).map((r) => r.type)).toEqual(['open', 'data', 'end']);
      await client.waitForClose();
    });
  });
});
