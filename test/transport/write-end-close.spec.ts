import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, PauseReason } from '../../src/core/connection.js';
import type { ConnectionEvent } from '../../src/transport/types.js';
import { RawClient, sha256 } from '../helpers/rawClient.js';
import { cleanup, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

async function openOne(
  transport: Parameters<typeof serve>[0],
  kind: (typeof SOCKET_KINDS)[number],
  writeHighWaterBytes?: number,
): Promise<{ client: RawClient; conn: Connection; closes: ConnectionEvent[] }> {
  const server = await serve(transport, { listen: [target(kind)], writeHighWaterBytes });
  track(server.slices$.subscribe());
  const closes: ConnectionEvent[] = [];
  track(server.connections$.subscribe((event) => event.type === 'close' && closes.push(event)));
  const client = await RawClient.connect(server.listeners[0]!, { read: false });
  await waitUntil(() => server.connections.size === 1, 'the connection');
  return { client, conn: [...server.connections][0]!, closes };
}

describe.each(transports())('%s transport: write, end and close', (transport) => {
  afterEach(cleanup);

  describe.each(SOCKET_KINDS)('over %s', (kind) => {
    it('write() copies its bytes: the caller may reuse the buffer at once', async () => {
      const { client, conn } = await openOne(transport, kind);
      const scratch = Buffer.from('first ');
      conn.write(scratch);
      scratch.write('secnd ');
      conn.write(scratch);
      scratch.fill(0x21);
      client.startReading();
      await client.waitForBytes(12);
      expect(client.text()).toBe('first secnd ');
    });

    it('many small writes in one turn arrive whole and in order', async () => {
      const { client, conn } = await openOne(transport, kind);
      const parts = Array.from({ length: 5000 }, (_, i) => `${i},`);
      for (const part of parts) conn.write(Buffer.from(part));
      client.startReading();
      const expected = parts.join('');
      await client.waitForText(expected);
      expect(client.text()).toBe(expected);
    });

    it('small writes to two connections, interleaved in one turn, each arrive whole and in order', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      track(server.slices$.subscribe());
      const clients = [await RawClient.connect(server.listeners[0]!), await RawClient.connect(server.listeners[0]!)];
      await waitUntil(() => server.connections.size === 2, 'both connections');
      const conns = [...server.connections];
      const expected = ['', ''];
      // Runs of one connection's writes (which the native transport stages as one) broken by the
      // other's, with writes large enough to skip staging and, in all, more than its 256 KiB holds.
      for (let i = 0; i < 3000; i++) {
        const to = (i * 7) % 5 < 2 ? 0 : 1;
        const part = i % 250 === 0 ? `${i}${'-'.repeat(20_000)},` : `${i}${'.'.repeat(i % 97)},`;
        conns[to]!.write(Buffer.from(part));
        expected[to] += part;
      }
      expect(expected[0]!.length + expected[1]!.length).toBeGreaterThan(300_000);
      for (const [i, client] of clients.entries()) {
        await client.waitForText(expected[i]!);
        expect(client.text()).toBe(expected[i]);
      }
    });

    it('end() sends everything queued, then ends the stream', async () => {
      const { client, conn, closes } = await openOne(transport, kind);
      const payload = randomBytes(8 * 1024 * 1024);
      for (let at = 0; at < payload.length; at += 100_000) conn.write(payload.subarray(at, at + 100_000));
      conn.end();
      client.startReading();
      await client.waitForEnd(20_000);
      expect(client.received).toBe(payload.length);
      expect(sha256(client.bytes())).toBe(sha256(payload));
      client.end();
      await waitUntil(() => conn.closed, 'the connection to close');
      expect(closes).toEqual([{ type: 'close', connection: conn }]);
    });

    it('close() drops queued output and closes at once; later writes return false', async () => {
      const { client, conn, closes } = await openOne(transport, kind);
      conn.write(Buffer.alloc(8 * 1024 * 1024));
      conn.close();
      await waitUntil(() => conn.closed, 'the connection to close');
      expect(closes.map((e) => e.connection)).toEqual([conn]);
      expect(conn.write(Buffer.from('late'))).toBe(false);
      expect(conn.writableLength).toBe(0);
      client.startReading();
      await client.waitForClose();
      expect(client.received).toBeLessThan(8 * 1024 * 1024);
    });

    it('write() returns false over writeHighWaterBytes, pausing reads until the peer drains it', async () => {
      const highWater = 64 * 1024;
      const { client, conn } = await openOne(transport, kind, highWater);
      expect(conn.write(Buffer.alloc(1000))).toBe(true);
      expect(conn.pausedBy).toBe(0);
      let writes = 1;
      while (conn.write(Buffer.alloc(32 * 1024))) {
        if (++writes > 10_000) throw new Error('write() never returned false');
        if (writes % 16 === 0) await sleep(1);
      }
      expect(conn.writableLength).toBeGreaterThan(highWater);
      expect(conn.pausedBy & PauseReason.Write).toBe(PauseReason.Write);

      client.startReading();
      await waitUntil(() => conn.pausedBy === 0, 'the Write pause to lift once drained');
      expect(conn.writableLength).toBeLessThanOrEqual(highWater);
    });
  });
});
