/**
 * The byte scanner behind `jsonFrames()`: finds where a JSON object or array ends,
 * tracking bracket depth and skipping strings (escapes included) without decoding
 * anything. It resumes across slices from the state it left.
 */

/** Scanner state between slices. */
export interface JsonScanState {
  depth: number;
  inString: boolean;
  /** The previous byte was a backslash inside a string. */
  escape: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

const OTHER = 0;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
/** What each byte is to the scanner: one table load per byte instead of five compares. */
const KIND = new Uint8Array(256);
KIND[QUOTE] = STRING;
KIND[OPEN_BRACE] = OPEN;
KIND[OPEN_BRACKET] = OPEN;
KIND[CLOSE_BRACE] = CLOSE;
KIND[CLOSE_BRACKET] = CLOSE;

/**
 * Scans `b[from, to)` continuing `state`. Returns the index just past the byte that
 * closes the value (depth back to 0), or -1 when `to` came first; `state` is then
 * updated to resume from there. Brackets are counted, not matched (`{]` closes):
 * the decoder rejects such a value; framing only has to find where it ends.
 */
export function scanJson(b: Uint8Array, from: number, to: number, state: JsonScanState): number {
  let depth = state.depth;
  let i = from;
  if (state.inString) {
    i = skipString(b, i, to, state.escape);
    if (i < 0) {
      state.escape = i === -2;
      return -1;
    }
  }
  while (i < to) {
    const kind = KIND[b[i++]!]!;
    if (kind === OTHER) continue;
    if (kind === STRING) {
      i = skipString(b, i, to, false);
      if (i < 0) {
        state.depth = depth;
        state.inString = true;
        state.escape = i === -2;
        return -1;
      }
    } else if (kind === OPEN) {
      depth++;
    } else if (--depth === 0) {
      return i;
    }
  }
  state.depth = depth;
  state.inString = false;
  state.escape = false;
  return -1;
}

/**
 * From inside a string at `i`, returns the index past its closing quote; -1 if `to`
 * came first, -2 if it came right after a backslash (the next byte is escaped).
 */
function skipString(b: Uint8Array, i: number, to: number, escaped: boolean): number {
  if (escaped) {
    if (i >= to) return -2;
    i++;
  }
  while (i < to) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (i + 1 >= to) return -2;
      i += 2;
    } else {
      i++;
    }
  }
  return -1;
}
