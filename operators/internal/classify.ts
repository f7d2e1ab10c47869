import type { Protocol } from '../../src/core/records.js';

/** Detection needs more bytes. */
export const NEED_MORE = 0;
/** The bytes match no protocol. */
export const UNKNOWN = 1;

/** Detection never looks past this many bytes (PROTOCOL.md 1). */
export const DETECT_BYTES = 16;

/** `content-length:` in lower case; the name is matched case-insensitively, the colon exactly. */
const CONTENT_LENGTH = Uint8Array.from('content-length:', (c) => c.charCodeAt(0));
/** Byte to lower case, ASCII letters only (so '-' and ':' stay themselves). */
const LOWER = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c));
/** JSON's insignificant whitespace (RFC 8259): space, tab, LF, CR. */
const WHITESPACE = Uint8Array.from({ length: 256 }, (_, c) => (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 ? 1 : 0));

/**
 * Decides a connection's protocol from its first bytes `b[0, to)`, like Netty's
 * port unification: `NEED_MORE` while the bytes are a proper prefix of a known
 * opening, `UNKNOWN` as soon as they cannot be, else the protocol.
 */
export function classify(b: Uint8Array, to: number): Protocol | typeof NEED_MORE | typeof UNKNOWN {
  if (to === 0) return NEED_MORE;
  const first = b[0]!;
  if (first === 0x7b || first === 0x5b) return 'jsonrpc';
  if (first === 0x4d) {
    // 'M' then 'CP1'
    if ((to > 1 && b[1] !== 0x43) || (to > 2 && b[2] !== 0x50) || (to > 3 && b[3] !== 0x31)) return UNKNOWN;
    return to >= 4 ? 'mcp1' : NEED_MORE;
  }
  if ((first | 0x20) === 0x63) {
    // 'C' or 'c', then the rest of `content-length:`
    const n = to < CONTENT_LENGTH.length ? to : CONTENT_LENGTH.length;
    for (let i = 1; i < n; i++) if (LOWER[b[i]!] !== CONTENT_LENGTH[i]) return UNKNOWN;
    return to >= CONTENT_LENGTH.length ? 'lsp' : NEED_MORE;
  }
  const end = to < DETECT_BYTES ? to : DETECT_BYTES;
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c === 0x7b || c === 0x5b) return 'jsonrpc';
    if (WHITESPACE[c] === 0) return UNKNOWN;
  }
  return end === DETECT_BYTES ? UNKNOWN : NEED_MORE;
}
