/**
 * An encoder for the MessagePack of most results: nil, booleans, numbers, strings,
 * and flat arrays of at most {@link PACK_FAST_ITEMS} of those, written straight into
 * the shared output slab after the MCP1 header's room. Anything else (objects,
 * Maps, Dates, bytes, BigInt, nested or longer arrays, a result past the slab's item
 * size) returns undefined and goes to msgpackr, which measured faster on those
 * (bench numbers in bench/RESULTS.md). For every value it takes it writes exactly
 * the bytes msgpackr writes with the server's settings (a property test compares
 * them), without msgpackr's per-call setup or the Buffer view it returns.
 * @module
 */
import { SLAB_ITEM_MAX, slabRoom, slabStart, slabTake } from './slab.js';
import { utf8WriteAt, utf8WriteShort } from './utf8.js';

/** Longest array encoded here: past it msgpackr's per-element loop is faster. */
export const PACK_FAST_ITEMS = 8;

/**
 * `headerBytes` zero bytes, then `value` as MessagePack, as one view; or undefined
 * when `value` is not one this encoder takes.
 */
export function packFastAfter(headerBytes: number, value: unknown): Uint8Array | undefined {
  count = 0;
  const max = bound(value, 0);
  let bytes: Uint8Array | undefined;
  if (max >= 0 && headerBytes + max <= SLAB_ITEM_MAX) {
    const out = slabRoom(headerBytes + max);
    next = 0;
    bytes = slabTake(write(out, slabStart() + headerBytes));
  }
  // Nothing of the value stays referenced from here.
  // (A loop, not fill(): a builtin call costs more than the few stores.)
  for (let i = 0; i < count; i++) values[i] = undefined;
  return bytes;
}

/**
 * Every value, in the order written, as {@link bound} read it, and the array's
 * length (there is at most one array, the value itself): {@link write} takes them
 * from here rather than reading the array again, so an element behind a getter (or
 * a Proxy) is read once and what is written is exactly what was measured, as
 * msgpackr's single pass would see it.
 */
const values: unknown[] = [];
let count = 0;
let next = 0;
let arrayLength = 0;

/** The most bytes `value` can take, or -1 when it is not one this encoder takes. */
function bound(value: unknown, depth: number): number {
  values[count++] = value;
  switch (typeof value) {
    case 'string':
      // Header at most 5 bytes; UTF-8 at most 3 bytes per UTF-16 unit.
      return 5 + value.length * 3;
    case 'number':
      return 9;
    case 'boolean':
    case 'undefined':
      return 1;
    case 'object': {
      if (value === null) return 1;
      if (!Array.isArray(value) || value.constructor !== Array || depth > 0) return -1;
      const n = value.length;
      if (n > PACK_FAST_ITEMS) return -1;
      arrayLength = n;
      let total = 5;
      for (let i = 0; i < n; i++) {
        const item: unknown = value[i];
        // Numbers inline: arrays of them are common, and a call per element showed.
        if (typeof item === 'number') {
          values[count++] = item;
          total += 9;
        } else {
          const b = bound(item, depth + 1);
          if (b < 0) return -1;
          total += b;
        }
        if (total > SLAB_ITEM_MAX) return -1;
      }
      return total;
    }
    default:
      return -1;
  }
}

/** Writes the next value {@link bound} accepted at `at`; returns where it ends. */
function write(out: Uint8Array, at: number): number {
  const value = values[next++];
  switch (typeof value) {
    case 'string':
      return str(out, at, value);
    case 'number':
      return num(out, at, value);
    case 'boolean':
      out[at] = value ? 0xc3 : 0xc2;
      return at + 1;
    case 'object':
      if (value !== null) return array(out, at, arrayLength);
      out[at] = 0xc0;
      return at + 1;
    default:
      // undefined: nil, as the server's msgpackr writes it (encodeUndefinedAsNil).
      out[at] = 0xc0;
      return at + 1;
  }
}

/** An array of `n` (at most {@link PACK_FAST_ITEMS}, so a fixarray) elements: its header, then the next `n` values. */
function array(out: Uint8Array, at: number, n: number): number {
  out[at++] = 0x90 | n;
  for (let i = 0; i < n; i++) {
    const item = values[next];
    if (typeof item === 'number') {
      next++;
      at = num(out, at, item);
    } else {
      at = write(out, at);
    }
  }
  return at;
}

/** As msgpackr: the smallest integer form for 32-bit integers (-0 as 0), float 64 otherwise. */
function num(out: Uint8Array, at: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x80) {
      out[at] = v;
      return at + 1;
    }
    if (v < 0x100) {
      out[at] = 0xcc;
      out[at + 1] = v;
      return at + 2;
    }
    if (v < 0x10000) {
      out[at] = 0xcd;
      out[at + 1] = v >> 8;
      out[at + 2] = v & 0xff;
      return at + 3;
    }
    out[at] = 0xce;
    return u32(out, at + 1, v);
  }
  if (v >> 0 === v) {
    if (v >= -0x20) {
      out[at] = 0x100 + v;
      return at + 1;
    }
    if (v >= -0x80) {
      out[at] = 0xd0;
      out[at + 1] = v + 0x100;
      return at + 2;
    }
    if (v >= -0x8000) {
      out[at] = 0xd1;
      out[at + 1] = (v >> 8) & 0xff;
      out[at + 2] = v & 0xff;
      return at + 3;
    }
    out[at] = 0xd2;
    return u32(out, at + 1, v >>> 0);
  }
  out[at] = 0xcb;
  f64View.setFloat64(0, v);
  for (let i = 0; i < 8; i++) out[at + 1 + i] = f64Bytes[i]!;
  return at + 9;
}

const f64Bytes = new Uint8Array(8);
const f64View = new DataView(f64Bytes.buffer);

function u32(out: Uint8Array, at: number, v: number): number {
  out[at] = v >>> 24;
  out[at + 1] = (v >> 16) & 0xff;
  out[at + 2] = (v >> 8) & 0xff;
  out[at + 3] = v & 0xff;
  return at + 4;
}

/** msgpackr encodes strings under this many UTF-16 units in JS, longer ones natively. */
const NATIVE_STRING = 0x40;

/**
 * A string with the smallest header that holds its UTF-8 length, written after room
 * for the largest header its UTF-16 length allows and moved back when smaller.
 * Short strings are encoded as msgpackr's own loop encodes them (a lone surrogate
 * as three bytes), longer ones by Node's UTF-8 writer, as msgpackr does.
 */
function str(out: Uint8Array, at: number, s: string): number {
  const units = s.length;
  const room = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
  let length: number;
  if (units < NATIVE_STRING) {
    length = utf8WriteShort(out, at + room, s) - at - room;
  } else {
    length = utf8WriteAt(out, at + room, s);
  }
  const header = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  // The UTF-8 length is never below the UTF-16 one: a header can only need more room.
  if (header > room) out.copyWithin(at + header, at + room, at + room + length);
  if (header === 1) {
    out[at] = 0xa0 | length;
  } else if (header === 2) {
    out[at] = 0xd9;
    out[at + 1] = length;
  } else if (header === 3) {
    out[at] = 0xda;
    out[at + 1] = length >> 8;
    out[at + 2] = length & 0xff;
  } else {
    out[at] = 0xdb;
    u32(out, at + 1, length);
  }
  return at + header + length;
}
