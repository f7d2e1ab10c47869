/**
 * LSP base-protocol header facts: the header block's limit and its `Content-Length` parsing, straight from bytes.
 *
 * A header block is `Name: value\r\n` lines, then `\r\n`; only `Content-Length`
 * matters, other headers are skipped unread.
 * @module
 */

/** The header block may not grow past this (CRLFs included). */
export const MAX_HEADER_BYTES = 8 * 1024;

/** {@link contentLength}: no usable Content-Length (missing, malformed, conflicting). */
export const BAD_LENGTH = -1;
/** {@link contentLength}: a Content-Length over the limit. */
export const OVER_LIMIT = -2;

/** `content-length` in lower case. */
const NAME = Array.from('content-length', (c) => c.charCodeAt(0));

/**
 * Index just past the `\r\n\r\n` that ends a header block starting at `from`,
 * looking no further than `to`; -1 when it is not there.
 */
export function headerEnd(b: Uint8Array, from: number, to: number): number {
  let k = b.indexOf(0x0a, from + 3);
  while (k >= 0 && k < to) {
    if (b[k - 1] === 0x0d && b[k - 2] === 0x0a && b[k - 3] === 0x0d) return k + 1;
    k = b.indexOf(0x0a, k + 1);
  }
  return -1;
}

/**
 * The Content-Length of the header block `b[from, end)` (`end` is where its final
 * blank line ends), or {@link BAD_LENGTH} / {@link OVER_LIMIT}. Every line must be
 * `name: value`; a repeated Content-Length must repeat the same value.
 */
export function contentLength(b: Uint8Array, from: number, end: number, limit: number): number {
  const stop = end - 2; // the blank line's CRLF
  let found = BAD_LENGTH;
  let line = from;
  while (line < stop) {
    let eol = line;
    while (!(b[eol] === 0x0d && b[eol + 1] === 0x0a)) eol++;
    let colon = line;
    while (colon < eol && b[colon] !== 0x3a) colon++;
    if (colon === eol) return BAD_LENGTH;
    if (isContentLength(b, line, colon)) {
      const value = parseValue(b, colon + 1, eol, limit);
      if (value === BAD_LENGTH || (found !== BAD_LENGTH && found !== value)) return BAD_LENGTH;
      found = value;
    }
    line = eol + 2;
  }
  return found;
}

function isContentLength(b: Uint8Array, from: number, to: number): boolean {
  while (to > from && isBlank(b[to - 1]!)) to--;
  if (to - from !== NAME.length) return false;
  for (let i = 0; i < NAME.length; i++) {
    let c = b[from + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== NAME[i]) return false;
  }
  return true;
}

/** Decimal digits between optional blanks; OVER_LIMIT as soon as the value passes `limit`. */
function parseValue(b: Uint8Array, from: number, to: number, limit: number): number {
  while (from < to && isBlank(b[from]!)) from++;
  while (to > from && isBlank(b[to - 1]!)) to--;
  if (from === to) return BAD_LENGTH;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return BAD_LENGTH;
    value = value * 10 + d;
    if (value > limit) {
      for (let j = i + 1; j < to; j++) if (b[j]! < 0x30 || b[j]! > 0x39) return BAD_LENGTH;
      return OVER_LIMIT;
    }
  }
  return value;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
