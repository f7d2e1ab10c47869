/**
 * The NDJSON line of a JSON-RPC result, written as bytes straight into the slab:
 * `{"jsonrpc":"2.0","id":` and `,"result":` are copied from constants, a small
 * integer id is written digit by digit, and only the result goes through
 * JSON.stringify and Node's UTF-8 writer. Joining the parts as a string first (what
 * `responseJson` does, for every other reply) makes V8 build a rope that the UTF-8
 * writer must then flatten: about a fifth of an echo reply's encoding
 * (bench/RESULTS.md, "result line").
 * @module
 */
import type { RpcId } from '../../src/records.js';
import { SLAB_ITEM_MAX, slabRoom, slabStart, slabTake } from './slab.js';
import { utf8Write } from './utf8.js';

const HEAD = new TextEncoder().encode('{"jsonrpc":"2.0","id":');
const MIDDLE = new TextEncoder().encode(',"result":');
/** Head, the longest id this writes by hand (10 digits), middle, `}` and the newline. */
const FIXED = HEAD.length + 10 + MIDDLE.length + 2;
const ZERO = 0x30;

/**
 * `{"jsonrpc":"2.0","id":ID,"result":RESULT}\n` for an id from 0 to 2^31-1, or
 * undefined for any other id or a result too large for the slab (the caller then
 * uses responseJson). Throws what JSON.stringify throws (a BigInt, a cycle).
 */
export function resultLine(id: RpcId, result: unknown): Uint8Array | undefined {
  if (typeof id !== 'number' || (id | 0) !== id || id < 0) return undefined;
  // JSON.stringify gives undefined (not text) for undefined, functions and symbols.
  const json = JSON.stringify(result) ?? 'null';
  const room = FIXED + json.length * 3;
  if (room > SLAB_ITEM_MAX) return undefined;
  const out = slabRoom(room);
  let at = slabStart();
  for (let i = 0; i < HEAD.length; i++) out[at + i] = HEAD[i]!;
  at += HEAD.length;
  at = writeDigits(out, at, id);
  for (let i = 0; i < MIDDLE.length; i++) out[at + i] = MIDDLE[i]!;
  at += MIDDLE.length;
  at = writeText(out, at, json);
  out[at++] = 0x7d;
  out[at++] = 0x0a;
  return slabTake(at);
}

/**
 * Writes `text` as UTF-8 at `at`; returns where it ends. Short ASCII is copied unit
 * by unit, which costs less than the call into Node's writer.
 */
function writeText(out: Uint8Array, at: number, text: string): number {
  const n = text.length;
  let i = 0;
  if (n <= SHORT_TEXT) {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      out[at + i] = c;
    }
    if (i === n) return at + n;
  }
  return at + i + utf8Write.call(out, i === 0 ? text : text.slice(i), at + i, (n - i) * 3);
}

/** Up to this many UTF-16 units, text is copied by hand (measured: faster up to about 24). */
const SHORT_TEXT = 24;

/** Writes non-negative int32 `n` in decimal at `at`; returns where it ends. */
function writeDigits(out: Uint8Array, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest / 10) | 0) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    out[i] = ZERO + (n % 10);
    n = (n / 10) | 0;
  }
  return end;
}
