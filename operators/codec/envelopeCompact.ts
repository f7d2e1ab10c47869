/**
 * The two envelopes nearly every client writes, read by comparing their bytes with
 * the text JSON.stringify makes: `{"jsonrpc":"2.0","id":ID,"method":"M","params":P}`
 * (vscode-jsonrpc's order, and most clients') and `{"method":"M","params":P,
 * "jsonrpc":"2.0","id":ID}` (the MCP TypeScript SDK's), each with or without id
 * and params. No whitespace, no other member: anything else is envelope.ts's.
 *
 * It reads bytes, four at a time where the text is fixed: on this machine a
 * `charCodeAt` costs ~2 ns, a byte ~0.5 and a 4-byte DataView read less (a 22-byte
 * prefix: 43, 11 and 3 ns over an empty loop; bench/RESULTS.md). The text is needed
 * only for what becomes a string: params (JSON.parse's, which checks them), a
 * string id, a new method. Each part is checked to be exactly what it must be, so
 * the range is that one object or this returns false.
 * @module
 */
import type { RpcId } from '../../src/core/records.js';
import type { EnvelopeOut } from './envelope.js';
import { flatArray, NOT_SIMPLE } from './flatArray.js';

/** A fixed text as little-endian 32-bit words and the bytes left over. */
interface Fixed {
  readonly length: number;
  readonly words: Uint32Array;
  readonly tail: Uint8Array;
}

function fixed(text: string): Fixed {
  const bytes = new TextEncoder().encode(text);
  const whole = bytes.length >> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const words = new Uint32Array(whole);
  for (let k = 0; k < whole; k++) words[k] = view.getUint32(k * 4, true);
  return { length: bytes.length, words, tail: bytes.slice(whole * 4) };
}

/** vscode-jsonrpc's order: a request's opening, and a notification's. */
const WITH_ID = fixed('{"jsonrpc":"2.0","id":');
const WITHOUT_ID = fixed('{"jsonrpc":"2.0","method":"');
const THEN_METHOD = fixed(',"method":"');
/** The MCP SDK's order: method first, then params, then jsonrpc and id last. */
const METHOD_FIRST = fixed('{"method":"');
const THEN_VERSION = fixed(',"jsonrpc":"2.0"');
const THEN_ID = fixed(',"id":');
const THEN_PARAMS = fixed(',"params":');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
/** Beyond this many digits an id might not be an exact double: envelope.ts's or JSON.parse's to decide. */
const MAX_DIGITS = 15;

/**
 * Reads the two envelopes from bytes, with the text they decode to. One per
 * decoder: it keeps the last method read and a DataView of the memory last read.
 */
export class CompactEnvelope {
  private memory: ArrayBufferLike | undefined = undefined;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** The last method, as text and as bytes: a repeated one is the same string object (route() compares by it) and no allocation. */
  private method = '';
  private methodBytes = new Uint8Array(0);
  private id: RpcId = null;

  /**
   * Fills `out` and returns true when `bytes[start, end)` is one of the two
   * envelopes, then only JSON whitespace; false otherwise (nothing is claimed then).
   * `text` holds the same characters as `bytes` from `start` to `end`, at
   * `bytes` index minus `delta` (true of ASCII only: the caller makes sure).
   */
  decode(bytes: Uint8Array, start: number, end: number, text: string, delta: number, out: EnvelopeOut): boolean {
    const close = lastBrace(bytes, start, end);
    if (close < 0) return false;
    if (bytes.buffer !== this.memory) {
      this.memory = bytes.buffer;
      this.view = new DataView(bytes.buffer);
    }
    const base = bytes.byteOffset;
    if (this.matches(base, start, close, WITH_ID)) {
      let i = this.idEnd(bytes, start + WITH_ID.length, close, text, delta);
      if (i < 0 || !this.matches(base, i, close, THEN_METHOD)) return false;
      const id = this.id;
      i = this.methodEnd(bytes, i + THEN_METHOD.length, close, text, delta);
      return i >= 0 && this.withParams(bytes, i, close, text, delta, id, false, out);
    }
    if (this.matches(base, start, close, WITHOUT_ID)) {
      const i = this.methodEnd(bytes, start + WITHOUT_ID.length, close, text, delta);
      return i >= 0 && this.withParams(bytes, i, close, text, delta, null, true, out);
    }
    if (this.matches(base, start, close, METHOD_FIRST)) {
      const i = this.methodEnd(bytes, start + METHOD_FIRST.length, close, text, delta);
      if (i < 0) return false;
      let tail = close - THEN_VERSION.length;
      if (tail >= i && this.matches(base, tail, close, THEN_VERSION)) return this.withParams(bytes, i, tail, text, delta, null, true, out);
      const idStart = idStartBack(bytes, i, close);
      if (idStart < 0 || this.idEnd(bytes, idStart, close, text, delta) !== close) return false;
      tail = idStart - THEN_ID.length - THEN_VERSION.length;
      if (tail < i || !this.matches(base, idStart - THEN_ID.length, close, THEN_ID) || !this.matches(base, tail, close, THEN_VERSION))
        return false;
      return this.withParams(bytes, i, tail, text, delta, this.id, false, out);
    }
    return false;
  }

