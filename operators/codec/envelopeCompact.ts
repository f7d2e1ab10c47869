/**
 * The two envelopes nearly every client writes, read by comparing them with their
 * text as JSON.stringify writes it: `{"jsonrpc":"2.0","id":ID,"method":"M","params":P}`
 * (vscode-jsonrpc's order, and most clients'), and `{"method":"M","params":P,
 * "jsonrpc":"2.0","id":ID}` (the MCP TypeScript SDK's), each with or without id
 * and params. No whitespace, no other member: anything else is envelope.ts's.
 *
 * A fixed text is compared code by code against a table and only the method and
 * id are read token by token, which here costs less than envelope.ts's scan of the
 * same members (2-core AMD EPYC VM, Node 20, ns a call: an echo request 290-311
 * against 346-356 in vscode's order, 304-329 against 426-445 in the SDK's; JSON.parse
 * of the whole text 484-507). The parts are each checked to be exactly what they
 * must be, and JSON.parse checks params, so the text is that object or this
 * returns false.
 * @module
 */
import type { RpcId } from '../../src/core/records.js';
import type { EnvelopeOut } from './envelope.js';

const codes = (text: string): Uint16Array => Uint16Array.from(text, (c) => c.charCodeAt(0));

/** vscode-jsonrpc's order: a request's opening, and a notification's. */
const WITH_ID = codes('{"jsonrpc":"2.0","id":');
const WITHOUT_ID = codes('{"jsonrpc":"2.0","method":"');
const THEN_METHOD = codes(',"method":"');
/** The MCP SDK's order: method first, then params, then jsonrpc and id last. */
const METHOD_FIRST = codes('{"method":"');
const THEN_VERSION = codes(',"jsonrpc":"2.0"');
const THEN_ID = codes(',"id":');
const THEN_PARAMS = codes(',"params":');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const ZERO = 0x30;
const ONE = 0x31;
const NINE = 0x39;
const RBRACE = 0x7d;
/** Beyond this many digits an id might not be an exact double: envelope.ts's or JSON.parse's to decide. */
const MAX_DIGITS = 15;

/**
 * Fills `out` and returns true when `text[start, end)` is one of the two envelopes,
 * then only JSON whitespace; false otherwise (nothing is claimed then).
 */
export function decodeCompact(text: string, start: number, end: number, out: EnvelopeOut): boolean {
  const close = lastBrace(text, start, end);
  if (close < 0) return false;
  if (matches(text, start, WITH_ID)) {
    let i = idEnd(text, start + WITH_ID.length, close);
    if (i < 0 || !matches(text, i, THEN_METHOD)) return false;
    const id = idValue;
    i = methodEnd(text, i + THEN_METHOD.length, close);
    return i >= 0 && withParams(text, i, close, id, false, out);
  }
  if (matches(text, start, WITHOUT_ID)) {
    const i = methodEnd(text, start + WITHOUT_ID.length, close);
    return i >= 0 && withParams(text, i, close, null, true, out);
  }
  if (matches(text, start, METHOD_FIRST)) {
    const i = methodEnd(text, start + METHOD_FIRST.length, close);
    if (i < 0) return false;
    let tail = close - THEN_VERSION.length;
    if (tail >= i && matches(text, tail, THEN_VERSION)) return withParams(text, i, tail, null, true, out);
    const idStart = idStartBack(text, i, close);
    if (idStart < 0 || idEnd(text, idStart, close) !== close || !matches(text, idStart - THEN_ID.length, THEN_ID)) return false;
    tail = idStart - THEN_ID.length - THEN_VERSION.length;
    return tail >= i && matches(text, tail, THEN_VERSION) && withParams(text, i, tail, idValue, false, out);
  }
  return false;
}

/** `text[i, to)` is nothing, or `,"params":` and the params (JSON.parse's to check): fills `out`. */
function withParams(text: string, i: number, to: number, id: RpcId, notification: boolean, out: EnvelopeOut): boolean {
  let params: unknown;
  if (i !== to) {
    if (to - i <= THEN_PARAMS.length || !matches(text, i, THEN_PARAMS)) return false;
    try {
      params = JSON.parse(text.slice(i + THEN_PARAMS.length, to));
    } catch {
      return false;
    }
    if (typeof params !== 'object' || params === null) return false;
  }
  out.id = id;
  out.notification = notification;
  out.method = lastMethod;
  out.params = params;
  return true;
}

