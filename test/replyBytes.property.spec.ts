import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseJson } from '../operators/codec/jsonrpc.js';
import { batchBytes, type JsonFraming, responseBytes } from '../operators/codec/replyBytes.js';
import { SLAB_ITEM_MAX } from '../operators/codec/slab.js';
import { encodeAfter, encodeContentLength, encodeLine } from '../operators/codec/utf8.js';
import type { RpcErrorObject, RpcId, RpcReplyBody } from '../src/core/records.js';
import { INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, REQUEST_CANCELLED } from '../src/core/wire/jsonrpc.js';

/** Bytes as a string of one char per byte: equal strings are equal bytes, and a failure shows where. */
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const framed = (framing: JsonFraming, json: string): string => text(framing === 'lsp' ? encodeContentLength(json) : encodeLine(json));

/** What every reply but resultLine's was written as: responseJson's text, framed. */
const reference = (framing: JsonFraming, id: RpcId, result: unknown, error: RpcErrorObject | undefined): string =>
  framed(framing, responseJson(id, result, error));

/** What encodeJsonRpc writes for a batch (answerBatchMember): members joined, an unserializable one as -32603. */
function batchReference(framing: JsonFraming, members: readonly RpcReplyBody[]): { bytes: string; failed: number[] } {
  const failed: number[] = [];
  const json = members.map((member, i) => {
    try {
      return responseJson(member.id, member.result, member.error);
    } catch {
      failed.push(i);
      return responseJson(member.id, undefined, INTERNAL_ERROR);
    }
  });
  return { bytes: framed(framing, `[${json.join(',')}]`), failed };
}

const framings = fc.constantFrom<JsonFraming>('jsonrpc', 'lsp');

/** Units JSON escapes or encodes in more than one byte, and plain ones. */
const trickyUnit = fc.oneof(
  fc.constantFrom('"', '\\', '\n', '\t', '\b', '\f', '\r', '\u0000', '\u001f', '\u007f', '\u0080', 'é', '€', '\u2028', '😀', '/'),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);
const strings = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: trickyUnit, maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  // Both sides of the hand-copy lengths (24 for results, 128 for ids and messages), and past the slab item.
  fc.constantFrom(
    '',
    'a'.repeat(24),
    'a'.repeat(25),
    `${'a'.repeat(24)}"`,
    'a'.repeat(128),
    'a'.repeat(129),
    `${'a'.repeat(127)}\n`,
    '€'.repeat(128),
    'x'.repeat(9000),
  ),
);

const ids: fc.Arbitrary<RpcId> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1),
  fc.constantFrom(
    2 ** 53 - 1,
    2 ** 53,
    -(2 ** 53) + 1,
    2 ** 53 + 2,
    2 ** 60,
    1e20,
    1e21,
    1e-7,
    5e-324,
    -Math.PI * 1e-300,
    Number.MAX_VALUE,
    -Math.E * 1e-7,
    0.1,
    123.456,
  ),
  strings,
  fc.constant(null),
);

/** A value whose toJSON answers with the key it was given: "" for a result, "data" for error data. */
const keyEcho = { toJSON: (key: string) => `key:${key}` };

const results: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.jsonValue({ stringUnit: 'binary' }),
  strings,
  fc.object({ maxDepth: 2 }),
  fc.constantFrom(
    undefined,
    () => 1,
    Symbol('s'),
    { a: undefined, b: () => 1, c: [undefined, () => 2, Symbol('t')] },
    new Date(0),
    keyEcho,
    { toJSON: () => undefined },
    '€'.repeat(3000),
    { big: 'y'.repeat(10_000) },
    Array.from({ length: 2000 }, (_, i) => i),
    Number.NaN,
    -0,
  ),
);

const codes = fc.oneof(fc.integer(), fc.constantFrom(-32700, -32601, -32099, -0, Number.NaN, Number.POSITIVE_INFINITY, 1.5, 1e21, 2 ** 40));
const FROZEN = [PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INTERNAL_ERROR, REQUEST_CANCELLED];
const errors: fc.Arbitrary<RpcErrorObject | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...FROZEN),
  fc.record({ code: codes, message: strings }),
  fc.record({ code: codes, message: strings, data: fc.oneof(results, fc.constant(undefined)) }),
  // Outside the type, as a handler's own object could be: written as JSON.stringify writes it.
  fc
    .record({ code: fc.oneof(codes, fc.string(), fc.constant(undefined)), message: fc.oneof(strings, fc.integer(), fc.constant(null)) })
    .map((error) => error as unknown as RpcErrorObject),
);

const members: fc.Arbitrary<RpcReplyBody> = fc.oneof(
  fc.record({ id: ids, result: results }),
  fc.record({ id: ids, error: errors }),
  fc.record({ id: ids, result: results, error: errors }),
);

