/**
 * Hostile structure inside a message of legal size: nesting 10,000 levels deep, and
 * MessagePack lengths claiming gigabytes inside a frame of a few bytes. Nothing may
 * overflow the stack or allocate what a length claims; each message gets its answer
 * and the connection and server live on.
 *
 * What the answers are, and why:
 * - JSON nested 10,000 (or 500,000) levels is valid JSON within the size limit, so
 *   PROTOCOL.md 2.2 makes it an ordinary request: its handler runs and gets the
 *   whole structure (V8's JSON.parse does not recurse). Echoing it back fails to
 *   serialize (JSON.stringify does recurse), which is -32603, like any result that
 *   cannot be encoded.
 * - MessagePack nested 10,000 levels is -32700: the decoder admits at most 512
 *   levels (msgpackr recurses per level and would overflow), so the payload "does
 *   not decode" (PROTOCOL.md 3). The same structure as a JSON payload (flag bit 0)
 *   is accepted, as on a JSON-RPC connection.
 * - A map32/array32/str32/bin32 claiming 0xFFFFFFFF entries or bytes in a small
 *   frame is -32700: the payload does not decode, since the frame cannot hold what
 *   it claims; it is refused before any allocation of that size.
 */

import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { Handlers } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

/** Levels of nesting, counted without recursion (the handler must not overflow either). */
function depth(params: unknown): number {
  let levels = 0;
  let value = params;
  while (typeof value === 'object' && value !== null) {
    levels++;
    value = Array.isArray(value) ? value[0] : Object.values(value)[0];
  }
  return levels;
}

const handlers: Handlers = { ...demoHandlers, depth };
const DEEP = 10_000;

const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const nestedObjects = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
const jsonCall = (id: number, method: string, params: string) => `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}\n`;

/** `{method, params}` as MessagePack with `params` given as raw MessagePack bytes. */
function msgpackRequest(method: string, params: Uint8Array): Uint8Array {
  const head = pack({ method, params: null });
  // pack ends with the nil (0xc0) standing in for params: put the raw bytes there.
  expect(head.at(-1)).toBe(0xc0);
  return Buffer.concat([head.subarray(0, -1), params]);
}

const u32 = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const HUGE_CLAIMS: Array<[string, number[]]> = [
  ['map32 of 0xFFFFFFFF entries', [0xdf, ...u32(0xffffffff)]],
  ['array32 of 0xFFFFFFFF items', [0xdd, ...u32(0xffffffff)]],
  ['str32 of 0xFFFFFFFF bytes', [0xdb, ...u32(0xffffffff)]],
  ['bin32 of 0xFFFFFFFF bytes', [0xc6, ...u32(0xffffffff)]],
  ['ext32 of 0xFFFFFFFF bytes', [0xc9, ...u32(0xffffffff), 0x01]],
  ['map16 of 0xFFFF entries', [0xde, 0xff, 0xff]],
  ['array16 of 0xFFFF items, then 3 bytes', [0xdc, 0xff, 0xff, 1, 2, 3]],
];

