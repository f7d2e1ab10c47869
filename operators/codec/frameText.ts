/**
 * Frame text shared across one slice. A decoder call (TextDecoder) costs about a
 * third of JSON.parse of a small request, and a read holds up to a few hundred
 * requests, so framing lets every frame it cut from one slice share one decode: the
 * slice from its first frame on becomes one string, and each frame a substring
 * (bench/RESULTS.md, RPC section, "Session 4's changes"). That is exact only where
 * byte and string offsets agree, in an all-ASCII slice; anything else is decoded
 * frame by frame. A message left unfinished at the slice's end is decoded with it
 * and again once complete: at most one slice's worth of extra decoding.
 *
 * A frame is known by the identity of its record, so a stage that makes a new
 * record (with new bytes, say) gets its own bytes decoded, never this text.
 * @module
 */
import type { FrameRecord } from '../../src/core/records.js';
import { decodeUtf8 } from './utf8.js';

/** The record framing emitted last from a slice, where it lies there, and the slice. */
let frame: FrameRecord | undefined;
/** The view framing made of it: a stage that swapped the record's bytes gets them decoded. */
let frameBytes: Uint8Array | undefined;
let frameStart = 0;
let frameEnd = 0;
let slice: Uint8Array | undefined;
/** `slice` from `textFrom` on, once a frame asked; null when it is not ASCII or not UTF-8. */
let text: string | null | undefined;
let textFrom = 0;
let textOf: Uint8Array | undefined;

/** Framing is about to emit `record`, whose bytes are `of[start, end)`. */
export function frameCutFrom(record: FrameRecord, of: Uint8Array, start: number, end: number): void {
  frame = record;
  frameBytes = record.bytes;
  frameStart = start;
  frameEnd = end;
  slice = of;
}

/**
 * Framing is done with its slice: nothing cut from it may be served after this, as
 * the memory under it can be read into again.
 */
export function sliceDone(): void {
  frame = undefined;
  frameBytes = undefined;
  slice = undefined;
  textOf = undefined;
  text = undefined;
}

/** The frame's bytes as text: like decodeUtf8(record.bytes), it throws a TypeError on malformed UTF-8. */
export function frameText(record: FrameRecord): string {
  if (record === frame && record.bytes === frameBytes) {
    const of = slice!;
    if (textOf !== of) {
      textOf = of;
      textFrom = frameStart;
      text = decodeAscii(of, frameStart);
    }
    if (text !== null && text !== undefined && frameStart >= textFrom) {
      return text.slice(frameStart - textFrom, frameEnd - textFrom);
    }
  }
  return decodeUtf8(record.bytes);
}

function decodeAscii(of: Uint8Array, from: number): string | null {
  try {
    const decoded = decodeUtf8(from === 0 ? of : of.subarray(from));
    // UTF-8 of anything but ASCII has more bytes than UTF-16 units.
    return decoded.length === of.length - from ? decoded : null;
  } catch {
    return null; // malformed somewhere, or cut mid-character at the end
  }
}
