/**
 * The NDJSON line of a JSON-RPC result, written as bytes straight into the slab:
 * `{"jsonrpc":"2.0","id":` and `,"result":` are copied from constants, a small
 * integer id is written digit by digit, and only the result goes through
 * JSON.stringify and Node's UTF-8 writer. Joining the parts as a string first (what
 * `responseJson` does, for every other reply) makes V8 build a rope that the UTF-8
 * writer must then flatten (measured for an echo reply: 281 → 204 ns, and 128 ns
 * with the short-string path; bench/RESULTS.md, RPC section, "Session 4's changes").
 * @module
 */
import type { RpcId } from '../../src/core/records.js';
import { SHORT_TEXT, writeDigits, writeText } from './jsonBytes.js';
import { SLAB_ITEM_MAX, slabRoom, slabStart, slabTake } from './slab.js';

const HEAD = new TextEncoder().encode('{"jsonrpc":"2.0","id":');
const MIDDLE = new TextEncoder().encode(',"result":');
/** Head, the longest id this writes by hand (10 digits), middle, `}` and the newline. */
const FIXED = HEAD.length + 10 + MIDDLE.length + 2;

/**
 * `{"jsonrpc":"2.0","id":ID,"result":RESULT}\n` for an id from 0 to 2^31-1, or
 * undefined, having read nothing of the result, for any other id (the caller then
 * uses responseJson). Throws what JSON.stringify throws (a BigInt, a cycle, a
 * throwing toJSON), having called it once.
 */
export function resultLine(id: RpcId, result: unknown): Uint8Array | undefined {
  if (typeof id !== 'number' || (id | 0) !== id || id < 0) return undefined;
  if (typeof result === 'string' && result.length <= SHORT_TEXT) {
    // A short string that JSON writes as itself in quotes needs no JSON.stringify.
    const out = slabRoom(FIXED + SHORT_TEXT + 2);
    const at = writeHead(out, slabStart(), id);
    const end = writePlainString(out, at, result);
    if (end >= 0) return slabTake(writeTail(out, end));
    // Not taken: the slab's zeroes are restored by what is written next from the
    // same start, JSON.stringify's text of the same string, which covers every unit
    // tried (the spec checks the slab after each kind of string given up).
  }
  // JSON.stringify gives undefined (not text) for undefined, functions and symbols.
  const json = JSON.stringify(result) ?? 'null';
  if (FIXED + json.length * 3 <= SLAB_ITEM_MAX) {
    const out = slabRoom(FIXED + json.length * 3);
    return slabTake(writeTail(out, writeText(out, writeHead(out, slabStart(), id), json)));
  }
  // Past the slab's item size: a buffer of its own, measured exactly.
  const out = new Uint8Array(FIXED + Buffer.byteLength(json, 'utf8'));
  return out.subarray(0, writeTail(out, writeText(out, writeHead(out, 0, id), json)));
}

/** Everything before the result; returns where it ends. */
function writeHead(out: Uint8Array, at: number, id: number): number {
  for (let i = 0; i < HEAD.length; i++) out[at + i] = HEAD[i]!;
  at = writeDigits(out, at + HEAD.length, id);
  for (let i = 0; i < MIDDLE.length; i++) out[at + i] = MIDDLE[i]!;
  return at + MIDDLE.length;
}

function writeTail(out: Uint8Array, at: number): number {
  out[at] = 0x7d;
  out[at + 1] = 0x0a;
  return at + 2;
}

/**
 * `"s"` when every unit of `s` is printable ASCII other than `"` and `\` (which
 * JSON writes as it is); returns where it ends, or -1 for any string JSON escapes.
 */
function writePlainString(out: Uint8Array, at: number, s: string): number {
  const n = s.length;
  out[at] = QUOTE;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === QUOTE || c === BACKSLASH) return -1;
    out[at + 1 + i] = c;
  }
  out[at + 1 + n] = QUOTE;
  return at + n + 2;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