  /** `[i, to)` is nothing, or `,"params":` and the params (JSON.parse's to check): fills `out`. */
  private withParams(
    bytes: Uint8Array,
    i: number,
    to: number,
    text: string,
    delta: number,
    id: RpcId,
    notification: boolean,
    out: EnvelopeOut,
  ): boolean {
    let params: unknown;
    if (i !== to) {
      if (to - i <= THEN_PARAMS.length || !this.matches(bytes.byteOffset, i, to, THEN_PARAMS)) return false;
      const from = i + THEN_PARAMS.length;
      params = bytes[from] === LBRACKET ? flatArray(bytes, from, to, text, delta) : NOT_SIMPLE;
      if (params === NOT_SIMPLE) {
        try {
          params = JSON.parse(text.slice(from - delta, to - delta));
        } catch {
          return false;
        }
        if (typeof params !== 'object' || params === null) return false;
      }
    }
    out.id = id;
    out.notification = notification;
    out.method = this.method;
    out.params = params;
    return true;
  }

  /** Whether the bytes at `at` (within the slice at `base`, and before `limit`) are `f`. */
  private matches(base: number, at: number, limit: number, f: Fixed): boolean {
    if (at < 0 || at + f.length > limit) return false;
    const view = this.view;
    const words = f.words;
    let p = base + at;
    for (let k = 0; k < words.length; k++, p += 4) if (view.getUint32(p, true) !== words[k]) return false;
    const tail = f.tail;
    for (let k = 0; k < tail.length; k++) if (view.getUint8(p + k) !== tail[k]) return false;
    return true;
  }

  /** Reads the method whose characters start at `i` (after its `"`); returns the index after its closing `"`, or -1. */
  private methodEnd(bytes: Uint8Array, i: number, to: number, text: string, delta: number): number {
    const known = this.methodBytes;
    const n = known.length;
    if (i + n < to && bytes[i + n] === QUOTE) {
      let k = 0;
      while (k < n && bytes[i + k] === known[k]) k++;
      if (k === n) return i + n + 1;
    }
    const close = plainStringEnd(bytes, i, to);
    if (close < 0) return -1;
    this.method = text.slice(i - delta, close - delta);
    this.methodBytes = bytes.slice(i, close);
    return close + 1;
  }

  /** Reads an id at `i`: `-?(0|[1-9][0-9]*)` of at most 15 digits, a string without escapes, or null. Returns the index after it, or -1. */
  private idEnd(bytes: Uint8Array, i: number, to: number, text: string, delta: number): number {
    let c = bytes[i]!;
    if (c === QUOTE) {
      const close = plainStringEnd(bytes, i + 1, to);
      if (close < 0) return -1;
      const value = text.slice(i + 1 - delta, close - delta);
      // A copy, not a view of the whole read's text (which a slice of 13 or more is), as JSON.parse's is.
      this.id = value.length < 13 ? value : ` ${value}`.slice(1);
      return close + 1;
    }
    if (c === 0x6e) {
      if (i + 4 > to || bytes[i + 1] !== 0x75 || bytes[i + 2] !== 0x6c || bytes[i + 3] !== 0x6c) return -1;
      this.id = null;
      return i + 4;
    }
    let j = i;
    const negative = c === MINUS;
    if (negative) c = bytes[++j]!;
    if (c === ZERO) {
      c = bytes[j + 1]!;
      if (c >= ZERO && c <= NINE) return -1;
      this.id = negative ? -0 : 0;
      return j + 1;
    }
    if (!(c >= ONE && c <= NINE)) return -1;
    const first = j;
    let value = 0;
    while (j < to && (c = bytes[j]!) >= ZERO && c <= NINE) {
      value = value * 10 + (c - ZERO);
      j++;
    }
    if (j - first > MAX_DIGITS) return -1;
    this.id = negative ? -value : value;
    return j;
  }
}

/** Where the final `}` is, JSON whitespace after it skipped; -1 when there is none. */
function lastBrace(bytes: Uint8Array, start: number, end: number): number {
  let k = end - 1;
  while (k > start) {
    const c = bytes[k]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    k--;
  }
  return k > start && bytes[k] === RBRACE ? k : -1;
}

/** Where an id ending right before `close` starts (looking no further back than `lo`), or -1. idEnd() then checks it. */
function idStartBack(bytes: Uint8Array, lo: number, close: number): number {
  const last = close - 1;
  const c = bytes[last]!;
  if (c === QUOTE) {
    for (let k = last - 1; k > lo; k--) if (bytes[k] === QUOTE) return k;
    return -1;
  }
  if (c === 0x6c) return last - 3;
  let j = last;
  while (j > lo) {
    const d = bytes[j - 1]!;
    if (d < ZERO || d > NINE) break;
    j--;
  }
  return bytes[j - 1] === MINUS ? j - 1 : j;
}

/** The index of the `"` closing a string whose characters start at `i`, if none of them needs escaping in JSON; else -1. */
function plainStringEnd(bytes: Uint8Array, i: number, to: number): number {
  for (let k = i; k < to; k++) {
    const c = bytes[k]!;
    if (c === QUOTE) return k;
    // Above 0x7f the caller's text would not line up with the bytes: not ours to read.
    if (c < 0x20 || c === BACKSLASH || c > 0x7f) return -1;
  }
  return -1;
}
