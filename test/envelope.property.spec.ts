import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, newEnvelopeOut } from '../operators/codec/envelope.js';
import { envelopeReference, expectSameEnvelope } from './helpers/envelopeReference.js';

/** The items in any order. */
const shuffled = (items: string[]): fc.Arbitrary<string[]> => fc.shuffledSubarray(items, { minLength: items.length });

const WS = fc.constantFrom('', '', '', '', ' ', '\n', '\t', '\r\n', ' \t ');
const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 });
const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('__proto__', 'id', 'jsonrpc', 'method', 'params', 'x', 'jsonrpC', 'iD', 'paramz'),
);
/** Params as a structured value of any content. */
const structured = fc.oneof(fc.array(json, { maxLength: 4 }), fc.dictionary(key, json, { maxKeys: 4 }));
/** JSON text of a value, indented any way JSON allows (whitespace only). */
const indented = (value: fc.Arbitrary<unknown>): fc.Arbitrary<string> =>
  fc.tuple(value, fc.constantFrom('', ' ', '\t', '\n', '\r\n ')).map(([v, gap]) => JSON.stringify(v, null, gap));

/** A string that JSON writes as itself between quotes: no escapes. */
const plainString = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => JSON.stringify(s).length === s.length + 2);
const plainToken = plainString.map((s) => JSON.stringify(s));
const integerId = fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map(String);
const digit = fc.integer({ min: 0, max: 9 }).map(String);
/** 1 to 22 digits: past 15 the fast path must refuse, past 2^53 JSON.parse rounds, and a leading 0 is not JSON. */
const longInteger = fc
  .tuple(fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.oneof(fc.integer({ min: 0, max: 21 }), fc.integer({ min: 13, max: 17 })))
  .chain(([negative, first, n]) =>
    fc.array(digit, { minLength: n, maxLength: n }).map((ds) => `${negative ? '-' : ''}${first}${ds.join('')}`),
  );
/** Numbers that are not plain integers: fractions and exponents. */
const otherNumber = fc
  .tuple(
    fc.oneof(fc.integer({ min: -9, max: 9 }), fc.integer({ min: -999, max: 999 })),
    fc.option(fc.nat(999)),
    fc.constantFrom('', 'e3', 'E-2', 'e+1', 'e0'),
  )
  .filter(([, fraction, exponent]) => fraction !== null || exponent !== '')
  .map(([whole, fraction, exponent]) => `${whole}${fraction === null ? '' : `.${fraction}`}${exponent}`);
/** A string token holding characters raw: control characters (not JSON), DEL, U+2028, non-ASCII. */
const rawString = fc
  .array(fc.constantFrom('a', 'é', '😀', ' ', '\t', '\n', '\u0000', '\u001f', '\u007f', '\u2028'), { minLength: 1, maxLength: 4 })
  .map((units) => `"${units.join('')}"`);

/** `word` with one character changed, added or removed: a near miss of a key or a literal. */
const nearWord = (word: string): fc.Arbitrary<string> =>
  fc.tuple(fc.nat(), fc.constantFrom('a', 'c', 'C', 'l', 'e', 'x', '_', ' '), fc.constantFrom(0, 1, 2)).map(([k, c, how]) => {
    const at = k % (word.length + 1);
    if (how === 0) return word.slice(0, at) + c + word.slice(at);
    if (how === 1) return word.slice(0, at) + word.slice(at + 1);
    return word.slice(0, at) + c + word.slice(at + 1);
  });
const nearLiteral = fc.constantFrom('null', 'true', 'false').chain(nearWord);

/** Key text, now and then with a character written as a \u escape, with raw characters, or a near miss. */
const keyText = (name: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 30, arbitrary: fc.constant(JSON.stringify(name)) },
    { weight: 1, arbitrary: nearWord(name).map((s) => JSON.stringify(s)) },
    {
      weight: 1,
      arbitrary: fc.nat().map((k) => {
        if (name.length === 0) return '"\\u0000"';
        const at = k % name.length;
        const unit = `\\u${name.charCodeAt(at).toString(16).padStart(4, '0')}`;
        return JSON.stringify(name.slice(0, at)).slice(0, -1) + unit + JSON.stringify(name.slice(at + 1)).slice(1);
      }),
    },
    { weight: 1, arbitrary: rawString },
  );

