import type { Protocol } from '../../src/records.js';
import { isJsonWhitespace } from './bytes.js';

/** Detection needs more bytes. */
export const NEED_MORE = 0;
/** The bytes match no protocol. */
export const UNKNOWN = 1;

/** Detection never looks past this many bytes (PROTOCOL.md 1). */
export const DETECT_BYTES = 16;

const MCP1_MAGIC = [0x4d, 0x43, 0x50, 0x31];
/** `content-length:` in lower case; the name is matched case-insensitively, the colon exactly. */
const CONTENT_LENGTH = Array.from('content-length:', (c) => c.charCodeAt(0));

/**
 * Decides a connection's protocol from its first bytes `b[0, to)`, like Netty's
 * port unification: `NEED_MORE` while the bytes are a proper prefix of a known
 * opening, `UNKNOWN` as soon as they cannot be, else the protocol.
 */
export function classify(b: Uint8Array, to: number): Protocol | typeof NEED_MORE | typeof UNKNOWN {
  if (to === 0) return NEED_MORE;
  const first = b[0]!;
  if (first === 0x4d) return matchPrefix(b, to, MCP1_MAGIC, false) ? (to >= 4 ? 'mcp1' : NEED_MORE) : UNKNOWN;
  if (first === 0x43 || first === 0x63) {
    return matchPrefix(b, to, CONTENT_LENGTH, true) ? (to >= CONTENT_LENGTH.length ? 'lsp' : NEED_MORE) : UNKNOWN;
  }
  const end = to < DETECT_BYTES ? to : DETECT_BYTES;
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c === 0x7b || c === 0x5b) return 'jsonrpc';
    if (!isJsonWhitespace(c)) return UNKNOWN;
  }
  return end === DETECT_BYTES ? UNKNOWN : NEED_MORE;
}

function matchPrefix(b: Uint8Array, to: number, expected: readonly number[], foldCase: boolean): boolean {
  const n = to < expected.length ? to : expected.length;
  for (let i = 0; i < n; i++) {
    let c = b[i]!;
    // ASCII letters only: setting bit 0x20 lower-cases A-Z and leaves '-' and ':' alone.
    if (foldCase && c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== expected[i]) return false;
  }
  return true;
}