describe.each(matrix())('deep nesting and huge length claims (%s, %s)', (transport, kind) => {
  async function client() {
    const { address } = await startServer(transport, kind, { handlers });
    return rawClient(address);
  }

  it(`JSON params nested ${DEEP} levels (arrays, objects) reach the handler whole, then the connection goes on`, async () => {
    const c = await client();
    await c.send(jsonCall(1, 'depth', nestedArrays(DEEP)) + jsonCall(2, 'depth', nestedObjects(DEEP)) + jsonCall(3, 'ping', '[]'));
    expect(await readLines(c, 3)).toEqual([
      { jsonrpc: '2.0', id: 1, result: DEEP },
      { jsonrpc: '2.0', id: 2, result: DEEP },
      { jsonrpc: '2.0', id: 3, result: 'pong' },
    ]);
  });

  it('JSON nested 500,000 levels (just under 1 MiB) reaches the handler whole', async () => {
    const c = await client();
    await c.sendAll(Buffer.from(jsonCall(1, 'depth', nestedArrays(500_000)) + jsonCall(2, 'ping', '[]')));
    expect(await readLines(c, 2, 10_000)).toEqual([
      { jsonrpc: '2.0', id: 1, result: 500_000 },
      { jsonrpc: '2.0', id: 2, result: 'pong' },
    ]);
  });

  it(`echoing JSON nested ${DEEP} levels is -32603 (the result cannot be serialized), and the connection goes on`, async () => {
    const c = await client();
    await c.send(jsonCall(1, 'echo', `[${nestedArrays(DEEP)}]`) + jsonCall(2, 'ping', '[]'));
    expect(await readLines(c, 2)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } },
      { jsonrpc: '2.0', id: 2, result: 'pong' },
    ]);
  });

  it(`LSP: a body nested ${DEEP} levels reaches the handler whole`, async () => {
    const c = await client();
    const body = jsonCall(1, 'depth', nestedArrays(DEEP)).trimEnd();
    await c.send(`Content-Length: ${body.length}\r\n\r\n${body}`);
    const answer = '{"jsonrpc":"2.0","id":1,"result":10000}';
    await c.waitForText(`Content-Length: ${answer.length}\r\n\r\n${answer}`);
    expect(c.text()).toBe(`Content-Length: ${answer.length}\r\n\r\n${answer}`);
  });

  it(`MCP1: MessagePack nested ${DEEP} levels is -32700, 100 levels are fine, and the connection goes on`, async () => {
    const c = await client();
    const deep = new Uint8Array(DEEP).fill(0x91);
    deep[DEEP - 1] = 0x90; // the innermost array is empty
    const shallow = new Uint8Array(100).fill(0x91);
    shallow[99] = 0x90;
    await c.send(
      Buffer.concat([
        mcp1Bytes({ type: 1, id: 1, payload: msgpackRequest('depth', deep) }),
        mcp1Bytes({ type: 1, id: 2, payload: msgpackRequest('depth', shallow) }),
        mcp1Bytes({ type: 5, id: 3 }),
      ]),
    );
    const frames = await readFrames(c, 3);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)).toMatchObject({ type: 3, value: { code: -32700, message: 'Parse error' } });
    expect(byId.get(2)).toMatchObject({ type: 2, value: 100 });
    expect(byId.get(3)).toMatchObject({ type: 6 });
    expect(c.closed).toBe(false);
  });

  it(`MCP1: a JSON payload nested ${DEEP} levels reaches the handler whole`, async () => {
    const c = await client();
    await c.send(mcp1Bytes({ type: 1, id: 4, flags: 1, payload: `{"method":"depth","params":${nestedArrays(DEEP)}}` }));
    expect(await readFrames(c, 1)).toMatchObject([{ type: 2, flags: 1, id: 4, value: DEEP }]);
  });

  it.each(HUGE_CLAIMS)(
    'MCP1: a %s in a small frame is -32700, as the payload and as params; the connection goes on',
    async (_name, claim) => {
      const c = await client();
      await c.send(
        Buffer.concat([
          mcp1Bytes({ type: 1, id: 1, payload: new Uint8Array(claim) }),
          mcp1Bytes({ type: 1, id: 2, payload: msgpackRequest('echo', new Uint8Array(claim)) }),
          request(3, 'echo', ['after']),
        ]),
      );
      const frames = await readFrames(c, 3);
      const byId = new Map(frames.map((f) => [f.id, f]));
      expect(byId.get(1)).toMatchObject({ type: 3, value: { code: -32700 } });
      expect(byId.get(2)).toMatchObject({ type: 3, value: { code: -32700 } });
      expect(byId.get(3)).toMatchObject({ type: 2, value: 'after' });
      expect(c.closed).toBe(false);
    },
  );
});
