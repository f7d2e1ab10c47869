/**
 * A peer that has lost (or never had) the framing and keeps streaming junk is
 * closed promptly with the error PROTOCOL.md names, at the bound that applies —
 * never left to hold a connection and a growing buffer until a timeout. An MCP1
 * stream knocked off by one stray byte is closed within a second; JSON junk without
 * newlines at `maxMessageBytes`; an LSP header that never ends at its 8 KiB bound;
 * whitespace that never decides a protocol after 16 bytes.
 */
import { tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ServerOptions } from '../../src/server/options.js';
import { LINGER_MS } from '../../src/transport/base.js';
import type { TransportKind } from '../../src/transport/types.js';
import { delay, matrix, rawClient, type SocketKind, startServer, transports, useCleanup } from '../fixtures/harness.js';
import { parseFrames, request } from '../fixtures/mcp1.js';
import { RawClient } from '../helpers/rawClient.js';
import { nextTurn, recordFigure, TOO_LARGE, UNRECOGNIZED } from './input-wire.js';

useCleanup();

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Streams `chunk` until the server ends the stream (or `maxBytes` are sent), letting
 * I/O events in between chunks (`pauseMs`, or one loop turn); returns the bytes
 * handed to the kernel and the ms from the first chunk to the close.
 */
async function junkUntilClosed(c: RawClient, chunk: Uint8Array, maxBytes: number, pauseMs = 0): Promise<{ sent: number; ms: number }> {
  const started = performance.now();
  let sent = 0;
  while (!c.ended && !c.closed && sent < maxBytes) {
    const ok = await c.send(chunk).then(
      () => true,
      () => false, // EPIPE / ECONNRESET: the server has closed
    );
    if (!ok) break;
    sent += chunk.length;
    await (pauseMs > 0 ? delay(pauseMs) : nextTurn());
  }
  await c.waitForClose(5000);
  return { sent, ms: performance.now() - started };
}

/**
 * A server whose `closedAt` tells how many bytes its transport had read when the
 * pipeline decided to close a connection (the last stage sees the closing record).
 */
async function serverWithCloseProbe(transport: TransportKind, kind: SocketKind, options: Partial<ServerOptions> = {}) {
  const closedAt: number[] = [];
  const started = await startServer(transport, kind, {
    ...options,
    pipeline: (stages) => [
      ...stages,
      { name: 'closeProbe', operator: tap((r) => r.type === 'out' && r.close && closedAt.push(started.server.transport.stats().bytesIn)) },
    ],
  });
  return { ...started, closedAt };
}

