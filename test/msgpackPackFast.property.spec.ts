import fc from 'fast-check';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { PACK_FAST_ITEMS, packFastAfter } from '../operators/codec/msgpackPackFast.js';

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
  fc.constantFrom(
    0,
    -0,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x10000,
    2 ** 32 - 1,
    2 ** 32,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
  ),
  fc.double(),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  // Lone surrogates, and lengths around the header and native-encoding boundaries.
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', minLength: 20, maxLength: 90 }),
  fc.string({ minLength: 250, maxLength: 300 }),
);

const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, fc.array(tie('any'), { maxLength: 12 })),
})).any;

describe('packFastAfter: the hand encoder for primitive results', () => {
  it('writes exactly the bytes msgpackr writes, after the header room, or declines', () => {
    let taken = 0;
    fc.assert(
      fc.property(value, (v) => {
        const out = packFastAfter(HEADER, v);
        if (out === undefined) return;
        taken++;
        expect(out.subarray(0, HEADER)).toEqual(new Uint8Array(HEADER));
        expect(Buffer.from(out.subarray(HEADER))).toEqual(referenceBytes(v));
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: most generated values are ones this encoder takes.
    expect(taken).toBeGreaterThan(1000);
  });

  it('takes every primitive and short flat array of them, and declines the rest', () => {
    expect(packFastAfter(HEADER, ['0123456789abcdef'])).toBeDefined();
    expect(packFastAfter(HEADER, [1, 'x', null, true, undefined, 2.5, -70000, ''])).toBeDefined();
    expect(
      packFastAfter(
        HEADER,
        Array.from({ length: PACK_FAST_ITEMS + 1 }, () => 1),
      ),
    ).toBeUndefined();
    expect(packFastAfter(HEADER, [1, [2]])).toBeUndefined();
    for (const other of [
      { a: 1 },
      [{}],
      new Map(),
      new Date(0),
      new Uint8Array(2),
      1n,
      Symbol('s'),
      () => 1,
      new (class extends Array {})(),
    ]) {
      expect(packFastAfter(HEADER, other)).toBeUndefined();
    }
    // Past the slab's item size: msgpackr's own buffer.
    expect(packFastAfter(HEADER, 'x'.repeat(4096))).toBeUndefined();
  });

  it('reads each element once, so a getter or a Proxy cannot make it write other than it measured', () => {
    let reads = 0;
    const tricky: unknown[] = [];
    Object.defineProperty(tricky, 0, { enumerable: true, get: () => (reads++ === 0 ? 1 : 'y'.repeat(2700)) });
    const out = packFastAfter(HEADER, tricky)!;
    expect(reads).toBe(1);
    expect(Buffer.from(out.subarray(HEADER))).toEqual(Buffer.from([0x91, 0x01]));
    let lengthReads = 0;
    const proxy = new Proxy([1, 2], {
      get: (target, key, receiver) => (key === 'length' ? (lengthReads++ === 0 ? 2 : 5000) : Reflect.get(target, key, receiver)),
    });
    expect(Buffer.from(packFastAfter(HEADER, proxy)!.subarray(HEADER))).toEqual(Buffer.from([0x92, 0x01, 0x02]));
  });

  it('hands out views that never overlap, each intact after later ones are written', () => {
    const outs = Array.from({ length: 3000 }, (_, i) => packFastAfter(HEADER, [i, `v${i}`])!);
    outs.forEach((out, i) => expect(Buffer.from(out.subarray(HEADER))).toEqual(referenceBytes([i, `v${i}`])));
  });
});
