/**
 * UTF-8 in and out for the codec operators. Every encoder here makes exactly one
 * allocation per message: the exact-size output, header and trailer included, as a
 * view of the shared slab (slab.ts).
 * @module
 */
import { SLAB_ITEM_MAX, slabRoom, slabStart, slabTake } from './slab.js';

// fatal: invalid UTF-8 is a parse error (PROTOCOL.md 2: "UTF-8 throughout"), not U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8; throws a TypeError on malformed input. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `text` + `\n` (one NDJSON line). */
export function encodeLine(text: string): Uint8Array {
  const out = encodeBetween(0, text, 1);
  out[out.length - 1] = 0x0a;
  return out;
}

/** `Content-Length: N\r\n\r\n` + `text` (LSP base protocol), N in UTF-8 bytes. */
export function encodeContentLength(text: string): Uint8Array {
  // The header's length depends on the text's: encode the text after room for the
  // longest header, then put the header right before it.
  const room = HEADER_PREFIX.length + 10 + 4;
  const spaced = encodeBetween(room, text, 0);
  const length = spaced.length - room;
  const header = `${HEADER_PREFIX}${length}\r\n\r\n`;
  const at = room - header.length;
  for (let i = 0; i < header.length; i++) spaced[at + i] = header.charCodeAt(i);
  return spaced.subarray(at);
}

const HEADER_PREFIX = 'Content-Length: ';

/** `headerBytes` zero bytes for the caller to fill, then `text`. */
export function encodeAfter(headerBytes: number, text: string): Uint8Array {
  return encodeBetween(headerBytes, text, 0);
}

/**
 * `before` zero bytes, `text` as UTF-8, `after` zero bytes: one exact-size view.
 * The text is written straight into the slab (Node's own UTF-8 writer, at an
 * offset, with no intermediate buffer or view); its worst case, 3 bytes per UTF-16
 * unit, only decides whether the slab has room.
 */
function encodeBetween(before: number, text: string, after: number): Uint8Array {
  // Room for the worst case; past the slab's item size, measure the text exactly.
  let room = text.length * 3;
  if (before + room + after > SLAB_ITEM_MAX) {
    room = Buffer.byteLength(text, 'utf8');
    if (before + room + after > SLAB_ITEM_MAX) {
      const out = new Uint8Array(before + room + after);
      utf8WriteAt(out, before, text);
      return out;
    }
  }
  const slab = slabRoom(before + room + after);
  const start = slabStart();
  // Zero as promised: slab regions are fresh memory, never handed out twice.
  const written = utf8WriteAt(slab, start + before, text);
  return slabTake(start + before + written + after);
}

/** Node's own UTF-8 writer, called on any Uint8Array: `text` at `offset`, at most `length` bytes; returns the bytes written. */
const utf8Write = Buffer.prototype.utf8Write as (this: Uint8Array, text: string, offset: number, length: number) => number;

/**
 * `text` as UTF-8 at `at` in `out` by Node's own writer; returns the bytes written.
 * The caller has made room for all of it. The length passed is what `out` has left,
 * never a worst case past its end: Node 20 clamped such a length, Node 22 and 24
 * throw ERR_BUFFER_OUT_OF_BOUNDS for it.
 */
export function utf8WriteAt(out: Uint8Array, at: number, text: string): number {
  return utf8Write.call(out, text, at, out.length - at);
}

/**
 * `text` as UTF-8 at `at` in `out`, unit by unit in JS; returns where it ends. For
 * short strings this costs less than the call into Node's writer. A lone surrogate
 * is written as its three bytes, as msgpackr's own loop writes it (Node's writer
 * would write U+FFFD), so the MessagePack encoder stays byte-identical to msgpackr.
 */
export function utf8WriteShort(out: Uint8Array, at: number, text: string): number {
  const units = text.length;
  let p = at;
  for (let i = 0; i < units; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
    } else if (c < 0x800) {
      out[p++] = (c >> 6) | 0xc0;
      out[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (text.charCodeAt(++i) & 0x03ff);
      out[p++] = (c >> 18) | 0xf0;
      out[p++] = ((c >> 12) & 0x3f) | 0x80;
      out[p++] = ((c >> 6) & 0x3f) | 0x80;
      out[p++] = (c & 0x3f) | 0x80;
    } else {
      out[p++] = (c >> 12) | 0xe0;
      out[p++] = ((c >> 6) & 0x3f) | 0x80;
      out[p++] = (c & 0x3f) | 0x80;
    }
  }
  return p;
}
