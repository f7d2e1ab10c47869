/**
 * PROTOCOL.md 2.1, 2.3 and 3: a message over `maxMessageBytes` gets its error and
 * the connection is closed as soon as the bytes that decide it arrive — at the
 * limit-plus-first byte of a JSON value, at the end of an LSP header, at the 16th
 * byte of an MCP1 header — without waiting for (or buffering) the body the peer
 * announced, and while the peer keeps its side open.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { matrix, rawClient, startServer, useCleanup } from '../fixtures/harness.js';
import { parseFrames } from '../fixtures/mcp1.js';
import type { RawClient } from '../helpers/rawClient.js';
import { recordFigure, TOO_LARGE, untilRead } from './input-wire.js';

useCleanup();

const MiB = 1024 * 1024;
/** Tries per case; the median must be under the bound, and every try under {@link WORST_MS}. */
const TRIES = 5;
const BOUND_MS = 50;
/** Far below every timeout (messageTimeoutMs 30 s, detectTimeoutMs 5 s): proves nothing was waited for. */
const WORST_MS = 1000;

interface Case {
  readonly name: string;
  readonly limit: number;
  /** Everything but the deciding bytes. */
  readonly before: (limit: number) => Buffer;
  /** The bytes that make the message too large. */
  readonly deciding: Buffer;
  readonly check: (client: RawClient) => void;
}

function jsonOpen(limit: number): Buffer {
  const head = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["';
  return Buffer.concat([Buffer.from(head), Buffer.alloc(limit - head.length, 0x78)]);
}

const expectTooLargeLine = (c: RawClient) => expect(c.text()).toBe(TOO_LARGE);
const expectLspTooLarge = (c: RawClient) => {
  const body = TOO_LARGE.trimEnd();
  expect(c.text()).toBe(`Content-Length: ${body.length}\r\n\r\n${body}`);
};
const expectMcp1Violation = (c: RawClient) => {
  const frames = parseFrames(c.bytes());
  expect(frames).toHaveLength(1);
  expect(frames[0]).toMatchObject({ type: 3, id: 0, value: { code: -32600 } });
};

const CASES: Case[] = [
  // A JSON value of exactly the limit is still legal; its next byte is what makes it too large.
  {
    name: 'a JSON value of maxMessageBytes + 1 (default 1 MiB)',
    limit: MiB,
    before: jsonOpen,
    deciding: Buffer.from('x'),
    check: expectTooLargeLine,
  },
  {
    name: 'a JSON value of maxMessageBytes + 1 (limit 1 KiB)',
    limit: 1024,
    before: jsonOpen,
    deciding: Buffer.from('x'),
    check: expectTooLargeLine,
  },
  {
    name: 'an LSP Content-Length of maxMessageBytes + 1 (default 1 MiB)',
    limit: MiB,
    before: (limit) => Buffer.from(`Content-Length: ${limit + 1}\r\n\r`),
    deciding: Buffer.from('\n'),
    check: expectLspTooLarge,
  },
  {
    name: 'an MCP1 header claiming 0xFFFFFFFF bytes (default 1 MiB)',
    limit: MiB,
    before: () => Buffer.from(mcp1Bytes({ type: 1, id: 7, length: 0xffffffff })).subarray(0, 15),
    deciding: Buffer.from([0xff]),
    check: expectMcp1Violation,
  },
  {
    name: 'an MCP1 header claiming maxMessageBytes + 1 (limit 1 KiB)',
    limit: 1024,
    before: () => Buffer.from(mcp1Bytes({ type: 1, id: 7, length: 1025 })).subarray(0, 15),
    deciding: Buffer.from([1025 & 0xff]),
    check: expectMcp1Violation,
  },
];

/** ms from handing the deciding bytes to the kernel until the server's close reaches us. */
function closeAfter(socket: Socket, send: () => Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    socket.once('close', () => resolve(performance.now() - sentAt));
    sentAt = performance.now();
    send().catch(reject);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe.each(matrix())('an oversized message is refused at once (%s, %s)', (transport, kind) => {
  it.each(CASES)(
    '$name: error, then close, within 50 ms of the deciding bytes, body never sent',
    async ({ name, limit, before, deciding, check }) => {
      const { server, address } = await startServer(transport, kind, { limits: { maxMessageBytes: limit } });
      const times: number[] = [];
      for (let i = 0; i < TRIES; i++) {
        const c = await rawClient(address);
        const first = before(limit);
        const base = server.transport.stats().bytesIn;
        await c.sendAll(first);
        // Everything but the deciding bytes has been read, and was still legal: nothing answered, still open.
        await untilRead(server, base + first.length, 10_000);
        expect(c.received).toBe(0);
        expect(c.closed).toBe(false);
        // The client never ends its side: the server must close on its own.
        times.push(await closeAfter(c.socket, () => c.send(deciding)));
        check(c);
      }
      recordFigure(`close after ${name} (${transport}, ${kind})`, { tries: TRIES, medianMs: median(times), maxMs: Math.max(...times) });
      expect(median(times), `ms to close: ${times.map((t) => t.toFixed(1)).join(', ')}`).toBeLessThan(BOUND_MS);
      expect(Math.max(...times)).toBeLessThan(WORST_MS);
      expect(server.stats().violations['too-large']).toBe(TRIES);
    },
  );
});
