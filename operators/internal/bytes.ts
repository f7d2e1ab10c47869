/**
 * Byte helpers shared by the framing operators: the one place partial frames are
 * copied at a slice boundary.
 */

/** A zero-length payload, shared: nothing can be written into it. */
export const EMPTY_BYTES = new Uint8Array(0);

/**
 * Appends `src[from, to)` to `buf[0, len)` and returns the buffer to keep (the same
 * one, or a larger copy). Capacity grows geometrically so that a frame arriving in k
 * reads costs O(size) copying, not O(k * size), and never past `cap`: framing checks
 * a message's size before it appends, so `cap` (the limit) is never exceeded.
 */
export function append(buf: Uint8Array, len: number, src: Uint8Array, from: number, to: number, cap: number): Uint8Array {
  const need = len + (to - from);
  if (need > buf.length) {
    let size = buf.length < 64 ? 64 : buf.length * 2;
    if (size < need) size = need;
    if (size > cap) size = cap < need ? need : cap;
    const grown = new Uint8Array(size);
    grown.set(len === buf.length ? buf : buf.subarray(0, len));
    buf = grown;
  }
  buf.set(to - from === src.length ? src : src.subarray(from, to), len);
  return buf;
}

/** A first buffer for a partial frame of which `have` bytes are known and `total` expected. */
export function startBuffer(src: Uint8Array, from: number, to: number, total: number): Uint8Array {
  const have = to - from;
  let size = have * 2;
  if (size < 256) size = 256;
  if (size > total) size = total;
  if (size < have) size = have;
  const buf = new Uint8Array(size);
  buf.set(src.subarray(from, to));
  return buf;
}

/** JSON's insignificant whitespace (RFC 8259): space, tab, LF, CR. */
export function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
