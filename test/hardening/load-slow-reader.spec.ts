/**
 * A client that sends requests and never reads (PROTOCOL.md section 4,
 * `writeHighWaterBytes`): the server stops reading it once its unsent answers pass
 * the limit, so the server holds about the limit for it and no more; other clients
 * are served meanwhile; when the client finally reads, every answer arrives. The
 * same bound must hold while a handler streams to such a client (fails today).
 */
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Connection, PauseReason } from '../../src/core/connection.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { delay, matrix, RawClient, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { request } from '../fixtures/mcp1.js';

useCleanup();

const HIGH_WATER = 256 * 1024;
const PAYLOAD = 64 * 1024;
/** 300 answers of 64 KiB: 19 MiB, more than the kernel's socket buffers hold on either side. */
const REQUESTS = 300;

describe.each(matrix())('a client that never reads its answers (%s, %s)', (transport, kind) => {
  it('is no longer read past writeHighWaterBytes, costs the server about that much, and loses nothing', async () => {
    const { server, address } = await startServer(transport, kind, { limits: { writeHighWaterBytes: HIGH_WATER } });
    const slow = await RawClient.connect(address, { read: false });
    await until(() => server.transport.connections.size === 1, 'the slow client to be accepted');
    const conn: Connection = [...server.transport.connections][0]!;

    const payloads = Array.from({ length: REQUESTS }, (_, i) => String(i % 10).repeat(PAYLOAD));
    let input = '';
    for (let id = 0; id < REQUESTS; id++) input += `{"jsonrpc":"2.0","id":${id},"method":"echo","params":["${payloads[id]}"]}\n`;
    const requestBytes = Buffer.byteLength(input);

    // What the server holds for this connection at its fullest: right after each write.
    let peakUnsent = 0;
    const write = conn.write.bind(conn);
    Object.assign(conn, {
      write(bytes: Uint8Array): boolean {
        const ok = write(bytes);
        peakUnsent = Math.max(peakUnsent, conn.writableLength);
        return ok;
      },
    });
    slow.socket.write(input);

    await until(() => (conn.pausedBy & PauseReason.Write) !== 0, 'reading to pause for unsent output');
    // Stays paused: the kernel buffers are full and the server reads no more of it.
    await delay(300);
    expect(conn.pausedBy & PauseReason.Write).toBe(PauseReason.Write);
    const readWhilePaused = server.stats().bytes.in;
    expect(readWhilePaused).toBeLessThan(requestBytes);

    // Meanwhile another client is served as usual.
    const other = await rawClient(address);
    for (let id = 1; id <= 20; id++) {
      await other.send(`{"jsonrpc":"2.0","id":${id},"method":"sum","params":[${id},1]}\n`);
      const answers = (await readLines(other, id)) as Array<{ id: number; result: number }>;
      expect(answers[id - 1]).toEqual({ jsonrpc: '2.0', id, result: id + 1 });
    }
    await delay(100);
    expect(server.stats().bytes.in - readWhilePaused).toBeLessThan(4096); // only the other client's requests
    expect(conn.pausedBy & PauseReason.Write).toBe(PauseReason.Write);

    // Over the limit by at most what one read's requests produce (a read may carry several).
    expect(peakUnsent).toBeGreaterThan(HIGH_WATER);
    expect(peakUnsent).toBeLessThan(HIGH_WATER + 6 * (PAYLOAD + 64));

    slow.startReading();
    const answers = (await readLines(slow, REQUESTS, 20_000)) as Array<{ id: number; result: string }>;
    expect(answers.map((a) => a.id).sort((x, y) => x - y)).toEqual(Array.from({ length: REQUESTS }, (_, i) => i));
    for (const a of answers) expect(a.result === payloads[a.id]).toBe(true);
    expect(slow.closed).toBe(false);
    expect(conn.pausedBy).toBe(0);
  });

  // Fails today: writeHighWaterBytes only stops the server reading requests; a
  // streaming handler's items are queued without bound (80 MiB in 1.5 s here).
  it('keeps what it holds for that client bounded while a handler streams to it', async () => {
    const chunk = 's'.repeat(PAYLOAD);
    let emitted = 0;
    const handlers = {
      ...demoHandlers,
      flood: () =>
        new Observable<string>((subscriber) => {
          const timer = setInterval(() => {
            emitted++;
            subscriber.next(chunk);
          }, 1);
          return () => clearInterval(timer);
        }),
    };
    const { server, address } = await startServer(transport, kind, { handlers, limits: { writeHighWaterBytes: HIGH_WATER } });
    const slow = await RawClient.connect(address, { read: false });
    await slow.send(request(1, 'flood'));
    await until(() => server.transport.connections.size === 1 && emitted > 0, 'the stream to start');
    const conn: Connection = [...server.transport.connections][0]!;
    let peakUnsent = 0;
    const sampler = setInterval(() => (peakUnsent = Math.max(peakUnsent, conn.writableLength)), 5);
    await delay(1000);
    clearInterval(sampler);
    // Throttled, cancelled or disconnected: any of those bounds it; an ever-growing queue does not.
    expect(peakUnsent, `${emitted} items of 64 KiB emitted`).toBeLessThan(HIGH_WATER + 4 * 1024 * 1024);
  });
});
