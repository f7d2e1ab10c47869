import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack } from '../operators/codec/msgpack.js';
import { isSafeMsgpack } from '../operators/codec/msgpackCheck.js';
import { decodeFast, FAST_DEPTH, NOT_FAST } from '../operators/codec/msgpackFast.js';

// What clients send: msgpackr's and a "plain" encoder's output (no records, fixmaps).
const clients = [new Packr({ useRecords: false }), new Packr({ useRecords: false, variableMapSize: true })];
// msgpackr as the server configures it (operators/codec/msgpack.ts), the reference.
const reference = new Unpackr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'auto' as 'number' });

/**
 * Deep sameness as a handler would see it: Object.is for numbers (-0, NaN), same
 * prototypes, same own keys in the same order. (toStrictEqual would also compare
 * `.constructor`, which is wrong for a map with a "constructor" key.)
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Reflect.ownKeys(a);
  const kb = Reflect.ownKeys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => same((a as Record<PropertyKey, unknown>)[k], (b as Record<PropertyKey, unknown>)[k]));
}

const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.double(),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ minLength: 20, maxLength: 300 }),
    fc.string({ unit: 'grapheme', minLength: 60, maxLength: 200 }),
    fc.array(tie('any'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString', 'method', 'params')), tie('any'), {
      maxKeys: 5,
    }),
  ),
})).any;

describe('decodeFast: the hand decoder for plain requests', () => {
  it('gives exactly what msgpackr gives, or declines (NOT_FAST)', () => {
    let fast = 0;
    fc.assert(
      fc.property(value, fc.nat(1), (v, which) => {
        const bytes = clients[which]!.pack(v);
        const got = decodeFast(bytes);
        if (got === NOT_FAST) return;
        fast++;
        expect(same(got, reference.unpack(bytes))).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // Not vacuous: most generated values are plain enough to take the fast path.
    expect(fast).toBeGreaterThan(1000);
  });

  it('never throws on random or truncated bytes, and accepts nothing msgpackr would not read the same way', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          value.map((v) => clients[0]!.pack(v)).chain((b) => fc.nat(b.length).map((n) => b.subarray(0, n))),
        ),
        (bytes) => {
          const got = decodeFast(bytes);
          if (got === NOT_FAST) return;
          expect(isSafeMsgpack(bytes)).toBe(true);
          expect(same(got, reference.unpack(bytes))).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('takes the usual request, and declines non-ASCII text, 64-bit integers, float 32, bin, extensions and __proto__', () => {
    const packr = clients[0]!;
    expect(decodeFast(packr.pack({ method: 'echo', params: ['0123456789abcdef'] }))).toStrictEqual({
      method: 'echo',
      params: ['0123456789abcdef'],
    });
    expect(same(decodeFast(packr.pack({ constructor: {} })), { constructor: {} })).toBe(true);
    // A leading byte-order mark is text: kept, as JSON.parse and msgpackr's native decoder keep it.
    const bom = `\ufeff${'v'.repeat(70)}`;
    expect(decodeFast(packr.pack([bom]))).toStrictEqual([bom]);
    expect(decodeFast(packr.pack({ [bom]: 1 }))).toStrictEqual({ [bom]: 1 });
    expect(decodeFast(packr.pack({ method: 'héllo' }))).toBe(NOT_FAST);
    expect(decodeFast(packr.pack({ method: 'é'.repeat(40) }))).toStrictEqual({ method: 'é'.repeat(40) });
    expect(decodeFast(packr.pack(2n ** 60n))).toBe(NOT_FAST);
    expect(decodeFast(Uint8Array.of(0xca, 0x3f, 0x80, 0, 0))).toBe(NOT_FAST);
    expect(decodeFast(packr.pack(Buffer.from([1, 2])))).toBe(NOT_FAST);
    expect(decodeFast(packr.pack(new Date(0)))).toBe(NOT_FAST);
    expect(decodeFast(Uint8Array.of(0x81, 0xa9, ...Buffer.from('__proto__'), 0x01))).toBe(NOT_FAST);
    // ...and the general path still decodes each of them.
    expect(decodeMsgpack(packr.pack({ method: 'héllo' }))).toEqual({ method: 'héllo' });
    expect(Object.keys(decodeMsgpack(Uint8Array.of(0x81, 0xa9, ...Buffer.from('__proto__'), 0x01)) as object)).toEqual(['__proto__']);
  });

  it('makes every two-key map the way msgpackr does, the request envelope {method, params} included', () => {
    const packr = clients[0]!;
    const maps: Array<[string, unknown][]> = [
      [
        ['method', 'echo'],
        ['params', [1]],
      ],
      [
        ['params', [1]],
        ['method', 'echo'],
      ],
      [
        ['method', 'echo'],
        ['other', 2],
      ],
      [
        ['other', 1],
        ['params', 2],
      ],
      [
        ['method', 'a'],
        ['method', 'b'],
      ],
      [
        ['method', 'a'],
        ['__proto__', 1],
      ],
      [
        ['method', { params: 1 }],
        ['params', { method: 2 }],
      ],
    ];
    for (const entries of maps) {
      // Built as Maps, so that a repeated or __proto__ key is packed as given.
      const bytes = packr.pack(new Map(entries));
      const got = decodeFast(bytes);
      const want = entries.some(([k]) => k === '__proto__') ? NOT_FAST : reference.unpack(bytes);
      if (want === NOT_FAST) expect(got).toBe(NOT_FAST);
      else expect(same(got, want)).toBe(true);
    }
    // The envelope inside a value is an ordinary map.
    expect(decodeFast(packr.pack([{ method: 'm', params: [] }]))).toStrictEqual([{ method: 'm', params: [] }]);
  });

  it(`declines nesting deeper than ${FAST_DEPTH} and claimed lengths past the input, allocating nothing for them`, () => {
    const deep = new Uint8Array(FAST_DEPTH + 2).fill(0x91);
    deep[deep.length - 1] = 0x01;
    expect(decodeFast(deep)).toBe(NOT_FAST);
    expect(decodeFast(deep.subarray(FAST_DEPTH + 2 - FAST_DEPTH))).toStrictEqual(
      JSON.parse('['.repeat(FAST_DEPTH - 1) + '1' + ']'.repeat(FAST_DEPTH - 1)),
    );
    expect(decodeFast(Uint8Array.of(0xdc, 0xff, 0xff))).toBe(NOT_FAST);
    expect(decodeFast(Uint8Array.of(0xde, 0xff, 0xff, 0xa1, 0x61))).toBe(NOT_FAST);
    expect(decodeFast(Uint8Array.of(0xda, 0xff, 0xff))).toBe(NOT_FAST);
    expect(decodeFast(Uint8Array.of(0x01, 0x02))).toBe(NOT_FAST);
  });
});