describe('responseBytes', () => {
  it('writes the bytes responseJson + encodeLine / encodeContentLength write, for any id, result and error (property)', () => {
    fc.assert(
      fc.property(framings, ids, results, errors, (framing, id, result, error) => {
        expect(text(responseBytes(framing, id, result, error))).toBe(reference(framing, id, result, error));
      }),
      { numRuns: 5000 },
    );
  });

  it('writes every id kind at its edges, with results on both sides of the hand-copy length', () => {
    const edgeIds: RpcId[] = [
      0,
      -0,
      9,
      10,
      -1,
      -10,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1e21,
      0.5,
      Number.NaN,
      null,
    ];
    const edgeStrings = [
      '',
      'abc-123',
      '6f1c0e4a-3b7d-4c2e-9a81-52d0f3e7b6aa',
      'a'.repeat(128),
      'a'.repeat(129),
      `${'a'.repeat(127)}"`,
      'é',
      '😀',
      '\ud800',
      'a\udc00',
      '"',
      '\u007f',
    ];
    for (const framing of ['jsonrpc', 'lsp'] as const) {
      for (const id of [...edgeIds, ...edgeStrings]) {
        for (const result of [...edgeStrings, 'a'.repeat(24), 'a'.repeat(25), undefined, null, 1, { a: [1, 'é'] }]) {
          expect(text(responseBytes(framing, id, result, undefined))).toBe(reference(framing, id, result, undefined));
        }
        for (const error of FROZEN) expect(text(responseBytes(framing, id, 1, error))).toBe(reference(framing, id, 1, error));
      }
    }
  });

  it("writes error data as a member of the error object: its toJSON gets the key 'data', and data with no JSON is left out", () => {
    for (const data of [keyEcho, () => 1, Symbol('s'), { toJSON: () => undefined }, undefined, null, 0, '', { data: 1 }]) {
      for (const framing of ['jsonrpc', 'lsp'] as const) {
        const error = { code: -32000, message: 'Server error', data } as RpcErrorObject;
        expect(text(responseBytes(framing, 'x', undefined, error))).toBe(reference(framing, 'x', undefined, error));
      }
    }
    expect(text(responseBytes('jsonrpc', 1, undefined, { code: 1, message: 'm', data: keyEcho }))).toBe(
      '{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","data":"key:data"}}\n',
    );
    expect(text(responseBytes('jsonrpc', 1, undefined, { code: 1, message: 'm', data: () => 1 }))).toBe(
      '{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}\n',
    );
  });

  it('frames LSP replies with the UTF-8 length, at every header length, and large replies past the slab item size', () => {
    for (const size of [0, 1, 5, 60, 61, 960, 3000, SLAB_ITEM_MAX, 100_000]) {
      for (const result of ['a'.repeat(size), '€'.repeat(size)]) {
        for (const id of [7, 'id', null] as RpcId[]) {
          for (const framing of ['jsonrpc', 'lsp'] as const) {
            expect(text(responseBytes(framing, id, result, undefined))).toBe(reference(framing, id, result, undefined));
            const error = { code: 1, message: 'm'.repeat(size), data: result };
            expect(text(responseBytes(framing, id, undefined, error))).toBe(reference(framing, id, undefined, error));
          }
        }
      }
    }
  });

  it('throws what JSON.stringify throws, calling toJSON once, whether result or error data', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const framing of ['jsonrpc', 'lsp'] as const) {
      for (const id of [1, 'a', -1] as RpcId[]) {
        for (const bad of [10n, cycle, { nested: [cycle] }, { deep: 1n }]) {
          const expected = thrown(() => responseJson(id, bad, undefined));
          expect(thrown(() => responseBytes(framing, id, bad, undefined))).toEqual(expected);
          const error = { code: 1, message: 'm', data: bad };
          expect(thrown(() => responseBytes(framing, id, undefined, error))).toEqual(thrown(() => responseJson(id, undefined, error)));
        }
        let calls = 0;
        const boom = new Error('boom');
        const throwing = {
          toJSON: () => {
            calls++;
            throw boom;
          },
        };
        expect(() => responseBytes(framing, id, throwing, undefined)).toThrow(boom);
        expect(() => responseBytes(framing, id, undefined, { code: 1, message: 'm', data: throwing })).toThrow(boom);
        expect(calls).toBe(2);
        for (const size of [10, 100_000]) {
          calls = 0;
          const counted = { toJSON: () => (calls++, 'y'.repeat(size)) };
          expect(text(responseBytes(framing, id, counted, undefined))).toBe(reference(framing, id, 'y'.repeat(size), undefined));
          expect(calls).toBe(1);
        }
      }
    }
  });

  it('leaves the slab zeroed after strings it had to give to JSON.stringify', () => {
    for (const s of [
      'a"b',
      `${'a'.repeat(20)}\\`,
      'tab\there',
      'é\ud800',
      `${'€'.repeat(10)}\n`,
      `${'a'.repeat(127)}\u0001`,
      'a'.repeat(129),
    ]) {
      for (const framing of ['jsonrpc', 'lsp'] as const) {
        for (const [id, result, error] of [
          [s, 1, undefined],
          [1, s, undefined],
          [-1, s, undefined],
          [s, undefined, { code: 1, message: s }],
          [2, undefined, { code: 1, message: s, data: s }],
        ] as const) {
          expect(text(responseBytes(framing, id, result, error))).toBe(reference(framing, id, result, error));
          // The next output's header room must be zeros, as encoders that fill it in rely on.
          expect([...encodeAfter(40, 'x').subarray(0, 40)]).toEqual(new Array(40).fill(0));
        }
      }
    }
  });
});

