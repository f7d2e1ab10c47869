/**
 * `__proto__`, `constructor` and `prototype` keys sent by a client, in params, in
 * the message itself, in a batch, or as a method name, reach no object prototype:
 * after the calls, `({}).polluted` is undefined and Object.prototype has no new keys
 * in the server's process (the server runs in this process, so its handlers'
 * view is checked directly), and a message whose members sit only under
 * `__proto__` is not a request.
 */
import { pack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Handlers } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { readFrames } from '../fixtures/mcp1.js';
import { readLsp } from './input-wire.js';

useCleanup();

/** What a handler saw: its params' own keys and prototype, and whether anything was polluted. */
interface Seen {
  readonly ownKeys: string[];
  readonly plainPrototype: boolean;
  readonly nestedPlainPrototypes: boolean;
  readonly polluted: unknown;
}

const seen: Seen[] = [];

function inspect(params: unknown): string {
  const all: object[] = [];
  const stack: unknown[] = [params];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    all.push(value);
    for (const key of Object.keys(value)) stack.push((value as Record<string, unknown>)[key]);
  }
  seen.push({
    ownKeys: typeof params === 'object' && params !== null ? Object.keys(params) : [],
    plainPrototype: Array.isArray(params) || Object.getPrototypeOf(params) === Object.prototype,
    nestedPlainPrototypes: all.every((o) => Object.getPrototypeOf(o) === (Array.isArray(o) ? Array.prototype : Object.prototype)),
    polluted: ({} as { polluted?: unknown }).polluted,
  });
  return 'inspected';
}

const handlers: Handlers = { ...demoHandlers, inspect };

