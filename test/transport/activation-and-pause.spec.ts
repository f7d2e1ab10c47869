import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, PauseReason } from '../../src/core/connection.js';
import type { TransportServer } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, dataOf, type KeptSlice, keep, recordSlices, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

/** Long enough for bytes already sent over loopback to have been read, were reading on. */
const QUIET_MS = 100;

async function acceptOne(server: TransportServer, count: number): Promise<Connection> {
  await waitUntil(() => server.connections.size === count, `${count} accepted connection(s)`);
  return [...server.connections][count - 1]!;
}

describe.each(transports())('%s transport: read activation and pause', (transport) => {
  afterEach(cleanup);

  describe.each(SOCKET_KINDS)('over %s', (kind) => {
    it('reads nothing before slices$ is subscribed, and loses nothing once it is', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const client = await RawClient.connect(server.listeners[0]!);
      const conn = await acceptOne(server, 1);
      const message = Buffer.alloc(200_000, 'early bytes ');
      await client.send(message);
      await sleep(QUIET_MS);
      expect(server.stats().bytesIn).toBe(0);
      expect(conn.pausedBy).not.toBe(0);

      const log = recordSlices(server.slices$);
      await waitUntil(() => dataOf(log, conn).length === message.length, 'the early bytes');
      expect(dataOf(log, conn).equals(message)).toBe(true);
      expect(conn.pausedBy).toBe(0);
    });

    it('stops reading when the last slices$ subscriber leaves, and starts again on a new one', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log: KeptSlice[] = [];
      const first = server.slices$.subscribe((record) => log.push(keep(record)));
      const client = await RawClient.connect(server.listeners[0]!);
      const conn = await acceptOne(server, 1);
      await client.send('one');
      await waitUntil(() => dataOf(log, conn).length === 3, 'the first bytes');

      server.slices$.subscribe().unsubscribe(); // one of two leaving changes nothing
      await client.send('two');
      await waitUntil(() => dataOf(log, conn).length === 6, 'bytes while one subscriber remains');

      first.unsubscribe();
      const bytesIn = server.stats().bytesIn;
      await client.send('three');
      await sleep(QUIET_MS);
      expect(server.stats().bytesIn).toBe(bytesIn);
      expect(conn.pausedBy).not.toBe(0);

      const second = recordSlices(server.slices$);
      await waitUntil(() => dataOf(second, conn).length === 5, 'bytes after resubscribing');
      expect(dataOf(second, conn).toString()).toBe('three');
    });

    it('pause() stops reading a connection and resume() restarts it, others unaffected', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log = recordSlices(server.slices$);
      const paused = await RawClient.connect(server.listeners[0]!);
      const pausedConn = await acceptOne(server, 1);
      const other = await RawClient.connect(server.listeners[0]!);
      const otherConn = await acceptOne(server, 2);

      pausedConn.pause();
      expect(pausedConn.pausedBy).toBe(PauseReason.User);
      await paused.send('held back');
      await other.send('flows');
      await waitUntil(() => dataOf(log, otherConn).length === 5, 'the other connection');
      await sleep(QUIET_MS);
      expect(dataOf(log, pausedConn).length).toBe(0);

      pausedConn.resume();
      expect(pausedConn.pausedBy).toBe(0);
      await waitUntil(() => dataOf(log, pausedConn).length === 9, 'the held-back bytes');
      expect(dataOf(log, pausedConn).toString()).toBe('held back');
    });

    it('pause reasons are independent: reading resumes only when none holds', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log = recordSlices(server.slices$);
      const client = await RawClient.connect(server.listeners[0]!);
      const conn = await acceptOne(server, 1);

      conn.pause(PauseReason.User);
      conn.pause(PauseReason.InFlight);
      await client.send('abc');
      conn.resume(PauseReason.User);
      expect(conn.pausedBy).toBe(PauseReason.InFlight);
      await sleep(QUIET_MS);
      expect(dataOf(log, conn).length).toBe(0);
      conn.resume(PauseReason.Pull); // a reason that is not held changes nothing
      expect(conn.pausedBy).toBe(PauseReason.InFlight);

      conn.resume(PauseReason.InFlight);
      await waitUntil(() => dataOf(log, conn).length === 3, 'the bytes');
      expect(conn.pausedBy).toBe(0);
    });

    it('a pause made while handling the open record holds from the first byte', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const log = recordSlices(server.slices$);
      track(server.slices$.subscribe((r) => r.type === 'open' && r.connection.pause()));
      const client = await RawClient.connect(server.listeners[0]!);
      const conn = await acceptOne(server, 1);
      await client.send('first bytes');
      await sleep(QUIET_MS);
      expect(server.stats().bytesIn).toBe(0);

      conn.resume();
      await waitUntil(() => dataOf(log, conn).length === 11, 'the first bytes');
      expect(log.filter((r) => r.connection === conn).map((r) => r.type)).toEqual(['open', 'data']);
    });
  });
});
