/**
 * A decoder for the MessagePack that requests are made of: maps with ASCII string
 * keys, arrays, strings (ASCII up to 64 bytes; any longer one decoded as msgpackr
 * decodes it), integers up to 32 bits, float 64, nil and booleans,
 * nested at most {@link FAST_DEPTH} deep. Anything else (a short non-ASCII string, bin,
 * 64-bit integers, float 32, extensions, non-string or `__proto__` keys, deeper
 * nesting, a malformed or truncated value) returns {@link NOT_FAST}, and the caller
 * decodes the payload the general way (bounds check, then msgpackr). So for every
 * payload it accepts it gives what msgpackr gives (a property test checks this),
 * without msgpackr's per-call setup or the separate safety walk: every length is
 * checked against the bytes left as it is read. bench:operators measures both.
 * @module
 */

/** Returned when the payload needs the general decoder. */
export const NOT_FAST: unique symbol = Symbol('not fast');

/** Deepest nesting decoded here; deeper payloads go the general way. */
export const FAST_DEPTH = 32;

let pos = 0;
let end = 0;

/** The one value in `bytes`, or {@link NOT_FAST}. Never throws. */
export function decodeFast(bytes: Uint8Array): unknown {
  pos = 0;
  end = bytes.length;
  const value = read(bytes, 0);
  return pos === end ? value : NOT_FAST;
}

function read(b: Uint8Array, depth: number): unknown {
  if (pos >= end) return NOT_FAST;
  const t = b[pos++]!;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t < 0x90) return map(b, t & 0x0f, depth);
  if (t < 0xa0) return array(b, t & 0x0f, depth);
  if (t < 0xc0) return str(b, t & 0x1f);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xd9:
      return pos < end ? str(b, b[pos++]!) : NOT_FAST;
    case 0xda:
      return pos + 2 <= end ? str(b, u16(b)) : NOT_FAST;
    case 0xcc:
      return pos < end ? b[pos++]! : NOT_FAST;
    case 0xcd:
      return pos + 2 <= end ? u16(b) : NOT_FAST;
    case 0xce:
      return pos + 4 <= end ? u32(b) : NOT_FAST;
    case 0xd0:
      return pos < end ? (b[pos++]! << 24) >> 24 : NOT_FAST;
    case 0xd1:
      return pos + 2 <= end ? (u16(b) << 16) >> 16 : NOT_FAST;
    case 0xd2:
      return pos + 4 <= end ? u32(b) | 0 : NOT_FAST;
    case 0xcb:
      return pos + 8 <= end ? f64(b) : NOT_FAST;
    case 0xdc:
      return pos + 2 <= end ? array(b, u16(b), depth) : NOT_FAST;
    case 0xde:
      return pos + 2 <= end ? map(b, u16(b), depth) : NOT_FAST;
    default:
      return NOT_FAST;
  }
}

function array(b: Uint8Array, n: number, depth: number): unknown {
  // Each element takes at least one byte: a claimed length past the input allocates nothing.
  if (depth >= FAST_DEPTH || n > end - pos) return NOT_FAST;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const v = read(b, depth + 1);
    if (v === NOT_FAST) return NOT_FAST;
    out[i] = v;
  }
  return out;
}

function map(b: Uint8Array, n: number, depth: number): unknown {
  if (depth >= FAST_DEPTH || 2 * n > end - pos) return NOT_FAST;
  if (n === 2 && depth === 0) return request(b);
  return rest(b, {}, 0, n, depth);
}

/**
 * The request envelope, `{method, params}` in that order, made as one object
 * literal: each store under a key known only at run time costs V8 a lookup
 * (measured: a literal makes this object in a fifth of the time). Any other
 * two-key map goes on the general way from where this stopped.
 */
function request(b: Uint8Array): unknown {
  const k1 = key(b);
  if (k1 === NOT_FAST) return NOT_FAST;
  const v1 = read(b, 1);
  if (v1 === NOT_FAST) return NOT_FAST;
  if (k1 === 'method') {
    const at = pos;
    const k2 = key(b);
    if (k2 === 'params') {
      const v2 = read(b, 1);
      return v2 === NOT_FAST ? NOT_FAST : { method: v1, params: v2 };
    }
    pos = at;
  }
  const out: Record<string, unknown> = {};
  out[k1] = v1;
  return rest(b, out, 1, 2, 0);
}

/** Members `from` to `n` of a map, into `out`. */
function rest(b: Uint8Array, out: Record<string, unknown>, from: number, n: number, depth: number): unknown {
  for (let i = from; i < n; i++) {
    const k = key(b);
    if (k === NOT_FAST) return NOT_FAST;
    const v = read(b, depth + 1);
    if (v === NOT_FAST) return NOT_FAST;
    out[k] = v;
  }
  return out;
}

