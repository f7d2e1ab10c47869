import { describe, expect, it } from 'vitest';
import { encodeAfter, encodeContentLength, encodeLine } from '../operators/codec/utf8.js';

const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
// Around the slab's 8 KiB item size, in 1-, 2-, 3- and 4-byte characters (and a lone surrogate).
const texts = [0, 1, 2730, 2731, 2732, 4095, 4096, 8190, 8191, 8192, 8193, 20000].flatMap((n) => [
  'a'.repeat(n),
  'é'.repeat(Math.ceil(n / 2)),
  '€'.repeat(Math.ceil(n / 3)),
  '😀'.repeat(Math.ceil(n / 4)),
  `${'x'.repeat(n)}\ud800`,
]);

describe('UTF-8 encoders: exact-size output, whatever the size', () => {
  it('encodeLine: the text as UTF-8, then one newline, and nothing else', () => {
    for (const text of texts) {
      const out = encodeLine(text);
      expect(out.length).toBe(Buffer.byteLength(text) + 1);
      expect(decode(out)).toBe(`${text.replace('\ud800', '\ufffd')}\n`);
    }
  });

  it('encodeContentLength: a header whose N is the byte length of the body that follows', () => {
    for (const text of texts) {
      const out = decode(encodeContentLength(text));
      const body = text.replace('\ud800', '\ufffd');
      expect(out).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
  });

  it('encodeAfter: zeroed room for a header, then the text; outputs never overlap', () => {
    const outs = texts.map((text) => ({ text, out: encodeAfter(16, text) }));
    for (const { text, out } of outs) {
      expect(out.subarray(0, 16)).toEqual(new Uint8Array(16));
      expect(decode(out.subarray(16))).toBe(text.replace('\ud800', '\ufffd'));
    }
  });
});
