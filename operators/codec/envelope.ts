/**
 * A JSON-RPC request's envelope read by hand, so that JSON.parse sees only its
 * params: V8 spends a good part of JSON.parse of a small request building the
 * envelope object.
 *
 * The members before `params` are read forward, those after it backward from the
 * final `}`, each token checked to be exactly a JSON token; JSON.parse of the text
 * between checks params. JSON's grammar is unambiguous, so the three checked parts
 * prove the range is one object with those members, without a JavaScript loop
 * over params' characters (a JS bracket scan over params measured slower than
 * JSON.parse of the whole message). Anything it cannot decide exactly it leaves to
 * the full decode: escapes in keys, method or id; duplicate envelope keys;
 * structured or non-integer values outside params; anything invalid.
 *
 * What it saves depends on the message (2-core AMD EPYC VM, Node 20, median ns a
 * call against JSON.parse of the whole text): a 70-byte echo request 364 vs 441; a
 * 200-byte tools/call 1314 vs 1238 with params last and 1348 vs 1116 with params
 * first, slower. The scan costs ~2.5 ns a character here, and it measured ~100-200
 * ns dearer beside JSON.parse than apart, which eats the saving on larger params.
 * One file on purpose: split into three modules it measured 20-100 ns slower.
 * @module
 */
import type { RpcId } from '../../src/core/records.js';

/** What decodeEnvelope() fills in: a valid JSON-RPC 2.0 request or notification. */
export interface EnvelopeOut {
  /** null for a notification. */
  id: RpcId;
  /** true when there is no `id` member. */
  notification: boolean;
  method: string;
  /** undefined when there is no `params` member. */
  params: unknown;
}

