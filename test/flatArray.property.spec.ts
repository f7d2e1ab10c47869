import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatArray, NOT_SIMPLE } from '../operators/codec/flatArray.js';

const utf8 = new TextEncoder();

/** flatArray over `text`'s bytes placed inside a larger buffer, as a read's are. */
function read(text: string): unknown {
  const bytes = utf8.encode(text);
  const room = new Uint8Array(bytes.length + 20);
  room.set(bytes, 7);
  // The text as flatArray's callers hold it: the read's ASCII characters, here with 7 more in front.
  return flatArray(room, 7, 7 + bytes.length, `${'x'.repeat(7)}${text}`, 0);
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_SIMPLE;
  }
}

/** Scalars as JSON.stringify writes them, those it must leave to JSON.parse included. */
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ maxLength: 20, unit: 'grapheme' }),
  fc.integer(),
  fc.constantFrom(0, -0, 1.5, -1e-7, 1e21, 2 ** 53, 123456789012345, -999999999999999, true, false, null),
);

describe('flatArray: simple positional params read from bytes', () => {
  it('equals JSON.parse whenever it reads an array (property)', () => {
    const texts = fc.oneof(
      fc.array(scalar, { maxLength: 20 }).map((a) => JSON.stringify(a)),
      fc
        .array(fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), scalar, { maxKeys: 2 })), {
          maxLength: 4,
        })
        .map((a) => JSON.stringify(a)),
      fc.tuple(fc.array(scalar, { maxLength: 5 }), fc.nat(), fc.nat(127)).map(([a, at, c]) => {
        const t = JSON.stringify(a);
        const k = 1 + (at % Math.max(1, t.length - 1));
        return t.slice(0, k) + String.fromCharCode(c) + t.slice(k + 1);
      }),
      fc.stringMatching(/^\[(-?[0-9]{1,18}(\.[0-9])?,?){0,3}\]$/),
      fc.constantFrom(
        '[8137194870984841478]',
        '[983056628344959538,1]',
        '[]',
        '[,]',
        '[1,]',
        '[,1]',
        '[01]',
        '[-]',
        '[-0]',
        '[truex]',
        '[nul]',
        '["a" ]',
        '[ 1]',
        '[1 ]',
        '["\\u0041"]',
        '[1.0]',
        '[1e2]',
      ),
    );
    fc.assert(
      fc.property(texts, (text) => {
        const got = read(text);
        if (got === NOT_SIMPLE) return;
        const want = parsed(text);
        expect(want).not.toBe(NOT_SIMPLE);
        expect(isDeepStrictEqual(got, want)).toBe(true);
        for (let k = 0; k < (got as unknown[]).length; k++) expect(Object.is((got as unknown[])[k], (want as unknown[])[k])).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads the arrays positional params mostly are', () => {
    for (const a of [[], ['0123456789abcdef'], [1, 2], ['0x1b4', true], [null, -3, 'a very long string over thirteen'], [false, -0]]) {
      const got = read(JSON.stringify(a));
      expect(got).not.toBe(NOT_SIMPLE);
      expect(isDeepStrictEqual(got, JSON.parse(JSON.stringify(a)))).toBe(true);
    }
  });
});
