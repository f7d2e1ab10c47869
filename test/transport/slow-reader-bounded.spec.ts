import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, PauseReason } from '../../src/core/connection.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const HIGH_WATER = 256 * 1024;
const CHUNK = 64 * 1024;
/** Far more than loopback socket buffers hold on both sides (TCP autotuning tops out at a few MiB). */
const MAX_PUMP = 96 * 1024 * 1024;

describe.each(transports())('%s transport: a client that never reads', (transport) => {
  afterEach(cleanup);

  it.each(SOCKET_KINDS)(
    'over %s: unsent output stays near writeHighWaterBytes, reading from that client stops, others go on, nothing is lost',
    async (kind) => {
      const server = await serve(transport, { listen: [target(kind)], writeHighWaterBytes: HIGH_WATER });
      const bytesInOf = new Map<Connection, number>();
      let largestSlice = 0;
      track(
        server.slices$.subscribe((record) => {
          if (record.type === 'data') {
            const { connection, bytes } = record;
            bytesInOf.set(connection, (bytesInOf.get(connection) ?? 0) + bytes.length);
            largestSlice = Math.max(largestSlice, bytes.length);
            connection.write(bytes);
          } else if (record.type === 'end') {
            record.connection.end();
          }
        }),
      );
      const slow = await RawClient.connect(server.listeners[0]!, { read: false, keep: false });
      await waitUntil(() => server.connections.size === 1, 'the slow client to be accepted');
      const conn = [...server.connections][0]!;

      const sent = createHash('sha256');
      let sentBytes = 0;
      const pump = (): void => {
        const chunk = randomBytes(CHUNK);
        sent.update(chunk);
        sentBytes += chunk.length;
        slow.socket.write(chunk);
      };
      // The client sends as fast as the server reads; the echo piles up unread.
      while ((conn.pausedBy & PauseReason.Write) === 0) {
        if (sentBytes > MAX_PUMP) throw new Error(`never paused after ${sentBytes} bytes`);
        pump();
        if (slow.socket.writableLength > 4 * CHUNK) await sleep(1);
      }

      // Past the mark, at most the slices of the read that crossed it were echoed.
      expect(conn.writableLength).toBeLessThanOrEqual(HIGH_WATER + 2 * largestSlice);

      const readAtPause = bytesInOf.get(conn);
      for (let i = 0; i < 30; i++) {
        pump();
        await sleep(10);
      }
      expect(bytesInOf.get(conn)).toBe(readAtPause);
      expect(conn.pausedBy & PauseReason.Write).toBe(PauseReason.Write);
      expect(conn.writableLength).toBeLessThanOrEqual(HIGH_WATER + 2 * largestSlice);

      const other = await RawClient.connect(server.listeners[0]!);
      await other.send('still served\n');
      await other.waitForText('still served\n');
      expect(other.text()).toBe('still served\n');

      slow.startReading();
      await waitUntil(() => (conn.pausedBy & PauseReason.Write) === 0, 'reading to resume once the client drains');
      slow.end();
      await slow.waitForEnd(30_000);
      expect(slow.received).toBe(sentBytes);
      expect(slow.digest()).toBe(sent.digest('hex'));
      expect(bytesInOf.get(conn)).toBe(sentBytes);
    },
  );
});