/** A map key: an ASCII fixstr or str 8, never `__proto__` (msgpackr renames that one). */
function key(b: Uint8Array): string | typeof NOT_FAST {
  if (pos >= end) return NOT_FAST;
  const t = b[pos++]!;
  let n: number;
  if (t >= 0xa0 && t < 0xc0) n = t & 0x1f;
  else if (t === 0xd9 && pos < end) n = b[pos++]!;
  else return NOT_FAST;
  if (n > end - pos) return NOT_FAST;
  const k = n <= CACHED_KEY ? cachedKey(b, pos, n) : str(b, n);
  if (k === NOT_FAST || k === '__proto__') return NOT_FAST;
  if (n <= CACHED_KEY) pos += n;
  return k;
}

/** Keys up to this long are cached: the same string object for the same bytes. */
const CACHED_KEY = 32;
const keyCache = new Array<string | undefined>(4096).fill(undefined);
// The cached keys' bytes, compared instead of the strings: a string used as a
// property name is internalized in place, after which reading its characters back
// (charCodeAt) takes V8's slow path (measured: a third of a request's decode).
const keyBytes = new Array<Uint8Array | undefined>(4096).fill(undefined);

/**
 * The key `b[at, at + n)`, from the cache when it holds these bytes. A new string
 * per key costs its allocation and, as a property name, a string-table lookup on
 * every store; the cached one is already internalized (msgpackr caches keys too).
 */
function cachedKey(b: Uint8Array, at: number, n: number): string | typeof NOT_FAST {
  let h = n;
  // imul: a plain multiply overflows int32 and drops the loop to float arithmetic.
  for (let i = at; i < at + n; i++) h = (Math.imul(h, 31) + b[i]!) | 0;
  const slot = h & 4095;
  const known = keyBytes[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known[i] === b[at + i]) i++;
    if (i === n) return keyCache[slot]!;
  }
  const saved = pos;
  pos = at;
  const k = str(b, n);
  pos = saved;
  if (k !== NOT_FAST) {
    keyCache[slot] = k;
    // A copy: the payload is a view of memory that will be reused.
    keyBytes[slot] = Uint8Array.prototype.slice.call(b, at, at + n);
  }
  return k;
}

/** `n` bytes as a string: ASCII up to 64 (else NOT_FAST), anything longer as msgpackr decodes it. */
function str(b: Uint8Array, n: number): string | typeof NOT_FAST {
  if (n > end - pos) return NOT_FAST;
  const from = pos;
  const to = pos + n;
  if (n <= SHORT_STRING) {
    let high = 0;
    for (let i = from; i < to; i++) high |= b[i]!;
    if (high > 0x7f) return NOT_FAST;
    pos = to;
    return shortAscii(b, from, n);
  }
  if (n > LONG_STRING) {
    // Decoded natively as msgpackr does past 64 bytes, so any UTF-8 comes out the
    // same, invalid sequences included: a JS check per byte would cost ~1 ns a byte.
    pos = to;
    return utf8.decode(b.subarray(from, to));
  }
  for (let i = from; i < to; i++) if (b[i]! > 0x7f) return NOT_FAST;
  pos = to;
  // Node's own Latin-1 decoder (ASCII is Latin-1): one native call, one allocation.
  return latin1Slice.call(b, from, to);
}

/** Strings up to this long are made by one String.fromCharCode call. */
const SHORT_STRING = 8;

/**
 * `n` (at most {@link SHORT_STRING}) ASCII bytes as a string. Measured: one call
 * with the exact number of arguments takes half the time of a concatenation per
 * character, and a fifth of a native slice call (which costs its crossing).
 */
function shortAscii(b: Uint8Array, at: number, n: number): string {
  const f = String.fromCharCode;
  switch (n) {
    case 0:
      return '';
    case 1:
      return f(b[at]!);
    case 2:
      return f(b[at]!, b[at + 1]!);
    case 3:
      return f(b[at]!, b[at + 1]!, b[at + 2]!);
    case 4:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
    case 5:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!);
    case 6:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!);
    case 7:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!);
    default:
      return f(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!, b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
  }
}

/** Longer strings are decoded as msgpackr decodes them, natively. */
const LONG_STRING = 64;
// ignoreBOM: a leading U+FEFF is text, kept as msgpackr's native decoder and
// JSON.parse keep it (the default TextDecoder would drop it from the string).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

function u16(b: Uint8Array): number {
  const v = (b[pos]! << 8) | b[pos + 1]!;
  pos += 2;
  return v;
}

function u32(b: Uint8Array): number {
  const v = ((b[pos]! << 24) >>> 0) + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!);
  pos += 4;
  return v;
}

const f64View = new DataView(new ArrayBuffer(8));

function f64(b: Uint8Array): number {
  for (let i = 0; i < 8; i++) f64View.setUint8(i, b[pos + i]!);
  pos += 8;
  return f64View.getFloat64(0);
}
