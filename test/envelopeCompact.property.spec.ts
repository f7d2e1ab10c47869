import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newEnvelopeOut } from '../operators/codec/envelope.js';
import { CompactEnvelope } from '../operators/codec/envelopeCompact.js';
import { envelopeReference, expectSameEnvelope } from './helpers/envelopeReference.js';

const utf8 = new TextEncoder();

/**
 * decodeCompact as its callers use it: bytes, and their text when it is ASCII
 * (non-ASCII texts go to envelope.ts); here the bytes sit in a larger buffer, as a
 * read's do.
 */
function decodeCompact(
  compact: CompactEnvelope,
  text: string,
  start: number,
  end: number,
  out: ReturnType<typeof newEnvelopeOut>,
): boolean {
  const bytes = utf8.encode(text);
  if (bytes.length !== text.length) return false;
  const room = new Uint8Array(bytes.length + 13);
  room.set(bytes, 5);
  return compact.decode(room.subarray(5, 5 + bytes.length), start, end, text, 0, out);
}

/** Ids of every kind, those the compact path must refuse included (floats, exponents, huge, escapes). */
const id = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, 1.5, 1e21, 2 ** 53 + 2, -1, 123456789012345, 1234567890123456, 9999999999999998),
  fc.string({ maxLength: 14 }),
  fc.constantFrom('a"b', 'a\\b', '\u0001', 'é✓', '}{', ',"id":2', null),
);
/** Methods, with what JSON escapes. */
const method = fc.oneof(fc.string({ maxLength: 12, unit: 'grapheme' }), fc.constantFrom('echo', 'tools/call', 'a"b', 'a\\b', '\n', ''));
/** Params whose text may look like the envelope's own members. */
const params = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(['","jsonrpc":"2.0","id":1}'], { '"params"': [1], __proto__: null }, [], {}, null, 5, 'x'),
);

/** A request as JSON.stringify writes it, in either client order, sometimes without id or params. */
const compact = fc
  .record({ id, method, params, order: fc.constantFrom('vscode', 'sdk'), withId: fc.boolean(), withParams: fc.boolean() })
  .map(({ id, method, params, order, withId, withParams }) => {
    const m: Record<string, unknown> = {};
    const put = (k: string, v: unknown, on = true): void => {
      if (on) m[k] = v;
    };
    if (order === 'vscode') {
      put('jsonrpc', '2.0');
      put('id', id, withId);
      put('method', method);
      put('params', params, withParams);
    } else {
      put('method', method);
      put('params', params, withParams);
      put('jsonrpc', '2.0');
      put('id', id, withId);
    }
    return JSON.stringify(m);
  });

/** The same, damaged: cut, extended, doubled, a member added, a character changed. */
const damaged = fc.tuple(compact, fc.nat(), fc.constantFrom('cut', 'tail', 'twice', 'member', 'char', 'space')).map(([text, at, how]) => {
  const k = at % (text.length + 1);
  if (how === 'cut') return text.slice(0, k);
  if (how === 'tail') return `${text} x`;
  if (how === 'twice') return text + text;
  if (how === 'member') return `${text.slice(0, -1)},"id":7}`;
  if (how === 'space') return `${text.slice(0, k)} ${text.slice(k)}`;
  return text.slice(0, k) + String.fromCharCode(at % 128) + text.slice(k + 1);
});

/** Numbers as a client may write them, exact or not as doubles, put where the id goes. */
const rawId = fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?$/);
const rawIdText = fc
  .tuple(fc.oneof(rawId, fc.constantFrom('8137194870984841478', '983056628344959538', '-5102596694183713907')), fc.boolean())
  .map(([n, sdk]) =>
    sdk ? `{"method":"m","params":[1],"jsonrpc":"2.0","id":${n}}` : `{"jsonrpc":"2.0","id":${n},"method":"m","params":[1]}`,
  );

describe('decodeCompact: the envelopes clients write, compared whole', () => {
  it('equals the full decode whenever it takes a text (property)', () => {
    const out = newEnvelopeOut();
    const reader = new CompactEnvelope();
    fc.assert(
      fc.property(fc.oneof(compact, damaged, rawIdText), fc.nat(3), (text, pad) => {
        const padded = `${' '.repeat(pad)}${text}\n`;
        if (decodeCompact(reader, padded, pad, padded.length, out)) expectSameEnvelope(out, envelopeReference(text), text);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes every plain request in either order (property)', () => {
    const out = newEnvelopeOut();
    const reader = new CompactEnvelope();
    const plainId = fc.oneof(
      fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }),
      fc.stringMatching(/^[a-z0-9-]{0,20}$/),
      fc.constant(null),
    );
    const plainMethod = fc.stringMatching(/^[a-zA-Z/_$.]{0,16}$/);
    const structured = fc.oneof(
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
      fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
    );
    fc.assert(
      fc.property(plainId, plainMethod, fc.option(structured, { nil: undefined }), fc.boolean(), fc.boolean(), (i, m, p, sdk, withId) => {
        const envelope = sdk
          ? { method: m, params: p, jsonrpc: '2.0', id: withId ? i : undefined }
          : { jsonrpc: '2.0', id: withId ? i : undefined, method: m, params: p };
        const text = JSON.stringify(envelope);
        expect(decodeCompact(reader, text, 0, text.length, out)).toBe(true);
        expectSameEnvelope(out, envelopeReference(text), text);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps the same method string object for a repeated method', () => {
    const out = newEnvelopeOut();
    const reader = new CompactEnvelope();
    const text = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}';
    decodeCompact(reader, text, 0, text.length, out);
    const first = out.method;
    decodeCompact(reader, `${text} `, 0, text.length + 1, out);
    expect(out.method).toBe(first);
  });
});