/** An EnvelopeOut to reuse across calls (decodeEnvelope() allocates none). */
export function newEnvelopeOut(): EnvelopeOut {
  return { id: null, notification: true, method: '', params: undefined };
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/** Envelope keys as bits, so that a duplicate is one AND; other keys are 0. */
const JSONRPC = 1;
const ID = 2;
const METHOD = 4;
const PARAMS = 8;
const REQUIRED = JSONRPC | METHOD;

/** Beyond this many digits an id might not be an exact double; JSON.parse then decides. */
const MAX_DIGITS = 15;

/**
 * Returns true and fills `out` when text[start, end) is, after optional JSON whitespace,
 * exactly ONE JSON object followed only by optional JSON whitespace, which is a VALID
 * JSON-RPC 2.0 request or notification that the fast path could read exactly.
 * Returns false otherwise (the caller then does the full decode); `out` may then hold anything.
 */
export function decodeEnvelope(text: string, start: number, end: number, out: EnvelopeOut): boolean {
  if (!(start >= 0 && start < end && end <= text.length)) return false;
  let i = start;
  let c = text.charCodeAt(i);
  if (c <= SPACE) c = charAt(text, (i = skipWs(text, i, end)), end);
  if (c !== LBRACE) return false;
  let seen = 0;
  let id: RpcId = null;
  let method = '';
  let paramsStart = -1;
  // Each character is read once: at each gap between tokens `c` is read, and
  // whitespace (rare there) is skipped only when `c` could be some.
  for (;;) {
    c = charAt(text, ++i, end);
    if (c <= SPACE) c = charAt(text, (i = skipWs(text, i, end)), end);
    if (c !== QUOTE) return false;
    const key = envelopeKey(text, i, end);
    if (key !== 0) {
      i += key === JSONRPC ? 9 : key === ID ? 4 : 8;
    } else {
      const close = stringEnd(text, i, end);
      if (close < 0) return false;
      i = close + 1;
    }
    c = charAt(text, i, end);
    if (c <= SPACE) c = charAt(text, (i = skipWs(text, i, end)), end);
    if (c !== COLON) return false;
    c = charAt(text, ++i, end);
    if (c <= SPACE) c = charAt(text, (i = skipWs(text, i, end)), end);
    if (c < 0 || (seen & key) !== 0) return false;
    seen |= key;
    if (key === PARAMS) {
      paramsStart = i;
      break;
    }
    if (key === JSONRPC) {
      if (!isVersion(text, i, end)) return false;
      i += 5;
    } else if (key === METHOD) {
      if (c !== QUOTE) return false;
      i = methodEnd(text, i, end);
      if (i < 0) return false;
      method = lastMethod;
    } else if (c === QUOTE) {
      const close = stringEnd(text, i, end);
      if (close < 0) return false;
      if (key === ID) id = copyOf(text, i + 1, close);
      i = close + 1;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      i = integerEnd(text, i, end);
      if (i < 0) return false;
      if (key === ID) id = integer;
    } else {
      // null (a valid id: `id` is already null), or true/false in other members
      const e = literalEnd(text, i, end, c);
      if (e < 0 || (key === ID && c !== 0x6e)) return false;
      i = e;
    }
    // What follows a value: `,` and the next member, or `}` and nothing but whitespace.
    c = charAt(text, i, end);
    if (c <= SPACE) c = charAt(text, (i = skipWs(text, i, end)), end);
    if (c === COMMA) continue;
    if (c !== RBRACE || skipWs(text, i + 1, end) !== end) return false;
    break;
  }
  let params: unknown;
  if (paramsStart >= 0) {
    const open = text.charCodeAt(paramsStart);
    // Only an array or object can be valid params; the others need no parse to be refused.
    if (open !== LBRACKET && open !== LBRACE) return false;
    let j = skipWsBack(text, end - 1, paramsStart);
    if (j <= paramsStart || text.charCodeAt(j) !== RBRACE) return false;
    j = skipWsBack(text, j - 1, paramsStart);
    if (j <= paramsStart) return false;
    const last = text.charCodeAt(j);
    if (last !== RBRACKET && last !== RBRACE) {
      // Members after params (the MCP SDK's order): read back to where params ends.
      tailSeen = seen;
      j = trailingMembers(text, paramsStart, j);
      if (j < 0) return false;
      if ((tailSeen & ID) !== (seen & ID)) id = tailId;
      if ((tailSeen & METHOD) !== (seen & METHOD)) method = lastMethod;
      seen = tailSeen;
    }
    params = parseJson(text.slice(paramsStart, j + 1));
    if (params === undefined) return false;
  }
  if ((seen & REQUIRED) !== REQUIRED) return false;
  out.id = id;
  out.notification = (seen & ID) === 0;
  out.method = method;
  out.params = params;
  return true;
}

/**
 * The last method read, kept so that a repeated method is the same string object
 * (route() compares it with the last one it saw, cheapest by identity) and costs
 * no allocation. Only ever a string read by methodEnd(): no `"`, `\` or control
 * character, so matching its characters and then a `"` proves the method token.
 */
let lastMethod = '';

/**
 * Reads the method string whose `"` is at text[open] into `lastMethod` (kept when
 * it has the same characters) and returns the index after its closing `"`, or -1
 * for a string with an escape or a control character, or not closed before `end`.
 */
function methodEnd(text: string, open: number, end: number): number {
  const n = lastMethod.length;
  const close = open + 1 + n;
  if (close < end && text.charCodeAt(close) === QUOTE) {
    let k = 0;
    while (k < n && text.charCodeAt(open + 1 + k) === lastMethod.charCodeAt(k)) k++;
    if (k === n) return close + 1;
  }
  const e = stringEnd(text, open, end);
  if (e < 0) return -1;
  lastMethod = copyOf(text, open + 1, e);
  return e + 1;
}

/**
 * text[from, to) as a string that does not hold on to `text`. V8 makes a slice of 13
 * characters or more a view into its parent, which would keep the whole decoded
 * read (up to a MiB) alive for as long as a request holds its method or id;
 * JSON.parse's strings are copies. Slicing a fresh concatenation copies only the
 * characters (measured ~60 ns for 36).
 */
function copyOf(text: string, from: number, to: number): string {
  return to - from < 13 ? text.slice(from, to) : (' ' + text.slice(from, to)).slice(1);
}

/**
 * text[i] when i is inside the range, else -1: no character test matches it except
 * `<= SPACE`, and skipWs() then stays put, so the next test fails.
 */
function charAt(text: string, i: number, end: number): number {
  return i < end ? text.charCodeAt(i) : -1;
}

/** JSON.parse's value, or undefined (which JSON text never is) for text that is not JSON. */
function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

// What trailingMembers() read, kept here rather than in a returned object: the
// hot path allocates nothing but JSON.parse's value and the method and id strings.
let tailSeen = 0;
let tailId: RpcId = null;

/**
 * Reads the members after params backward, from `j` (the last character of the
 * last member's value) to the `]` or `}` that ends params, and returns that
 * character's index, or -1. Every index read stays after `lo` (where params
 * starts), so these tokens and the forward ones never overlap.
 */
function trailingMembers(text: string, lo: number, j: number): number {
  for (;;) {
    const valueEnd = j + 1;
    const c = text.charCodeAt(j);
    let valueStart: number;
    if (c === QUOTE) {
      valueStart = stringStartBack(text, j, lo);
    } else if (c >= ZERO && c <= NINE) {
      valueStart = integerStartBack(text, j, lo);
    } else {
      // null, true or false: the word that ends here, if it is one
      valueStart = c === 0x6c ? j - 3 : c === 0x65 ? (text.charCodeAt(j - 3) === 0x74 ? j - 3 : j - 4) : -1;
      if (valueStart <= lo || literalEnd(text, valueStart, valueEnd, text.charCodeAt(valueStart)) !== valueEnd) return -1;
    }
    if (valueStart <= lo) return -1;
    // What precedes the value must be `:` (after whitespace): that rejects a longer
    // token it would be the tail of (`1.5`, `1e5`, `xnull`, `--1`).
    j = skipWsBack(text, valueStart - 1, lo);
    if (j <= lo || text.charCodeAt(j) !== COLON) return -1;
    j = skipWsBack(text, j - 1, lo);
    if (j <= lo || text.charCodeAt(j) !== QUOTE) return -1;
    let key = envelopeKeyBack(text, j, lo);
    let keyStart = j - (key === JSONRPC ? 8 : key === ID ? 3 : 7);
    if (key === 0) {
      keyStart = stringStartBack(text, j, lo);
      if (keyStart <= lo) return -1;
      key = keyOf(text, keyStart + 1, j);
    }
    // A second params is refused here as a duplicate: the forward scan took its bit.
    if ((tailSeen & key) !== 0) return -1;
    tailSeen |= key;
    const first = text.charCodeAt(valueStart);
    if (key === JSONRPC) {
      if (valueEnd - valueStart !== 5 || !isVersion(text, valueStart, valueEnd)) return -1;
    } else if (key === METHOD) {
      // A string token checked by stringStartBack(): methodEnd() finds the same end.
      if (first !== QUOTE || methodEnd(text, valueStart, valueEnd) !== valueEnd) return -1;
    } else if (key === ID) {
      if (first === QUOTE) tailId = copyOf(text, valueStart + 1, valueEnd - 1);
      else if (first === 0x6e) tailId = null;
      else if ((first === MINUS || (first >= ZERO && first <= NINE)) && integerEnd(text, valueStart, valueEnd) === valueEnd)
        tailId = integer;
      else return -1;
    }
    j = skipWsBack(text, keyStart - 1, lo);
    if (j <= lo || text.charCodeAt(j) !== COMMA) return -1;
    j = skipWsBack(text, j - 1, lo);
    if (j <= lo) return -1;
    const before = text.charCodeAt(j);
    // Scalars end in `"`, a digit or a letter: a bracket here can only close params.
    if (before === RBRACKET || before === RBRACE) return j;
  }
}

/**
 * The envelope key whose text starts with the `"` at text[q] (its closing quote
 * included), or 0 for any other key, which the caller then reads in full. The
 * characters are compared one by one with constants: the same compare as a loop over
 * a word passed as a string was the costliest helper of the scan in a profile.
 */
function envelopeKey(text: string, q: number, end: number): number {
  const c = text.charCodeAt(q + 1);
  if (c === 0x6a) return q + 8 < end && isJsonrpc(text, q + 1) && text.charCodeAt(q + 8) === QUOTE ? JSONRPC : 0;
  if (c === 0x69) return q + 3 < end && text.charCodeAt(q + 2) === 0x64 && text.charCodeAt(q + 3) === QUOTE ? ID : 0;
  if (c === 0x6d) return q + 7 < end && isMethod(text, q + 1) && text.charCodeAt(q + 7) === QUOTE ? METHOD : 0;
  if (c === 0x70) return q + 7 < end && isParams(text, q + 1) && text.charCodeAt(q + 7) === QUOTE ? PARAMS : 0;
  return 0;
}

/**
 * The envelope key whose text ends with the `"` at text[q] (its opening quote
 * included, after `lo`), or 0 for any other key, which the caller then reads in full.
 */
function envelopeKeyBack(text: string, q: number, lo: number): number {
  const c = text.charCodeAt(q - 1);
  if (c === 0x63) return q - 8 > lo && text.charCodeAt(q - 8) === QUOTE && isJsonrpc(text, q - 7) ? JSONRPC : 0;
  if (c === 0x64) {
    if (q - 3 > lo && text.charCodeAt(q - 3) === QUOTE && text.charCodeAt(q - 2) === 0x69) return ID;
    return q - 7 > lo && text.charCodeAt(q - 7) === QUOTE && isMethod(text, q - 6) ? METHOD : 0;
  }
  if (c === 0x73) return q - 7 > lo && text.charCodeAt(q - 7) === QUOTE && isParams(text, q - 6) ? PARAMS : 0;
  return 0;
}

/** The envelope key text[from, to) is (the characters between the quotes), or 0. */
function keyOf(text: string, from: number, to: number): number {
  const n = to - from;
  if (n === 2) return text.charCodeAt(from) === 0x69 && text.charCodeAt(from + 1) === 0x64 ? ID : 0;
  if (n === 6) return isMethod(text, from) ? METHOD : isParams(text, from) ? PARAMS : 0;
  return n === 7 && isJsonrpc(text, from) ? JSONRPC : 0;
}

/** `jsonrpc` at text[i]; the caller has checked there is room. */
function isJsonrpc(text: string, i: number): boolean {
  return (
    ((text.charCodeAt(i) ^ 0x6a) |
      (text.charCodeAt(i + 1) ^ 0x73) |
      (text.charCodeAt(i + 2) ^ 0x6f) |
      (text.charCodeAt(i + 3) ^ 0x6e) |
      (text.charCodeAt(i + 4) ^ 0x72) |
      (text.charCodeAt(i + 5) ^ 0x70) |
      (text.charCodeAt(i + 6) ^ 0x63)) ===
    0
  );
}

/** `method` at text[i]; the caller has checked there is room. */
function isMethod(text: string, i: number): boolean {
  return (
    ((text.charCodeAt(i) ^ 0x6d) |
      (text.charCodeAt(i + 1) ^ 0x65) |
      (text.charCodeAt(i + 2) ^ 0x74) |
      (text.charCodeAt(i + 3) ^ 0x68) |
      (text.charCodeAt(i + 4) ^ 0x6f) |
      (text.charCodeAt(i + 5) ^ 0x64)) ===
    0
  );
}

/** `params` at text[i]; the caller has checked there is room. */
function isParams(text: string, i: number): boolean {
  return (
    ((text.charCodeAt(i) ^ 0x70) |
      (text.charCodeAt(i + 1) ^ 0x61) |
      (text.charCodeAt(i + 2) ^ 0x72) |
      (text.charCodeAt(i + 3) ^ 0x61) |
      (text.charCodeAt(i + 4) ^ 0x6d) |
      (text.charCodeAt(i + 5) ^ 0x73)) ===
    0
  );
}

/** `"2.0"` at text[i], within `end`. */
function isVersion(text: string, i: number, end: number): boolean {
  return (
    i + 5 <= end &&
    ((text.charCodeAt(i) ^ QUOTE) |
      (text.charCodeAt(i + 1) ^ 0x32) |
      (text.charCodeAt(i + 2) ^ 0x2e) |
      (text.charCodeAt(i + 3) ^ ZERO) |
      (text.charCodeAt(i + 4) ^ QUOTE)) ===
      0
  );
}

function skipWs(text: string, i: number, end: number): number {
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > SPACE || (c !== SPACE && c !== LF && c !== CR && c !== TAB)) break;
  }
  return i;
}