describe.each(matrix())('a desynchronised stream is closed, not hung (%s, %s)', (transport, kind) => {
  it('MCP1: one stray byte then 1 KiB chunks of junk: a type-3 id-0 frame, closed within 1 s', async () => {
    const { server, address } = await startServer(transport, kind);
    const c = await rawClient(address);
    c.socket.setNoDelay(true); // the stray byte goes out alone, at once, not held back by Nagle
    await c.send(request(1, 'ping'));
    await c.waitForBytes(16 + 5); // the pong frame: header + msgpack "pong"
    const junk = Buffer.alloc(KiB, 0x41);
    const started = performance.now();
    await c.send(Buffer.from([0x00]));
    const { sent } = await junkUntilClosed(c, junk, 256 * KiB, 2);
    const ms = performance.now() - started;
    recordFigure(`MCP1 stray byte + 1 KiB junk chunks, time to close (${transport}, ${kind})`, { ms, junkSent: sent });
    expect(ms).toBeLessThan(1000);
    const frames = parseFrames(c.bytes());
    expect(frames.map((f) => [f.type, f.id])).toEqual([
      [2, 1],
      [3, 0],
    ]);
    expect(frames[1]!.value).toMatchObject({ code: -32600, message: 'Bad magic' });
    expect(server.stats().violations['bad-header']).toBe(1);
  });

  it.each([
    ['bytes that start no value', 'a'],
    ['an object that never closes', '{"a":"'],
    ['arrays that never close', '['],
  ])('JSON: %s, streamed without a newline, is closed at maxMessageBytes (1 MiB)', async (_name, opening) => {
    const { address, closedAt } = await serverWithCloseProbe(transport, kind);
    const c = await rawClient(address);
    const ping = '{"jsonrpc":"2.0","id":1,"method":"ping"}\n';
    await c.send(ping);
    await c.waitForText('{"jsonrpc":"2.0","id":1,"result":"pong"}\n');
    await c.send(opening);
    const filler = opening === '[' ? '[' : 'x';
    const { sent, ms } = await junkUntilClosed(c, Buffer.alloc(16 * KiB, filler), 8 * MiB);
    const junkRead = closedAt[0]! - ping.length;
    recordFigure(`JSON junk without newline (${opening}), closed at the limit (${transport}, ${kind})`, {
      ms,
      sent,
      junkReadWhenClosed: junkRead,
    });
    expect(c.text()).toBe(`{"jsonrpc":"2.0","id":1,"result":"pong"}\n${TOO_LARGE}`);
    // Decided at the limit: past 1 MiB of junk, and by no more than one read.
    expect(closedAt).toHaveLength(1);
    expect(junkRead).toBeGreaterThan(MiB);
    expect(junkRead).toBeLessThan(MiB + 256 * KiB);
    expect(sent).toBeLessThan(8 * MiB);
  });

  it('LSP: a header block that never ends is closed at 8 KiB with -32700', async () => {
    const { address, closedAt } = await serverWithCloseProbe(transport, kind);
    const c = await rawClient(address);
    await c.send('Content-Length: 5\r\nX-Junk: ');
    const { sent } = await junkUntilClosed(c, Buffer.alloc(KiB, 0x6a), 4 * MiB);
    const body = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}';
    expect(c.text()).toBe(`Content-Length: ${body.length}\r\n\r\n${body}`);
    expect(closedAt).toHaveLength(1);
    expect(closedAt[0]).toBeGreaterThanOrEqual(8 * KiB);
    expect(closedAt[0]).toBeLessThan(8 * KiB + 64 * KiB);
    expect(sent).toBeLessThan(4 * MiB);
  });

  it('whitespace that never decides a protocol is unknown after 16 bytes', async () => {
    const { address, closedAt } = await serverWithCloseProbe(transport, kind);
    const c = await rawClient(address);
    const { sent } = await junkUntilClosed(c, Buffer.alloc(KiB, 0x20), 4 * MiB);
    expect(c.text()).toBe(UNRECOGNIZED);
    expect(closedAt).toHaveLength(1);
    expect(closedAt[0]).toBeGreaterThanOrEqual(16);
    expect(closedAt[0]).toBeLessThanOrEqual(64 * KiB);
    expect(sent).toBeLessThan(4 * MiB);
  });
});

describe.each(transports())('a peer that ignores the close and keeps sending (%s, tcp)', (transport) => {
  it('is cut off LINGER_MS after the server ended the connection, its junk read and dropped', async () => {
    const { server, address } = await startServer(transport, 'tcp', { limits: { maxMessageBytes: 4 * KiB } });
    // allowHalfOpen: this peer does not close when the server ends; it just goes on writing.
    const c = await RawClient.connect(address, { allowHalfOpen: true });
    await c.send('{"a":"');
    const started = performance.now();
    while (!c.closed && performance.now() - started < LINGER_MS + 3000) {
      await c.send(Buffer.alloc(KiB, 0x78)).catch(() => undefined);
      await delay(5);
    }
    const ms = performance.now() - started;
    recordFigure(`peer that ignores FIN and keeps sending junk, time to be cut off (${transport}, tcp)`, { ms });
    expect(c.closed).toBe(true);
    expect(c.ended).toBe(true);
    expect(c.text()).toBe(TOO_LARGE);
    expect(ms).toBeGreaterThan(LINGER_MS - 100);
    expect(ms).toBeLessThan(LINGER_MS + 2000);
    expect(server.stats().connections.open).toBe(0);
  });
});
