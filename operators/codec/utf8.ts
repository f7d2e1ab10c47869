/**
 * UTF-8 in and out for the codec operators. Every encoder here makes exactly one
 * allocation per message: the exact-size output, header and trailer included.
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

/** Decodes UTF-8; throws a TypeError on malformed input. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `text` + `\n` (one NDJSON line). */
export function encodeLine(text: string): Uint8Array {
  const length = stage(text);
  const out = new Uint8Array(length + 1);
  copyStaged(text, out, 0, length);
  out[length] = 0x0a;
  return out;
}

/** `Content-Length: N\r\n\r\n` + `text` (LSP base protocol), N in UTF-8 bytes. */
export function encodeContentLength(text: string): Uint8Array {
  const length = stage(text);
  const header = `Content-Length: ${length}\r\n\r\n`;
  const out = new Uint8Array(header.length + length);
  for (let i = 0; i < header.length; i++) out[i] = header.charCodeAt(i);
  copyStaged(text, out, header.length, length);
  return out;
}

/** `headerBytes` zero bytes for the caller to fill, then `text`. */
export function encodeAfter(headerBytes: number, text: string): Uint8Array {
  const length = stage(text);
  const out = new Uint8Array(headerBytes + length);
  copyStaged(text, out, headerBytes, length);
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