/** Whether `text` holds `fixed` at `at`. */
function matches(text: string, at: number, fixed: Uint16Array): boolean {
  const n = fixed.length;
  for (let k = 0; k < n; k++) if (text.charCodeAt(at + k) !== fixed[k]) return false;
  return true;
}

/** Where the final `}` is, JSON whitespace after it skipped; -1 when there is none. */
function lastBrace(text: string, start: number, end: number): number {
  let k = end - 1;
  while (k > start) {
    const c = text.charCodeAt(k);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    k--;
  }
  return k > start && text.charCodeAt(k) === RBRACE ? k : -1;
}

/**
 * The last method read: a repeated one is the same string object (route() compares
 * it with the last it saw) and no allocation. It never holds `"`, `\` or a control
 * character, so matching its characters and then a `"` proves the method token.
 */
let lastMethod = '';

/** Reads the method whose characters start at `i` (after its `"`); returns the index after its closing `"`, or -1. */
function methodEnd(text: string, i: number, to: number): number {
  const n = lastMethod.length;
  if (i + n < to && text.charCodeAt(i + n) === QUOTE) {
    let k = 0;
    while (k < n && text.charCodeAt(i + k) === lastMethod.charCodeAt(k)) k++;
    if (k === n) return i + n + 1;
  }
  const close = plainStringEnd(text, i, to);
  if (close < 0) return -1;
  lastMethod = text.slice(i, close);
  return close + 1;
}

/** The id idEnd() read last. */
let idValue: RpcId = null;

/** Reads an id at `i`: `-?(0|[1-9][0-9]*)` of at most 15 digits, a string without escapes, or null. Returns the index after it, or -1. */
function idEnd(text: string, i: number, to: number): number {
  let c = text.charCodeAt(i);
  if (c === QUOTE) {
    const close = plainStringEnd(text, i + 1, to);
    if (close < 0) return -1;
    // A copy, not a view of the read's text (which a slice of 13 or more would be), as JSON.parse's is.
    idValue = close - i - 1 < 13 ? text.slice(i + 1, close) : ` ${text.slice(i + 1, close)}`.slice(1);
    return close + 1;
  }
  if (c === 0x6e) {
    if (text.charCodeAt(i + 1) !== 0x75 || text.charCodeAt(i + 2) !== 0x6c || text.charCodeAt(i + 3) !== 0x6c || i + 4 > to) return -1;
    idValue = null;
    return i + 4;
  }
  let j = i;
  const negative = c === MINUS;
  if (negative) c = text.charCodeAt(++j);
  if (c === ZERO) {
    c = text.charCodeAt(j + 1);
    if (c >= ZERO && c <= NINE) return -1;
    idValue = negative ? -0 : 0;
    return j + 1;
  }
  if (!(c >= ONE && c <= NINE)) return -1;
  const first = j;
  let value = 0;
  while (j < to && (c = text.charCodeAt(j)) >= ZERO && c <= NINE) {
    value = value * 10 + (c - ZERO);
    j++;
  }
  if (j - first > MAX_DIGITS) return -1;
  idValue = negative ? -value : value;
  return j;
}

/** Where an id ending right before `close` starts (looking no further back than `lo`), or -1. idEnd() then checks it. */
function idStartBack(text: string, lo: number, close: number): number {
  const last = close - 1;
  const c = text.charCodeAt(last);
  if (c === QUOTE) return last > lo ? text.lastIndexOf('"', last - 1) : -1;
  if (c === 0x6c) return last - 3;
  let j = last;
  while (j > lo) {
    const d = text.charCodeAt(j - 1);
    if (d < ZERO || d > NINE) break;
    j--;
  }
  return text.charCodeAt(j - 1) === MINUS ? j - 1 : j;
}

/** The index of the `"` closing a string whose characters start at `i`, if none of them needs escaping in JSON; else -1. */
function plainStringEnd(text: string, i: number, to: number): number {
  const close = text.indexOf('"', i);
  if (close < 0 || close >= to) return -1;
  for (let k = i; k < close; k++) {
    const c = text.charCodeAt(k);
    if (c < 0x20 || c === BACKSLASH) return -1;
  }
  return close;
}