/** The last index at or before `j` (and at or after `lo`) that is not whitespace, or lo - 1. */
function skipWsBack(text: string, j: number, lo: number): number {
  for (; j >= lo; j--) {
    const c = text.charCodeAt(j);
    if (c > SPACE || (c !== SPACE && c !== LF && c !== CR && c !== TAB)) break;
  }
  return j;
}

/**
 * The index of the `"` closing the string opened at `open`, or -1 when it holds a
 * backslash (an escape, which JSON.parse would have to decode) or a control
 * character (invalid JSON), or is not closed before `end`.
 */
function stringEnd(text: string, open: number, end: number): number {
  for (let i = open + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    // One test for most characters: `"` and `\` are 0x22 and 0x5c, controls below 0x20.
    if (c <= BACKSLASH && (c === QUOTE || c === BACKSLASH || c < SPACE)) return c === QUOTE ? i : -1;
  }
  return -1;
}

/**
 * The index of the `"` opening the string closed at `close`, under the same rules,
 * or -1. With no backslash inside, the first `"` back is the opening one, as a
 * forward reader would find it.
 */
function stringStartBack(text: string, close: number, lo: number): number {
  for (let i = close - 1; i > lo; i--) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < SPACE) return -1;
  }
  return -1;
}

/** The value of the integer integerEnd() read last. */
let integer = 0;