/** Scalar tokens, valid and not: big and odd numbers, and near misses of every kind of token. */
const scalarToken = fc.oneof(
  fc.jsonValue({ maxDepth: 0 }).map((v) => JSON.stringify(v)),
  longInteger,
  otherNumber,
  rawString,
  nearLiteral,
  fc.constantFrom('-0', '01', '-01', '-', '--1', 'nul', 'tru', 'truex', 'nill', 'Null', 'tRue', 'fals3', '"a\\"b"'),
);
const nearMiss = fc
  .tuple(
    scalarToken,
    fc.nat(),
    fc.constantFrom('0', '1', '9', '.', 'e', '-', '+', 'l', 'n', '"', '\\', ' ', ':', ','),
    fc.constantFrom(0, 1, 2),
  )
  .map(([token, k, c, how]) => {
    const at = k % (token.length + 1);
    if (how === 0) return token.slice(0, at) + c + token.slice(at);
    if (how === 1) return token.slice(0, at) + token.slice(at + 1);
    return token.slice(0, at) + c + token.slice(at + 1);
  });
const anyScalarOrJunk = fc.oneof(indented(json), scalarToken, nearMiss, fc.constantFrom('{}', '[]', '"2.0"', 'null'));

const jsonrpcValue = fc.oneof(
  { weight: 30, arbitrary: fc.constant('"2.0"') },
  { weight: 1, arbitrary: nearWord('2.0').map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('"2.1"', '"2\\u002e0"', '2', '2.0', 'null', '"2.0 "', '"2.00"', '["2.0"]', '"2,0"') },
);
const methodValue = fc.oneof(
  { weight: 12, arbitrary: plainToken },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: rawString },
  { weight: 1, arbitrary: fc.constantFrom('"me\\u0074hod"', '"a\\/b"', '1', 'null', '{"a":1}', '["m"]', 'true') },
);
const idValue = fc.oneof(
  { weight: 12, arbitrary: integerId },
  { weight: 8, arbitrary: plainToken },
  { weight: 2, arbitrary: longInteger },
  { weight: 2, arbitrary: otherNumber },
  { weight: 1, arbitrary: nearLiteral },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)) },
  { weight: 3, arbitrary: anyScalarOrJunk },
);
const paramsValue = fc.oneof({ weight: 20, arbitrary: indented(structured) }, { weight: 3, arbitrary: anyScalarOrJunk });
const extraValue = fc.oneof(
  { weight: 3, arbitrary: plainToken },
  { weight: 3, arbitrary: fc.integer().map(String) },
  { weight: 2, arbitrary: fc.constantFrom('null', 'true', 'false') },
  { weight: 3, arbitrary: anyScalarOrJunk },
);

/** `:` and `,`, now and then wrong. */
const colon = fc.oneof(
  { weight: 40, arbitrary: fc.constant(':') },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', ',', '::', ';', '":') },
);
const comma = fc.oneof({ weight: 40, arbitrary: fc.constant(',') }, { weight: 1, arbitrary: fc.constantFrom('', ' ', ':', ',,', ';') });

/** One member as text, `"key" : value`, whitespace included. */
type Member = fc.Arbitrary<string>;
const member = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>): Member =>
  fc.tuple(name.chain(keyText), WS, colon, WS, value).map(([k, a, c, b, v]) => `${k}${a}${c}${b}${v}`);

const envelopeMembers: Member[] = [
  member(fc.constant('jsonrpc'), jsonrpcValue),
  member(fc.constant('id'), idValue),
  member(fc.constant('method'), methodValue),
  member(fc.constant('params'), paramsValue),
];

/** A member once mostly, now and then left out or written twice. */
const copies = (m: Member): fc.Arbitrary<string[]> =>
  fc.oneof(
    { weight: 20, arbitrary: m.map((x) => [x]) },
    { weight: 1, arbitrary: fc.constant<string[]>([]) },
    { weight: 1, arbitrary: fc.tuple(m, m) },
  );

/** A message: some of the envelope's members (each now and then twice) and extra ones, in any order. */
const message: fc.Arbitrary<string> = fc
  .tuple(
    fc.tuple(...envelopeMembers.map(copies)),
    fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(member(key, extraValue), { maxLength: 2 }) }),
    fc.array(WS, { minLength: 12, maxLength: 12 }),
    fc.array(comma, { minLength: 8, maxLength: 8 }),
  )
  .chain(([envelope, extra, ws, commas]) =>
    shuffled([...envelope.flat(), ...extra]).map((members) => {
      let text = `${ws[0]}{${ws[1]}`;
      members.forEach((m, k) => {
        text += (k === 0 ? '' : `${ws[(k % 8) + 2]}${commas[k % 8]}${ws[((k + 3) % 8) + 2]}`) + m;
      });
      return `${text}${ws[10]}}${ws[11]}`;
    }),
  );

