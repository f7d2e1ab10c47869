import { describe, expect, it } from 'vitest';
import { decodeEnvelope, type EnvelopeOut, newEnvelopeOut } from '../operators/codec/envelope.js';
import { envelopeReference, expectSameEnvelope } from './helpers/envelopeReference.js';

/** decodeEnvelope's output for the whole text, or undefined when it returns false. */
function decode(text: string, out: EnvelopeOut = newEnvelopeOut()): EnvelopeOut | undefined {
  return decodeEnvelope(text, 0, text.length, out) ? out : undefined;
}

/** Taken, and equal to the reference (-0, own `__proto__` keys and key order included). */
function expectTaken(text: string): EnvelopeOut {
  const got = decode(text);
  expect(got).toBeDefined();
  expectSameEnvelope(got!, envelopeReference(text), text);
  return got!;
}

const TOOL_PARAMS =
  '{"name":"search","arguments":{"query":"reactive socket servers","limit":10,"filters":["a","b"],"page":{"size":20,"cursor":"eyJvZmZzZXQiOjQwfQ=="}}}';

describe('decodeEnvelope: taken', () => {
  it('reads params last (vscode-jsonrpc order)', () => {
    const got = expectTaken('{"jsonrpc":"2.0","id":1,"method":"echo","params":["0123456789abcdef"]}');
    expect(got).toEqual({ id: 1, notification: false, method: 'echo', params: ['0123456789abcdef'] });
  });

  it('reads params before other members (MCP TypeScript SDK order)', () => {
    const got = expectTaken(`{"method":"tools/call","params":${TOOL_PARAMS},"jsonrpc":"2.0","id":1}`);
    expect(got.id).toBe(1);
    expect(got.method).toBe('tools/call');
    expect(got.params).toEqual(JSON.parse(TOOL_PARAMS));
  });

  it('reads every order of the four members', () => {
    const members = ['"jsonrpc":"2.0"', '"id":7', '"method":"m"', '"params":{"a":[1,{"b":null}]}'];
    const orders = permutations(members);
    expect(orders).toHaveLength(24);
    for (const order of orders) expectTaken(`{${order.join(',')}}`);
  });

  it('allows JSON whitespace between every token, and around the object', () => {
    const ws = ' \t\r\n';
    expectTaken(
      `${ws}{${ws}"id"${ws}:${ws}1${ws},${ws}"params"${ws}:${ws}[ 1 , 2 ]${ws},${ws}"jsonrpc"${ws}:${ws}"2.0"${ws},${ws}"method"${ws}:${ws}"m"${ws}}${ws}`,
    );
    expectTaken(`{${ws}"jsonrpc":"2.0",${ws}"method"${ws}:${ws}"m",${ws}"params"${ws}:${ws}{}${ws}}`);
  });

  it('reads a notification: no id member', () => {
    expect(expectTaken('{"jsonrpc":"2.0","method":"note","params":[1]}')).toMatchObject({ id: null, notification: true });
  });

  it('reads ids: null, strings, negative, 0, -0, 15 digits', () => {
    expect(expectTaken('{"jsonrpc":"2.0","id":null,"method":"m"}')).toMatchObject({ id: null, notification: false });
    expect(expectTaken('{"jsonrpc":"2.0","id":"abc-1","method":"m"}').id).toBe('abc-1');
    expect(expectTaken('{"jsonrpc":"2.0","id":"","method":"m"}').id).toBe('');
    expect(expectTaken('{"jsonrpc":"2.0","id":-42,"method":"m"}').id).toBe(-42);
    expect(expectTaken('{"jsonrpc":"2.0","id":0,"method":"m"}').id).toBe(0);
    expect(Object.is(expectTaken('{"jsonrpc":"2.0","id":-0,"method":"m"}').id, -0)).toBe(true);
    expect(expectTaken('{"jsonrpc":"2.0","id":999999999999999,"method":"m"}').id).toBe(999999999999999);
    // the same ids after params
    expect(expectTaken('{"jsonrpc":"2.0","method":"m","params":[],"id":-42}').id).toBe(-42);
    expect(Object.is(expectTaken('{"jsonrpc":"2.0","method":"m","params":[],"id":-0}').id, -0)).toBe(true);
    expect(expectTaken('{"jsonrpc":"2.0","method":"m","params":[],"id":"x"}').id).toBe('x');
    expect(expectTaken('{"jsonrpc":"2.0","method":"m","params":[],"id":null}')).toMatchObject({ id: null, notification: false });
    expect(expectTaken('{"jsonrpc":"2.0","method":"m","params":[],"id":-999999999999999}').id).toBe(-999999999999999);
  });

  it('reads a request without params', () => {
    expect(expectTaken('{"jsonrpc":"2.0","id":1,"method":"ping"}').params).toBeUndefined();
    expect(expectTaken('{"method":"ping","jsonrpc":"2.0"}').params).toBeUndefined();
  });

  it('skips other members with scalar values, before and after params', () => {
    expectTaken('{"x":1,"jsonrpc":"2.0","y":"s","method":"m","z":null,"params":[1],"t":true,"f":false,"n":-3,"id":2,"w":"é"}');
  });

  it('keeps own __proto__ keys inside params', () => {
    const got = expectTaken('{"jsonrpc":"2.0","id":1,"method":"m","params":{"__proto__":{"polluted":1},"a":2}}');
    expect(Object.hasOwn(got.params as object, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(got.params)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expectTaken('{"params":{"__proto__":[1]},"jsonrpc":"2.0","id":1,"method":"m"}');
  });

  it('reads non-ASCII in params and in the method', () => {
    expect(expectTaken('{"jsonrpc":"2.0","id":1,"method":"écho/日本","params":["ü😀",{"ключ":"\\u00e9\\n"}]}').method).toBe('écho/日本');
    expectTaken('{"method":"😀","params":{"a":"\\"}\\\\"},"jsonrpc":"2.0","id":"ид"}');
  });

  it('takes escapes, brackets and quotes inside params', () => {
    expectTaken('{"jsonrpc":"2.0","id":1,"method":"m","params":["}]\\"\\\\",{"a":"]"}]}');
    expectTaken('{"method":"m","params":{"s":"\\"id\\":2}"},"id":3,"jsonrpc":"2.0"}');
  });

  it('reads long methods and string ids (copied, not views of the text) before and after params', () => {
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const method = 'notifications/initialized';
    for (const text of [
      `{"jsonrpc":"2.0","id":"${uuid}","method":"${method}","params":{}}`,
      `{"method":"${method}","params":{},"jsonrpc":"2.0","id":"${uuid}"}`,
      `{"params":[],"id":"${uuid}é€","method":"é€${method}","jsonrpc":"2.0"}`,
      `{"id":"${uuid}","params":[],"method":"textDocument/didChange","jsonrpc":"2.0"}`,
    ]) {
      expectTaken(text);
    }
  });

  it('keeps the previous method string when the method is the same', () => {
    const out = newEnvelopeOut();
    const a = '{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}';
    const b = '{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]}';
    expect(decodeEnvelope(a, 0, a.length, out)).toBe(true);
    const first = out.method;
    const spare = 'ec'.concat('ho');
    expect(decodeEnvelope(b, 0, b.length, out)).toBe(true);
    expect(out.method).toBe(first);
    expect(out.method).toBe(spare);
    const c = '{"jsonrpc":"2.0","id":3,"method":"echp"}';
    expect(decodeEnvelope(c, 0, c.length, out)).toBe(true);
    expect(out.method).toBe('echp');
  });

  it('reads the range given, not the whole text', () => {
    const one = '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}';
    const two = '{"method":"n","params":{"a":2},"jsonrpc":"2.0","id":2}';
    const text = `${one}\n${two}\n`;
    const out = newEnvelopeOut();
    expect(decodeEnvelope(text, 0, one.length, out)).toBe(true);
    expect(out).toEqual({ id: 1, notification: false, method: 'm', params: [1] });
    expect(decodeEnvelope(text, one.length, text.length, out)).toBe(true);
    expect(out).toEqual({ id: 2, notification: false, method: 'n', params: { a: 2 } });
    expect(decodeEnvelope(text, 0, text.length, out)).toBe(false);
    expect(decodeEnvelope(text, 1, one.length, out)).toBe(false);
    expect(decodeEnvelope(text, 0, one.length - 1, out)).toBe(false);
  });
});

describe('decodeEnvelope: left to the full decode', () => {
  const cases: Array<[string, string]> = [
    ['an escape in the method', '{"jsonrpc":"2.0","id":1,"method":"e\\u0063ho","params":[]}'],
    ['an escape in a key', '{"jsonrpc":"2.0","id":1,"me\\u0074hod":"echo","params":[]}'],
    ["an escape in params' key", '{"jsonrpc":"2.0","id":1,"method":"m","par\\u0061ms":[]}'],
    ['an escape in a key after params', '{"method":"m","params":[],"jsonrpc":"2.0","\\u0069d":1}'],
    ['an escape in a string id', '{"jsonrpc":"2.0","id":"a\\"b","method":"m"}'],
    ['an escape in a string id after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":"a\\"b"}'],
    ['an escape in jsonrpc', '{"jsonrpc":"2\\u002e0","id":1,"method":"m"}'],
    ['a duplicate method', '{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}'],
    ['a duplicate id across params', '{"jsonrpc":"2.0","id":1,"method":"m","params":[],"id":2}'],
    ['a duplicate params', '{"jsonrpc":"2.0","id":1,"method":"m","params":[1],"params":[2]}'],
    ['a duplicate params after another member', '{"jsonrpc":"2.0","method":"m","params":[1],"id":1,"params":[2]}'],
    ['two objects', '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}{"jsonrpc":"2.0","id":2,"method":"m","params":[2]}'],
    [
      'two objects, the second params first',
      '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}{"method":"m","params":[2],"jsonrpc":"2.0","id":2}',
    ],
    ['two objects without params', '{"jsonrpc":"2.0","id":1,"method":"m"} {"jsonrpc":"2.0","id":2,"method":"m"}'],
    ['an object then junk', '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]} x'],
    ['an object then junk, no params', '{"jsonrpc":"2.0","id":1,"method":"m"} x'],
    ['a batch', '[{"jsonrpc":"2.0","id":1,"method":"m"}]'],
    ['params null', '{"jsonrpc":"2.0","id":1,"method":"m","params":null}'],
    ['params null, not last', '{"jsonrpc":"2.0","method":"m","params":null,"id":1}'],
    ['params a number', '{"jsonrpc":"2.0","id":1,"method":"m","params":5}'],
    ['params a string', '{"jsonrpc":"2.0","id":1,"method":"m","params":"[]"}'],
    ['params a string, not last', '{"jsonrpc":"2.0","method":"m","params":"x","id":1}'],
    ['jsonrpc "2.1"', '{"jsonrpc":"2.1","id":1,"method":"m"}'],
    ['jsonrpc a number', '{"jsonrpc":2.0,"id":1,"method":"m"}'],
    ['jsonrpc missing', '{"id":1,"method":"m","params":[]}'],
    ['method missing', '{"jsonrpc":"2.0","id":1,"params":[]}'],
    ['method a number', '{"jsonrpc":"2.0","id":1,"method":1}'],
    ['id 1.5', '{"jsonrpc":"2.0","id":1.5,"method":"m"}'],
    ['id 1.5 after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":1.5}'],
    ['id 1e3', '{"jsonrpc":"2.0","id":1e3,"method":"m"}'],
    ['id 1e3 after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":1e3}'],
    ['id 16 digits', '{"jsonrpc":"2.0","id":1234567890123456,"method":"m"}'],
    ['id 16 digits after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":1234567890123456}'],
    ['id 01 (not JSON)', '{"jsonrpc":"2.0","id":01,"method":"m"}'],
    ['id 01 after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"id":01}'],
    ['id -- 1 after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"id":--1}'],
    ['another member 01 after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"x":01}'],
    ['another member -01 after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"x":-01,"id":1}'],
    ['another member 1.5 after params', '{"jsonrpc":"2.0","method":"m","params":[],"x":1.5}'],
    ['another member nul after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"x":nul}'],
    ['id nill after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"id":nill}'],
    ['another member tlue after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"x":tlue}'],
    ['another member fxlse after params (not JSON)', '{"jsonrpc":"2.0","method":"m","params":[],"x":fxlse}'],
    ['id true', '{"jsonrpc":"2.0","id":true,"method":"m"}'],
    ['id false after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":false}'],
    ['id an object', '{"jsonrpc":"2.0","id":{"a":1},"method":"m"}'],
    ['id an object after params', '{"jsonrpc":"2.0","method":"m","params":[],"id":{"a":1}}'],
    ['a control character in the method', '{"jsonrpc":"2.0","id":1,"method":"a\tb"}'],
    ['a control character in a key after params', '{"method":"m","params":[],"jsonrpc":"2.0","i\nd":1}'],
    ['a control character inside params', '{"jsonrpc":"2.0","id":1,"method":"m","params":["a\u0001"]}'],
    ['unterminated', '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]'],
    ['unterminated params', '{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,{"id":2}'],
    ['an unterminated string', '{"jsonrpc":"2.0","id":1,"method":"m'],
    ['an extra member with an object value', '{"jsonrpc":"2.0","id":1,"x":{"a":1},"method":"m"}'],
    ['an extra member with an array value after params', '{"jsonrpc":"2.0","method":"m","params":[],"x":[1]}'],
    ['a trailing comma', '{"jsonrpc":"2.0","id":1,"method":"m",}'],
    ['a trailing comma after params', '{"jsonrpc":"2.0","method":"m","params":[],}'],
    ['a missing comma after params', '{"jsonrpc":"2.0","method":"m","params":[] "id":1}'],
    ['non-JSON whitespace', '{"jsonrpc":"2.0",\u00a0"id":1,"method":"m"}'],
    ['a form feed between tokens (not JSON whitespace)', '{"jsonrpc":"2.0",\f"id":1,"method":"m"}'],
    ['a vertical tab before the end (not JSON whitespace)', '{"jsonrpc":"2.0","id":1,"method":"m"}\u000b'],
    ['a control character between tokens after params', '{"jsonrpc":"2.0","method":"m","params":[]\u0001,"id":1}'],
    ['an empty object', '{}'],
    ['garbage', 'hello'],
    ['nothing', ''],
    ['whitespace only', ' \n'],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(decode(text)).toBeUndefined();
    });
  }

  it('tells envelope keys from near misses: each is another member, read as the reference reads it', () => {
    const members: Record<string, string> = { jsonrpc: '"2.0"', id: '5', method: '"m"', params: '[1]' };
    const names = Object.keys(members);
    for (const name of names) {
      for (let at = 0; at <= name.length; at++) {
        for (const near of [
          name.slice(0, at) + 'x' + name.slice(at + 1),
          name.slice(0, at) + 'x' + name.slice(at),
          name.slice(0, at) + name.slice(at + 1),
        ]) {
          for (const last of [true, false]) {
            // the near miss keeps a scalar value, so that the fast path may skip it as an unknown member
            const renamed = names.map((n) => (n === name ? `"${near}":${n === 'params' ? 'null' : members[n]}` : `"${n}":${members[n]}`));
            const text = `{${(last ? renamed : renamed.reverse()).join(',')}}`;
            const want = envelopeReference(text);
            const got = decode(text);
            if (want === undefined) expect(got).toBeUndefined();
            else expectTaken(text);
          }
        }
      }
    }
  });

  it('out-of-range offsets', () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"m"}';
    const out = newEnvelopeOut();
    expect(decodeEnvelope(text, -1, text.length, out)).toBe(false);
    expect(decodeEnvelope(text, 0, text.length + 1, out)).toBe(false);
    expect(decodeEnvelope(text, 5, 5, out)).toBe(false);
    expect(decodeEnvelope(text, 5, 2, out)).toBe(false);
  });
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, k) => permutations([...items.slice(0, k), ...items.slice(k + 1)]).map((rest) => [item, ...rest]));
}
