/**
 * UTF-8 in and out for the codec operators. Every encoder here makes exactly one
 * allocation per message: the exact-size output, header and trailer included, as a
 * view of a shared slab (see {@link allocate}).
 * @module
 */

// fatal: invalid UTF-8 is a parse error (PROTOCOL.md 2: "UTF-8 throughout"), not U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

// encodeInto needs room for the worst case (3 bytes per UTF-16 unit) before the
// real length is known; staging into one reused buffer and copying once into the
// exact-size output beats sizing the string twice for the messages we see most.
// Texts too long for it are measured with Buffer.byteLength and encoded in place.
const SCRATCH_BYTES = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_BYTES);
let stagedInScratch = false;

// A Uint8Array over 64 bytes gets its own off-heap ArrayBuffer, which costs V8
// about ten times a small view (and one up to 64 bytes lives on the V8 heap, which
// the transports' native writes must then move off it). So outputs are carved from
// a shared slab, the way Node's Buffer pool and msgpackr do: one view per message.
// Regions are never reused, so a view stays valid; it keeps its slab alive, but the
// transports copy what they are given to write, so slabs are freed once written.
const SLAB_BYTES = 64 * 1024;
/** Larger outputs get a buffer of their own (and waste at most this at a slab's end). */
const SLAB_ITEM_MAX = 8 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** Decodes UTF-8; throws a TypeError on malformed input. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `text` + `\n` (one NDJSON line). */
export function encodeLine(text: string): Uint8Array {
  const length = stage(text);
  const out = allocate(length + 1);
  copyStaged(text, out, 0, length);
  out[length] = 0x0a;
  return out;
}

/** `Content-Length: N\r\n\r\n` + `text` (LSP base protocol), N in UTF-8 bytes. */
export function encodeContentLength(text: string): Uint8Array {
  const length = stage(text);
  const header = `Content-Length: ${length}\r\n\r\n`;
  const out = allocate(header.length + length);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  copyStaged(text, out, header.length, length);
  return out;
}

/** `headerBytes` zero bytes for the caller to fill, then `text`. */
export function encodeAfter(headerBytes: number, text: string): Uint8Array {
  const length = stage(text);
  // Zero as promised: slab regions are fresh memory, never handed out twice.
  const out = allocate(headerBytes + length);
  copyStaged(text, out, headerBytes, length);
  return out;
}

/** `size` zeroed bytes: a view of the current slab, or a buffer of their own when large. */
function allocate(size: number): Uint8Array {
  if (size > SLAB_ITEM_MAX) return new Uint8Array(size);
  if (SLAB_BYTES - slabUsed < size) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += size;
  return out;
}

function stage(text: string): number {
  if (text.length * 3 <= SCRATCH_BYTES) {
    stagedInScratch = true;
    return encoder.encodeInto(text, scratch).written;
  }
  stagedInScratch = false;
  return Buffer.byteLength(text, 'utf8');
}

// Must follow stage(text) for the same text, with nothing staged in between.
function copyStaged(text: string, out: Uint8Array, offset: number, length: number): void {
  if (stagedInScratch) out.set(scratch.subarray(0, length), offset);
  else encoder.encodeInto(text, out.subarray(offset, offset + length));
}