describe('batchBytes', () => {
  it("writes today's joined members, framed, for any members (property)", () => {
    fc.assert(
      fc.property(framings, fc.array(members, { minLength: 1, maxLength: 8 }), (framing, batch) => {
        const failed: number[] = [];
        const bytes = text(batchBytes(framing, batch, (index) => failed.push(index)));
        const expected = batchReference(framing, batch);
        expect(bytes).toBe(expected.bytes);
        expect(failed).toEqual(expected.failed);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes an unserializable member as -32603 for its id, telling which and why, its toJSON called once', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let calls = 0;
    const boom = new Error('boom');
    const throwing = {
      toJSON: () => {
        calls++;
        throw boom;
      },
    };
    const batch: RpcReplyBody[] = [
      { id: 1, result: 'ok' },
      { id: 'b', result: 10n },
      { id: 3, result: throwing },
      { id: null, error: { code: 5, message: 'm', data: cycle } },
      { id: 5, error: METHOD_NOT_FOUND },
    ];
    for (const framing of ['jsonrpc', 'lsp'] as const) {
      calls = 0;
      const failures: [number, unknown][] = [];
      const bytes = text(batchBytes(framing, batch, (index, error) => failures.push([index, error])));
      expect(calls).toBe(1);
      expect(bytes).toBe(batchReference(framing, batch).bytes);
      expect(failures.map(([index]) => index)).toEqual([1, 2, 3]);
      expect(described(failures[0]![1])).toEqual(thrown(() => JSON.stringify(10n)));
      expect(failures[1]![1]).toBe(boom);
      expect(failures[2]![1]).toBeInstanceOf(TypeError);
      expect(bytes).toContain('{"jsonrpc":"2.0","id":"b","error":{"code":-32603,"message":"Internal error"}}');
      // Without a callback it answers the same.
      expect(text(batchBytes(framing, batch))).toBe(bytes);
    }
  });

  it('writes batches past the slab item size', () => {
    const large: RpcReplyBody[] = Array.from({ length: 20 }, (_, i) => ({ id: i, result: '€'.repeat(200 * i) }));
    for (const framing of ['jsonrpc', 'lsp'] as const) expect(text(batchBytes(framing, large))).toBe(batchReference(framing, large).bytes);
  });
});

describe('outputs in a row', () => {
  it('are each still intact after the ones written after it, across slabs (property)', () => {
    const reply = fc.record({ framing: framings, id: ids, result: results, error: errors });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(reply, fc.array(members, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 40 }),
        (items) => {
          const outputs: Uint8Array[] = [];
          const expected: string[] = [];
          for (const item of items) {
            if (Array.isArray(item)) {
              outputs.push(batchBytes('lsp', item));
              expected.push(batchReference('lsp', item).bytes);
            } else {
              const { framing, id, result, error } = item;
              outputs.push(responseBytes(framing, id, result, error));
              expected.push(reference(framing, id, result, error));
            }
          }
          expect(outputs.map(text)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survive many slabs of small replies', () => {
    const outputs: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const framing = i % 3 === 0 ? 'lsp' : 'jsonrpc';
      const id = i % 2 === 0 ? i : `id-${i}`;
      const error = i % 5 === 0 ? METHOD_NOT_FOUND : undefined;
      outputs.push(responseBytes(framing, id, `result ${i}`, error));
      expected.push(reference(framing, id, `result ${i}`, error));
    }
    expect(outputs.map(text)).toEqual(expected);
  });
});

/** What `run` throws, as its class and message. */
function thrown(run: () => unknown): { name: string; message: string } | undefined {
  try {
    run();
  } catch (error) {
    return described(error);
  }
  return undefined;
}

function described(error: unknown): { name: string; message: string } {
  return { name: (error as Error).constructor.name, message: (error as Error).message };
}
