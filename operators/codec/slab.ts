/**
 * Where the encoders write their output. A Uint8Array over 64 bytes gets its own
 * off-heap ArrayBuffer, which costs V8 about ten times a small view (and one up to
 * 64 bytes lives on the V8 heap, which the transports' native writes must then move
 * off it). So outputs are carved from a shared slab, the way Node's Buffer pool and
 * msgpackr do: one view per message. Regions are never reused, so a view stays
 * valid; it keeps its slab alive, but the transports copy what they are given to
 * write, so slabs are freed once written.
 *
 * An encoder asks for room with {@link slabRoom}, writes from {@link slabStart},
 * and takes its bytes with {@link slabTake}; nothing else may run in between.
 * @module
 */

const SLAB_BYTES = 64 * 1024;
/** Larger outputs get a buffer of their own (and waste at most this at a slab's end). */
export const SLAB_ITEM_MAX = 8 * 1024;

let memory = new ArrayBuffer(SLAB_BYTES);
let slab = new Uint8Array(memory);
let used = 0;

/** The slab, with at least `bytes` (at most {@link SLAB_ITEM_MAX}) free from {@link slabStart}, fresh zeroed memory. */
export function slabRoom(bytes: number): Uint8Array {
  if (SLAB_BYTES - used < bytes) {
    memory = new ArrayBuffer(SLAB_BYTES);
    slab = new Uint8Array(memory);
    used = 0;
  }
  return slab;
}

/** Where the next output starts in the slab {@link slabRoom} returned. */
export function slabStart(): number {
  return used;
}

/** The output written from {@link slabStart} up to `end`, as a view; the slab moves past it. */
export function slabTake(end: number): Uint8Array {
  const start = used;
  used = end;
  // By the constructor, not subarray() (see FramerContext.view).
  return new Uint8Array(memory, start, end - start);
}

/**
 * {@link slabTake} for an output that starts at `begin`, at or past {@link slabStart}
 * (a header put right before a body written first): the bytes before it stay unused.
 */
export function slabTakeFrom(begin: number, end: number): Uint8Array {
  used = end;
  return new Uint8Array(memory, begin, end - begin);
}
