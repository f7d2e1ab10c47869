/**
 * A bounds and depth check run on every MessagePack payload before msgpackr sees it.
 *
 * msgpackr (1.12) decodes recursively with no depth limit: 10,000 nested `0x91`
 * bytes already overflow the stack. It also decodes its own extensions from any
 * input: record definitions (0xd4/0xd5 0x72, compiled with `new Function`),
 * errors, RegExps, Sets, typed arrays, and a bundled-strings extension that moves
 * the read position by a length the payload claims. None of that belongs in a
 * request, so this walker admits only the standard types (plus the two extensions
 * real clients send: the timestamp, type -1, and msgpackr's `undefined`,
 * fixext 1 type 0), nesting at most `maxDepth` deep, with every claimed length
 * fitting in the bytes that remain (a container of n values needs at least n
 * bytes). It is iterative and allocates nothing per call.
 * @module
 */

/** Deepest container nesting a MessagePack payload may have. */
export const MAX_MSGPACK_DEPTH = 512;

// Per level, the values still to read in the enclosing container.
let stack = new Float64Array(MAX_MSGPACK_DEPTH + 1);

/**
 * True when `bytes` holds exactly one MessagePack value that msgpackr can decode
 * without deep recursion, over-allocation or any extension besides timestamp and
 * undefined.
 */
export function isSafeMsgpack(bytes: Uint8Array, maxDepth: number = MAX_MSGPACK_DEPTH): boolean {
  if (stack.length <= maxDepth) stack = new Float64Array(maxDepth + 1);
  sawProto = false;
  const end = bytes.length;
  let pos = 0;
  let depth = 0;
  let left = 1;
  for (;;) {
    while (left === 0) {
      if (depth === 0) return pos === end;
      left = stack[--depth]!;
    }
    if (pos >= end) return false;
    left--;
    const t = bytes[pos++]!;
    let children = 0;
    let skip = 0;
    if (t < 0x80 || t >= 0xe0) continue; // fixint
    if (t < 0x90)
      children = (t & 0x0f) * 2; // fixmap: key and value per entry
    else if (t < 0xa0)
      children = t & 0x0f; // fixarray
    else if (t < 0xc0)
      skip = t & 0x1f; // fixstr
    else {
      switch (t) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          if (end - pos < 1) return false;
          skip = bytes[pos]!;
          pos += 1;
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          if (end - pos < 2) return false;
          skip = uint16(bytes, pos);
          pos += 2;
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          if (end - pos < 4) return false;
          skip = uint32(bytes, pos);
          pos += 4;
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca: // float 32
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb: // float 64
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd4: // fixext 1: only type 0, which msgpackr and notepack write for `undefined`
          if (end - pos < 2 || bytes[pos] !== 0x00) return false;
          skip = 2;
          break;
        case 0xd6: // fixext 4: only the 32-bit timestamp
          if (end - pos < 5 || bytes[pos] !== 0xff) return false;
          skip = 5;
          break;
        case 0xd7: // fixext 8: only the 64-bit timestamp
          if (end - pos < 9 || bytes[pos] !== 0xff) return false;
          skip = 9;
          break;
        case 0xc7: // ext 8: only the 96-bit timestamp
          if (end - pos < 2 || bytes[pos] !== 12 || bytes[pos + 1] !== 0xff) return false;
          skip = 14;
          break;
        case 0xdc: // array 16
          if (end - pos < 2) return false;
          children = uint16(bytes, pos);
          pos += 2;
          break;
        case 0xdd: // array 32
          if (end - pos < 4) return false;
          children = uint32(bytes, pos);
          pos += 4;
          break;
        case 0xde: // map 16
          if (end - pos < 2) return false;
          children = uint16(bytes, pos) * 2;
          pos += 2;
          break;
        case 0xdf: // map 32
          if (end - pos < 4) return false;
          children = uint32(bytes, pos) * 2;
          pos += 4;
          break;
        default: // 0xc1 (never used), ext 16/32, fixext 2/16, other extension types
          return false;
      }
    }
    if (skip > 0) {
      if (skip > end - pos) return false;
      if (skip === 9 && bytes[pos] === 0x5f && isProto(bytes, pos)) sawProto = true;
      pos += skip;
    } else if (children > 0) {
      if (children > end - pos || depth >= maxDepth) return false;
      stack[depth++] = left;
      left = children;
    }
  }
}

/**
 * Set by the last isSafeMsgpack() call: the payload holds the 9 bytes `__proto__`
 * (as a string, or inside bin data: a false alarm only costs the slower decode).
 */
export let sawProto = false;

const PROTO = [0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]; // "__proto__"

function isProto(bytes: Uint8Array, at: number): boolean {
  for (let i = 1; i < 9; i++) if (bytes[at + i] !== PROTO[i]) return false;
  return true;
}

function uint16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function uint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}
