import fc from 'fast-check';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { PACK_FAST_DEPTH, packFastAfter } from '../operators/codec/msgpackPackFast.js';

// msgpackr as the server configures it (operators/codec/msgpack.ts), the reference.
const reference = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const HEADER = 16;

function referenceBytes(value: unknown): Buffer {
  return Buffer.from(reference.pack(value, RESERVE_START_SPACE | HEADER).subarray(HEADER));
}

const primitive = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(0, -0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1),
  fc.double(),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  // Lone surrogates, and lengths around the header and native-encoding boundaries.
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', minLength: 20, maxLength: 90 }),
  fc.string({ minLength: 250, maxLength: 300 }),
);

const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, fc.array(tie('any'), { maxLength: 20 })),
})).any;

describe('packFastAfter: the hand encoder for primitive results', () => {
  it('writes exactly the bytes msgpackr writes, after the header room, or declines', () => {
    fc.assert(
      fc.property(value, (v) => {
        const out = packFastAfter(HEADER, v);
        if (out === undefined) return;
        expect(out.subarray(0, HEADER)).toEqual(new Uint8Array(HEADER));
        expect(Buffer.from(out.subarray(HEADER))).toEqual(referenceBytes(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('takes every primitive and array of primitives, and declines the rest', () => {
    expect(packFastAfter(HEADER, ['0123456789abcdef'])).toBeDefined();
    expect(packFastAfter(HEADER, [1, [2, [3, ['x']]]])).toBeDefined();
    let deep: unknown = 1;
    for (let i = 0; i <= PACK_FAST_DEPTH; i++) deep = [deep];
    expect(packFastAfter(HEADER, deep)).toBeUndefined();
    for (const other of [{ a: 1 }, [{}], new Map(), new Date(0), new Uint8Array(2), 1n, Symbol('s'), () => 1, new (class extends Array {})()]) {
      expect(packFastAfter(HEADER, other)).toBeUndefined();
    }
    // Past the slab's item size: msgpackr's own buffer.
    expect(packFastAfter(HEADER, 'x'.repeat(4096))).toBeUndefined();
  });

  it('hands out views that never overlap, each intact after later ones are written', () => {
    const outs = Array.from({ length: 3000 }, (_, i) => packFastAfter(HEADER, [i, `v${i}`])!);
    outs.forEach((out, i) => expect(Buffer.from(out.subarray(HEADER))).toEqual(referenceBytes([i, `v${i}`])));
  });
});