/** `text` with the k-th (mod their count) `,`, `:` or `"` replaced by `c`: the structure broken in one place. */
function breakStructure(text: string, k: number, c: string): string {
  const at: number[] = [];
  for (let i = 0; i < text.length; i++) if (',:"'.includes(text[i]!)) at.push(i);
  if (at.length === 0) return text;
  const i = at[k % at.length]!;
  return text.slice(0, i) + c + text.slice(i + 1);
}

/** Messages taken apart and joined: what a reader may hand over from an NDJSON or concatenated stream. */
const mangled: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: message },
  { weight: 2, arbitrary: fc.tuple(message, WS, message).map(([a, w, b]) => a + w + b) },
  { weight: 2, arbitrary: fc.tuple(message, fc.nat()).map(([m, k]) => m.slice(0, k % (m.length + 1))) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(message, fc.nat(), fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', ' ', '1', '-', 'x', '\u0001', 'é', '😀', '\u00a0'))
      .map(([m, k, c]) => m.slice(0, k % (m.length + 1)) + c + m.slice(k % (m.length + 1))),
  },
  { weight: 1, arbitrary: fc.tuple(message, fc.nat()).map(([m, k]) => m.slice(0, k % (m.length + 1)) + m.slice((k % (m.length + 1)) + 1)) },
  {
    weight: 2,
    arbitrary: fc.tuple(message, fc.nat(), fc.constantFrom('', ' ', ',', ':', '"')).map(([m, k, c]) => breakStructure(m, k, c)),
  },
  { weight: 1, arbitrary: message.map((m) => `[${m}]`) },
  { weight: 1, arbitrary: fc.tuple(message, fc.constantFrom(' x', '1', '"', ']', '}', ',{}', 'null')).map(([m, j]) => m + j) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

describe('decodeEnvelope (property)', () => {
  it('returns false, or exactly what JSON.parse and the request checks give, for any text and range', () => {
    const out = newEnvelopeOut();
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        mangled,
        fc.oneof(fc.constant(''), fc.string({ maxLength: 4 }), message),
        fc.oneof(fc.constant(''), fc.string({ maxLength: 4 }), message),
        fc.integer({ min: -2, max: 2 }),
        fc.integer({ min: -2, max: 2 }),
        fc.nat(3).map((k) => k !== 0), // mostly the message's own range
        (text, before, after, d1, d2, exact) => {
          const whole = before + text + after;
          const start = Math.max(0, before.length + (exact ? 0 : d1));
          const end = Math.min(whole.length, before.length + text.length + (exact ? 0 : d2));
          runs++;
          const want = envelopeReference(whole.slice(start, end));
          if (!decodeEnvelope(whole, start, end, out)) return;
          taken++;
          expectSameEnvelope(out, want, whole.slice(start, end));
        },
      ),
      { numRuns: 5000 },
    );
    // The fast path was really exercised, not only refused (about one text in eight is taken: most are broken on purpose).
    expect(taken).toBeGreaterThan(runs / 20);
  });

  it('takes every plain request, in any member order and whitespace, and reads it exactly', () => {
    const plainMember = (name: string, value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
      fc.tuple(WS, WS, value).map(([a, b, v]) => `"${name}"${a}:${b}${v}`);
    const otherKey = plainString.filter((k) => !['jsonrpc', 'id', 'method', 'params'].includes(k));
    const otherValue = fc.oneof(plainToken, integerId, fc.constantFrom('null', 'true', 'false'));
    const request = fc
      .tuple(
        plainMember('jsonrpc', fc.constant('"2.0"')),
        plainMember('method', plainToken),
        fc.option(plainMember('id', fc.oneof(integerId, fc.constant('-0'), fc.constant('null'), plainToken)), { nil: undefined }),
        fc.option(plainMember('params', indented(structured)), { nil: undefined }),
        // plain keys need no escapes: `"${k}"` is their JSON
        fc.uniqueArray(otherKey, { maxLength: 3 }).chain((keys) => fc.tuple(...keys.map((k) => plainMember(k, otherValue)))),
        fc.array(WS, { minLength: 16, maxLength: 16 }),
      )
      .chain(([jsonrpc, method, id, params, others, ws]) =>
        shuffled([jsonrpc, method, ...(id === undefined ? [] : [id]), ...(params === undefined ? [] : [params]), ...others]).map(
          (members) => `${ws[0]}{${ws[1]}${members.map((m, k) => (k === 0 ? m : `${ws[k + 2]},${ws[k + 9]}${m}`)).join('')}${ws[15]}}`,
        ),
      );
    const out = newEnvelopeOut();
    fc.assert(
      fc.property(request, (text) => {
        expect(decodeEnvelope(text, 0, text.length, out)).toBe(true);
        expectSameEnvelope(out, envelopeReference(text), text);
      }),
      { numRuns: 4000 },
    );
  });
});
