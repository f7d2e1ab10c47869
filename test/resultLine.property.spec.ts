import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { responseJson } from '../operators/codec/jsonrpc.js';
import { resultLine } from '../operators/codec/resultLine.js';
import { encodeAfter, encodeLine } from '../operators/codec/utf8.js';
import type { RpcId } from '../src/core/records.js';

/** What every other reply is written as: responseJson's text as one NDJSON line. */
const reference = (id: RpcId, result: unknown): string => Buffer.from(encodeLine(responseJson(id, result, undefined))).toString('latin1');
const line = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString('latin1');

describe('resultLine', () => {
  it('writes the bytes responseJson + encodeLine write, for every int32 id from 0 and any JSON result (property)', () => {
    let taken = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.jsonValue({ stringUnit: 'binary' }), (id, result) => {
        const got = line(resultLine(id, result));
        expect(got).toBe(reference(id, result));
        taken += /[^\x00-\x7f]/.test(got ?? '') ? 1 : 0;
      }),
      { numRuns: 2000 },
    );
    // Non-ASCII results were among them.
    expect(taken).toBeGreaterThan(100);
  });

  it('writes ids at the digit boundaries and results on both sides of the hand-copy length', () => {
    const texts = [
      '',
      'a'.repeat(21),
      'a'.repeat(24),
      'a'.repeat(25),
      `${'a'.repeat(23)}"`,
      '~\u007f',
      'a'.repeat(22),
      'a'.repeat(23),
      'é',
      `${'a'.repeat(20)}€`,
      '€'.repeat(30),
      '\u0000"\\\n',
      '😀',
    ];
    for (const id of [0, 9, 10, 99, 100, 999999999, 1000000000, 0x7fffffff]) {
      for (const text of texts) expect(line(resultLine(id, text))).toBe(reference(id, text));
      expect(line(resultLine(id, undefined))).toBe(reference(id, null));
    }
  });

  it('leaves the slab zeroed after a string it had to give to JSON.stringify', () => {
    for (const text of ['a"b', `${'a'.repeat(20)}\\`, 'tab\there', 'é']) {
      expect(line(resultLine(5, text))).toBe(reference(5, text));
      // The next output's header room must be zeros, as encoders that fill it in rely on.
      expect([...encodeAfter(40, 'x').subarray(0, 40)]).toEqual(new Array(40).fill(0));
    }
  });

  it('leaves every other id to responseJson', () => {
    for (const id of [-1, 1.5, 0x80000000, Number.NaN, 'a', null] as RpcId[]) expect(resultLine(id, 1)).toBeUndefined();
  });

  it('writes results past the slab item size into a buffer of their own', () => {
    for (const result of ['x'.repeat(4000), '€'.repeat(3000), { list: Array.from({ length: 2000 }, (_, i) => i) }]) {
      expect(line(resultLine(12, result))).toBe(reference(12, result));
    }
  });

  it("calls a result's toJSON once, however large its JSON", () => {
    for (const size of [10, 100_000]) {
      let calls = 0;
      const result = { toJSON: () => (calls++, 'y'.repeat(size)) };
      expect(line(resultLine(3, result))).toBe(`{"jsonrpc":"2.0","id":3,"result":"${'y'.repeat(size)}"}\n`);
      expect(calls).toBe(1);
    }
  });

  it('throws what JSON.stringify throws, so the encoder can answer -32603', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => resultLine(1, 10n)).toThrow(TypeError);
    expect(() => resultLine(1, cycle)).toThrow(TypeError);
  });
});