const HOSTILE = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}';
const HOSTILE_VALUE = JSON.parse(HOSTILE) as Record<string, unknown>;
const call = (id: number | string, method: string, params: string) =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${params}}`;
const METHOD_NOT_FOUND = { code: -32601, message: 'Method not found' };

function prototypeKeys(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype].flatMap((p) => Reflect.ownKeys(p).map(String));
}

describe.each(matrix())('prototype pollution (%s, %s)', (transport, kind) => {
  let before: string[];

  beforeEach(() => {
    seen.length = 0;
    before = prototypeKeys();
  });

  afterEach(() => {
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(([] as unknown as { polluted?: unknown }).polluted).toBeUndefined();
    expect(prototypeKeys()).toEqual(before);
  });

  async function client() {
    const { address } = await startServer(transport, kind, { handlers });
    return rawClient(address);
  }

  it('JSON: hostile keys in params, nested params and a batch stay own data of plain objects', async () => {
    const c = await client();
    await c.send(
      `${call(1, 'inspect', HOSTILE)}\n${call(2, 'inspect', `[${HOSTILE},[${HOSTILE}]]`)}\n` +
        `[${call(3, 'inspect', HOSTILE)},${call(4, 'echo', `[${HOSTILE}]`)}]\n`,
    );
    const answers = await readLines(c, 3);
    expect(answers[0]).toEqual({ jsonrpc: '2.0', id: 1, result: 'inspected' });
    expect(answers[1]).toEqual({ jsonrpc: '2.0', id: 2, result: 'inspected' });
    // The echo gives back exactly what was sent: the keys are data, written out as they came.
    expect(answers[2]).toEqual([
      { jsonrpc: '2.0', id: 3, result: 'inspected' },
      { jsonrpc: '2.0', id: 4, result: HOSTILE_VALUE },
    ]);
    expect(JSON.stringify((answers[2] as Array<{ result: unknown }>)[1]!.result)).toBe(HOSTILE);
    expect(seen).toHaveLength(3);
    expect(seen[0]!.ownKeys).toEqual(['__proto__', 'constructor', 'prototype']);
    for (const s of seen) expect(s).toMatchObject({ plainPrototype: true, nestedPlainPrototypes: true, polluted: undefined });
  });

  it('JSON: a message whose members sit only under "__proto__" is not a request (-32600), and no handler runs', async () => {
    const c = await client();
    await c.send(`{"__proto__":{"jsonrpc":"2.0","id":7,"method":"inspect","params":[]}}\n${call(8, 'ping', '[]')}\n`);
    expect(await readLines(c, 2)).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } },
      { jsonrpc: '2.0', id: 8, result: 'pong' },
    ]);
    expect(seen).toEqual([]);
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '__lookupGetter__'])(
    'method %j is not found (-32601): Object.prototype members are not handlers',
    async (method) => {
      const c = await client();
      await c.send(`${call(1, method, '["polluted"]')}\n`);
      expect(await readLines(c, 1)).toEqual([{ jsonrpc: '2.0', id: 1, error: METHOD_NOT_FOUND }]);
    },
  );

  it('LSP: hostile keys in params stay own data', async () => {
    const c = await client();
    const body = call(1, 'inspect', HOSTILE);
    await c.send(`Content-Length: ${body.length}\r\n\r\n${body}`);
    expect(await readLsp(c, 1)).toEqual(['{"jsonrpc":"2.0","id":1,"result":"inspected"}']);
    expect(seen[0]).toMatchObject({ ownKeys: ['__proto__', 'constructor', 'prototype'], plainPrototype: true, polluted: undefined });
  });

  it('MCP1: hostile keys in MessagePack and JSON payloads reach no prototype', async () => {
    const c = await client();
    // msgpackr's pack writes "__proto__" as an ordinary map key, as any client library would.
    const params = { constructor: { prototype: { polluted: 'yes' } }, prototype: { polluted: 'yes' } };
    const withProto = Buffer.concat([
      Buffer.from([0x82]),
      pack('method'),
      pack('inspect'),
      pack('params'),
      Buffer.from([0x83]),
      pack('__proto__'),
      pack({ polluted: 'yes' }),
      pack('constructor'),
      pack(params.constructor),
      pack('prototype'),
      pack(params.prototype),
    ]);
    await c.send(
      Buffer.concat([
        mcp1Bytes({ type: 1, id: 1, payload: withProto }),
        mcp1Bytes({ type: 1, id: 2, flags: 1, payload: `{"method":"inspect","params":${HOSTILE}}` }),
        mcp1Bytes({ type: 1, id: 3, payload: pack({ method: '__proto__', params: [] }) }),
        mcp1Bytes({ type: 1, id: 4, payload: pack({ method: 'constructor', params: [] }) }),
      ]),
    );
    const frames = await readFrames(c, 4);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)).toMatchObject({ type: 2, value: 'inspected' });
    expect(byId.get(2)).toMatchObject({ type: 2, value: 'inspected' });
    expect(byId.get(3)).toMatchObject({ type: 3, value: METHOD_NOT_FOUND });
    expect(byId.get(4)).toMatchObject({ type: 3, value: METHOD_NOT_FOUND });
    expect(seen).toHaveLength(2);
    for (const s of seen) expect(s).toMatchObject({ plainPrototype: true, nestedPlainPrototypes: true, polluted: undefined });
    expect(seen[1]!.ownKeys).toEqual(['__proto__', 'constructor', 'prototype']);
  });

  // msgpackr renames a "__proto__" map key to "__proto_"; the codec decodes payloads
  // holding that name with maps as Maps and rebuilds them as JSON.parse would, so a
  // handler sees the same request over MCP1 as over JSON-RPC (PROTOCOL.md: "a
  // handler never knows which protocol carried its request").
  it('MCP1: a "__proto__" key in a MessagePack map reaches the handler as the own key "__proto__", as over JSON', async () => {
    const c = await client();
    const payload = Buffer.concat([
      Buffer.from([0x82]),
      pack('method'),
      pack('inspect'),
      pack('params'),
      Buffer.from([0x81]),
      pack('__proto__'),
      pack(1),
    ]);
    await c.send(mcp1Bytes({ type: 1, id: 1, payload }));
    const [answer] = await readFrames(c, 1);
    expect(answer).toMatchObject({ type: 2, value: 'inspected' });
    expect(seen[0]).toMatchObject({ ownKeys: ['__proto__'], plainPrototype: true, polluted: undefined });
  });
});