/**
 * The end of `-?(0|[1-9][0-9]*)`, of at most MAX_DIGITS digits, from text[i], or
 * -1; its value goes to `integer`. It may be only a prefix of a number (`1.5`): the
 * caller's check that `,` or `}` follows rejects the rest. With at most 15 digits,
 * every partial sum is an exact double, so the value is the double JSON.parse
 * gives (`-0` included).
 */
function integerEnd(text: string, i: number, end: number): number {
  const negative = text.charCodeAt(i) === MINUS;
  if (negative) i++;
  if (i >= end) return -1;
  let n = text.charCodeAt(i) - ZERO;
  if (n === 0) {
    integer = negative ? -0 : 0;
    return i + 1;
  }
  if (n < 0 || n > 9) return -1;
  const from = i;
  for (i++; i < end; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  if (i - from > MAX_DIGITS) return -1;
  integer = negative ? -n : n;
  return i;
}

/** The start of the integer whose last digit is text[j], under integerEnd's rules, or -1. */
function integerStartBack(text: string, j: number, lo: number): number {
  let i = j;
  for (; i - 1 > lo; i--) {
    const c = text.charCodeAt(i - 1);
    if (c < ZERO || c > NINE) break;
  }
  // A leading zero is a token of its own in JSON (`01` is two tokens): invalid here.
  if ((text.charCodeAt(i) === ZERO && i < j) || j - i + 1 > MAX_DIGITS) return -1;
  return text.charCodeAt(i - 1) === MINUS ? i - 1 : i;
}

/** The end of `null`, `true` or `false` at text[i] (whose first character is c), or -1. */
function literalEnd(text: string, i: number, end: number, c: number): number {
  if (c === 0x6e) {
    return i + 4 <= end && text.charCodeAt(i + 1) === 0x75 && text.charCodeAt(i + 2) === 0x6c && text.charCodeAt(i + 3) === 0x6c
      ? i + 4
      : -1;
  }
  if (c === 0x74) {
    return i + 4 <= end && text.charCodeAt(i + 1) === 0x72 && text.charCodeAt(i + 2) === 0x75 && text.charCodeAt(i + 3) === 0x65
      ? i + 4
      : -1;
  }
  if (c === 0x66) {
    return i + 5 <= end &&
      text.charCodeAt(i + 1) === 0x61 &&
      text.charCodeAt(i + 2) === 0x6c &&
      text.charCodeAt(i + 3) === 0x73 &&
      text.charCodeAt(i + 4) === 0x65
      ? i + 5
      : -1;
  }
  return -1;
}
