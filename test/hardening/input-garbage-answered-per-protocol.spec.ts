/**
 * Random garbage, as a connection's first bytes and after each protocol was
 * detected, gets exactly the answer PROTOCOL.md prescribes: the unknown-protocol
 * line then close; -32700 and go on for JSON; -32700 then close for a broken LSP
 * header; a type-3 id-0 frame then close for an MCP1 frame violation. The server
 * never crashes (its onError is never called) and a normal client on another
 * connection keeps getting answers throughout.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';
import type { Address } from '../helpers/rawClient.js';
import { expectedDetection, lspBodies, PARSE_ERROR_LINE, readLsp, UNRECOGNIZED } from './input-wire.js';

useCleanup();

/** Runs per property and (transport, socket) pair: bounded, so the file stays within a few seconds. */
const RUNS = 25;
const LIMIT = 256;
const PONG = (id: number) => `{"jsonrpc":"2.0","id":${id},"result":"pong"}`;
const PING = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`;
const LSP_PING = `Content-Length: ${PING(1).length}\r\n\r\n${PING(1)}`;
const lsp = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Near misses of real openings, mutated, and plain random bytes. */
const firstBytes = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc
      .tuple(
        fc.constantFrom('MCP1', 'MCP2', 'Content-Length:', 'content-lenGth:', '  {', 'PROXY TCP4 ', 'GET / HTTP/1.1\r\n', '\x16\x03\x01'),
        fc.nat(20),
        fc.uint8Array({ minLength: 1, maxLength: 24 }),
      )
      .map(([opening, at, noise]) => {
        const bytes = Buffer.from(opening + 'xxxxxxxxxxxxxxxxxxxx', 'latin1');
        bytes.set(noise.subarray(0, Math.max(1, bytes.length - at)), Math.min(at, bytes.length - 1));
        return new Uint8Array(bytes);
      }),
  )
  .filter((b) => expectedDetection(b) === 'unknown');

/**
 * Bytes that start neither an object nor an array and hold no newline: framing
 * makes them one message up to the newline (PROTOCOL.md 2.1), answered -32700, or
 * -32600 where they happen to be a JSON scalar such as `0` (the JSON-RPC
 * specification answers `1` with "Invalid Request"); then the stream goes on.
 */
const jsonLineGarbage = fc.uint8Array({ minLength: 1, maxLength: 120 }).filter((b) => {
  if (b.includes(0x0a)) return false;
  const first = b.find((c) => !isWs(c));
  return first !== undefined && first !== 0x7b && first !== 0x5b;
});

/** A bracketed value whose inside has no brackets, quotes or backslashes: framing ends at its last byte. */
const jsonValueGarbage = fc
  .tuple(fc.boolean(), fc.string({ unit: fc.constantFrom(...'0123456789,:.-+eEtrufalsn \t\r\nxyz!#'.split('')), maxLength: 60 }))
  .map(([object, inside]) => (object ? `{${inside}}` : `[${inside}]`));

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * What the server must answer for one framed message that holds no request: -32700
 * unless it is UTF-8 JSON (PROTOCOL.md 2: "UTF-8 throughout"; a leading BOM may be
 * ignored, RFC 8259 section 8.1), else -32600 for it or for each batch member.
 */
function expectedFor(message: Uint8Array | string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(typeof message === 'string' ? message : utf8.decode(message));
  } catch {
    return [PARSE_ERROR_LINE];
  }
  const invalid = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}';
  if (!Array.isArray(value) || value.length === 0) return [invalid];
  // No member can be a request (no strings can be written), so each gets its own -32600.
  return [`[${value.map(() => invalid).join(',')}]`];
}

describe.each(matrix())('garbage is answered per PROTOCOL.md (%s, %s)', (transport, kind) => {
  let errors: unknown[];
  let address: Address;
  let control: RpcClient;
  let controlCalls: number;

  beforeEach(async () => {
    errors = [];
    controlCalls = 0;
    ({ address } = await startServer(transport, kind, { limits: { maxMessageBytes: LIMIT }, onError: (e) => errors.push(e) }));
    control = await connect('path' in address ? { unix: address.path } : { host: address.host, port: address.port });
  });

  afterEach(async () => {
    // The bystander is still served after everything the property threw at the server.
    expect(await control.call('echo', ['still here'])).toBe('still here');
    expect(controlCalls).toBeGreaterThanOrEqual(RUNS);
    expect(errors).toEqual([]);
    await control.close();
  });

  async function bystanderPings(): Promise<void> {
    expect(await control.call('ping')).toBe('pong');
    controlCalls++;
  }

  it('unknown first bytes: the Unrecognized protocol line, then close', async () => {
    await fc.assert(
      fc.asyncProperty(firstBytes, async (bytes) => {
        const c = await rawClient(address);
        await c.send(bytes).catch(() => undefined); // the server may already have closed
        await c.waitForClose(3000);
        expect(c.text()).toBe(UNRECOGNIZED);
        await bystanderPings();
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON: a line that starts no object or array gets -32700 (-32600 for a scalar) and the stream goes on', async () => {
    await fc.assert(
      fc.asyncProperty(jsonLineGarbage, async (garbage) => {
        const c = await rawClient(address);
        await c.send(Buffer.concat([Buffer.from(`${PING(1)}\n`), garbage, Buffer.from(`\n${PING(2)}\n`)]));
        await readLines(c, 3);
        // The message is what follows the leading whitespace (framing skips it).
        const message = garbage.subarray(garbage.findIndex((b) => !isWs(b)));
        expect(c.text()).toBe(`${[PONG(1), ...expectedFor(message), PONG(2)].join('\n')}\n`);
        expect(c.closed).toBe(false);
        c.destroy();
        await bystanderPings();
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON: a broken value gets -32700 (or -32600 if it parses) and the stream goes on', async () => {
    await fc.assert(
      fc.asyncProperty(jsonValueGarbage, async (garbage) => {
        const c = await rawClient(address);
        await c.send(`${PING(1)}${garbage}${PING(2)}`);
        await readLines(c, 3);
        expect(c.text()).toBe(`${[PONG(1), ...expectedFor(garbage), PONG(2)].join('\n')}\n`);
        c.destroy();
        await bystanderPings();
      }),
      { numRuns: RUNS },
    );
  });

  it('LSP: a header without a usable Content-Length gets -32700 then close; a bad body -32700 and goes on', async () => {
    const value = fc.string({ unit: fc.constantFrom(...'0123456789 \t+-x.'.split('')), maxLength: 8 });
    const headerNoise = fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((b) => !b.includes(0x0a) && !b.includes(0x0d));
    await fc.assert(
      fc.asyncProperty(value, headerNoise, fc.boolean(), async (lengthText, noise, withNoise) => {
        const c = await rawClient(address);
        const extra = withNoise ? Buffer.concat([noise, Buffer.from('\r\n')]) : Buffer.alloc(0);
        const digits = /^[ \t]*(\d+)[ \t]*$/.exec(lengthText);
        const length = digits ? Number(digits[1]) : -1;
        // A noise line is a header line only if it has a colon (PROTOCOL.md 2.3: "Name: value").
        const headerOk = length >= 0 && (!withNoise || noise.includes(0x3a));
        const body = Buffer.alloc(Math.max(0, Math.min(length, LIMIT)), 0x20); // whitespace: never valid JSON
        await c.send(Buffer.concat([Buffer.from(`${LSP_PING}Content-Length:${lengthText}\r\n`), extra, Buffer.from('\r\n'), body]));
        if (headerOk && length <= LIMIT) {
          await c.send(lsp(PING(2)));
          expect(await readLsp(c, 3)).toEqual([PONG(1), PARSE_ERROR_LINE, PONG(2)]);
          expect(c.closed).toBe(false);
          c.destroy();
        } else {
          await c.waitForClose(3000);
          const error = headerOk ? '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}' : PARSE_ERROR_LINE;
          expect(lspBodies(c.bytes())).toEqual([PONG(1), error]);
        }
        await bystanderPings();
      }),
      { numRuns: RUNS },
    );
  });

  it('MCP1: a header violation gets one type-3 frame with id 0 and -32600, then close; a bad payload costs only its request', async () => {
    const header = fc.record({
      magic: fc.oneof({ weight: 4, arbitrary: fc.constant('MCP1') }, { weight: 1, arbitrary: fc.string({ minLength: 4, maxLength: 4 }) }),
      type: fc.oneof(fc.constantFrom(1, 4, 5, 7), fc.integer({ min: 0, max: 255 })),
      flags: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
      reserved: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 0xffff }) }),
      id: fc.integer({ min: 3, max: 0xffffffff }), // 1 and 2 are the pings around it
      payload: fc.uint8Array({ maxLength: 40 }),
      claimed: fc.option(fc.integer({ min: LIMIT + 1, max: 0xffffffff })),
    });
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        const c = await rawClient(address);
        const magic = Buffer.from(h.magic, 'latin1').subarray(0, 4);
        const frame = mcp1Bytes({
          type: h.type,
          id: h.id,
          flags: h.flags,
          reserved: h.reserved,
          payload: h.payload,
          magic: magic.toString('latin1'),
          length: h.claimed ?? undefined,
        });
        frame.set(magic, 0); // mcp1Bytes encodes the magic as UTF-8; the wire wants these 4 bytes
        const violation =
          magic.toString('latin1') !== 'MCP1' ||
          (h.flags & 0xfe) !== 0 ||
          h.reserved !== 0 ||
          ![1, 4, 5, 7].includes(h.type) ||
          h.claimed !== null;
        await c.send(Buffer.concat([request(1, 'ping'), frame, request(2, 'ping')]));
        if (violation) {
          await c.waitForClose(3000);
          const frames = await readFrames(c, 2);
          expect(frames).toHaveLength(2);
          expect(frames[0]).toMatchObject({ type: 2, id: 1, value: 'pong' });
          expect(frames[1]).toMatchObject({ type: 3, id: 0, value: { code: -32600 } });
        } else {
          // A request answers with its own id; a notification and a cancel of an unknown id write nothing.
          const answered = h.type === 1 || h.type === 5;
          const frames = await readFrames(c, answered ? 3 : 2);
          const own = frames.filter((f) => f.id === h.id);
          if (h.type === 5) expect(own).toMatchObject([{ type: 6, length: 0 }]);
          if (h.type === 1) {
            expect(own).toHaveLength(1);
            expect(own[0]!.type).toBe(3);
            expect([-32700, -32600]).toContain((own[0]!.value as { code: number }).code);
          }
          expect(frames.filter((f) => f.type === 2 && f.value === 'pong').map((f) => f.id)).toEqual(expect.arrayContaining([1, 2]));
          expect(c.closed).toBe(false);
          c.destroy();
        }
        await bystanderPings();
      }),
      { numRuns: RUNS },
    );
  });
});
