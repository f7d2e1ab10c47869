/**
 * JSON values written as bytes straight into an output buffer, each the exact bytes
 * of JSON.stringify's text in UTF-8: constants, numbers and strings by hand, other
 * JSON text by Node's UTF-8 writer. Each writer takes where to write and returns where
 * it ends; the caller has made the room its `…Room` says.
 * @module
 */
import { utf8WriteAt, utf8WriteShort } from './utf8.js';

const encoder = new TextEncoder();

/** The UTF-8 bytes of a constant part, encoded once. */
export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Copies `bytes` to `at`. A loop: the constants are short, and set() costs a call. */
export function writeBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; i++) out[at + i] = bytes[i]!;
  return at + n;
}

/**
 * The longest text {@link writeNumber} writes: Number#toString's longest is 25
 * characters (`-0.0000012345678901234567`), a safe integer's 17.
 */
export const NUMBER_ROOM = 25;

const NULL = bytesOf('null');
const MINUS = 0x2d;
const ZERO = 0x30;

/**
 * `n` as JSON writes it: integers up to 2^53 digit by digit (there String's text is
 * the exact integer, -0 included as `0`), other finite numbers as String writes them
 * (JSON's text is the same), NaN and the infinities as `null`.
 */
export function writeNumber(out: Uint8Array, at: number, n: number): number {
  if ((n | 0) === n && n >= 0) return writeDigits(out, at, n);
  if (Number.isSafeInteger(n)) {
    if (n < 0) {
      out[at++] = MINUS;
      n = -n;
    }
    return writeDigits(out, at, n);
  }
  if (Number.isFinite(n)) return utf8WriteShort(out, at, String(n));
  return writeBytes(out, at, NULL);
}

/** Writes integer `n`, 0 ≤ n < 2^53, in decimal; returns where it ends. */
export function writeDigits(out: Uint8Array, at: number, n: number): number {
  if (n > 0x7fffffff) return writeLongDigits(out, at, n);
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    out[i] = ZERO + (n % 10);
    n = (n / 10) | 0;
  }
  return end;
}

/** {@link writeDigits} past int32, in doubles (exact below 2^53). */
function writeLongDigits(out: Uint8Array, at: number, n: number): number {
  let end = at + 1;
  for (let power = 10; power <= n; power *= 10) end++;
  for (let i = end - 1; i >= at; i--) {
    const digit = n % 10;
    out[i] = ZERO + digit;
    // Exact: n - digit is a multiple of 10, and the quotient an integer.
    n = (n - digit) / 10;
  }
  return end;
}

/** The room {@link writeString} needs: 6 bytes a unit (`\u001f`), 2 quotes. */
export function stringRoom(s: string): number {
  return s.length * 6 + 2;
}

/**
 * `s` as JSON.stringify writes it, quoted. Up to `handMax` units it is copied by
 * hand, UTF-8 included, unless a unit needs escaping (a control character, `"`,
 * `\`, a lone surrogate); then, or when longer, JSON.stringify's text is written by
 * Node's writer from the same start.
 */
export function writeString(out: Uint8Array, at: number, s: string, handMax: number): number {
  if (s.length <= handMax) {
    const end = writeUnescaped(out, at, s);
    if (end >= 0) return end;
    // Given up: what the hand loop wrote (the quote and some units) is JSON's text
    // of the same units, which the writer below writes again over it, and more.
  }
  return writeText(out, at, JSON.stringify(s));
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * `"s"` as UTF-8 if JSON writes `s` without escapes; otherwise -1, having written
 * part of it. Printable ASCII in a loop small enough to be inlined; from the first
 * other unit on, {@link writeUnescapedFrom}.
 */
function writeUnescaped(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  out[at] = QUOTE;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === QUOTE || c === BACKSLASH) return c < 0x7f ? -1 : writeUnescapedFrom(out, at + 1 + i, s, i);
    out[at + 1 + i] = c;
  }
  out[at + 1 + n] = QUOTE;
  return at + n + 2;
}

/** The rest of {@link writeUnescaped} from unit `i`, written at `p`, any unit. */
function writeUnescapedFrom(out: Uint8Array, p: number, s: string, i: number): number {
  const n = s.length;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) return -1;
      out[p++] = c;
    } else if (c < 0x800) {
      out[p++] = (c >> 6) | 0xc0;
      out[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) !== 0xd800) {
      out[p++] = (c >> 12) | 0xe0;
      out[p++] = ((c >> 6) & 0x3f) | 0x80;
      out[p++] = (c & 0x3f) | 0x80;
    } else {
      // A surrogate: JSON escapes a lone one (past the end, charCodeAt is NaN).
      const low = s.charCodeAt(i + 1);
      if (c >= 0xdc00 || (low & 0xfc00) !== 0xdc00) return -1;
      const point = 0x10000 + ((c & 0x03ff) << 10) + (low & 0x03ff);
      out[p++] = (point >> 18) | 0xf0;
      out[p++] = ((point >> 12) & 0x3f) | 0x80;
      out[p++] = ((point >> 6) & 0x3f) | 0x80;
      out[p++] = (point & 0x3f) | 0x80;
      i++;
    }
  }
  out[p++] = QUOTE;
  return p;
}

/** Up to this many UTF-16 units, text is copied by hand (measured: faster up to about 24). */
export const SHORT_TEXT = 24;

/**
 * Writes JSON text (so no lone surrogates: both writers give the same bytes) as
 * UTF-8 at `at`; returns where it ends. The caller has made room for 3 bytes a unit.
 */
export function writeText(out: Uint8Array, at: number, text: string): number {
  if (text.length <= SHORT_TEXT) return utf8WriteShort(out, at, text);
  return at + utf8WriteAt(out, at, text);
}
