import { isIPv6 } from 'node:net';
import type { ProxiedAddress } from '../../src/core/connection.js';

/**
 * HAProxy PROXY protocol header parsing (haproxy.org doc/proxy-protocol.txt),
 * versions 1 (text) and 2 (binary). Strict, as the specification asks: anything
 * that does not match exactly is invalid, and the connection is dropped.
 */

/** The longest v1 line, CRLF included ("PROXY UNKNOWN <v6> <v6> 65535 65535\r\n"). */
export const V1_MAX_LINE = 107;
/** v2 signature `\r\n\r\n\0\r\nQUIT\n`. */
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
/** v2 fixed part, and the largest address block parsed (two 108-byte AF_UNIX paths). */
const V2_FIXED = 16;
const V2_MAX_ADDRESS = 216;
/**
 * Bytes ever buffered for a header. A v2 header may carry up to 64 KiB of TLVs after
 * its addresses; those are skipped as they stream past, never buffered.
 */
export const HEADER_BUFFER_BYTES = V2_FIXED + V2_MAX_ADDRESS;

/** Result of {@link inspectProxyHeader}. */
export type HeaderInspection =
  | { readonly status: 'more' }
  | { readonly status: 'invalid' }
  | {
      readonly status: 'complete';
      /** Total header length in bytes; for v2 it may exceed what was inspected (TLVs to skip). */
      readonly length: number;
      readonly proxied: ProxiedAddress;
    };

const MORE: HeaderInspection = { status: 'more' };
const INVALID: HeaderInspection = { status: 'invalid' };
/** LOCAL commands, UNKNOWN and UNSPEC: the balancer says nothing; use the real peer. */
const UNKNOWN_ADDRESS: ProxiedAddress = Object.freeze({ family: 'unknown', address: '', port: 0 });

/** Looks at a connection's first bytes `b[0, len)` (len at most {@link HEADER_BUFFER_BYTES}). */
export function inspectProxyHeader(b: Uint8Array, len: number): HeaderInspection {
  if (len === 0) return MORE;
  if (b[0] === 0x50) return inspectV1(b, len);
  if (b[0] === 0x0d) return inspectV2(b, len);
  return INVALID;
}

function inspectV1(b: Uint8Array, len: number): HeaderInspection {
  const n = len < V1_PREFIX.length ? len : V1_PREFIX.length;
  for (let i = 0; i < n; i++) if (b[i] !== V1_PREFIX[i]) return INVALID;
  const scan = len < V1_MAX_LINE ? len : V1_MAX_LINE;
  let lf = -1;
  for (let i = 0; i < scan; i++) {
    const c = b[i]!;
    if (c === 0x0a) {
      lf = i;
      break;
    }
    // Printable US-ASCII and the CR of the CRLF only.
    if ((c < 0x20 || c > 0x7e) && c !== 0x0d) return INVALID;
  }
  if (lf < 0) return len >= V1_MAX_LINE ? INVALID : MORE;
  if (lf < 1 || b[lf - 1] !== 0x0d) return INVALID;
  let line = '';
  for (let i = 0; i < lf - 1; i++) line += String.fromCharCode(b[i]!);
  const proxied = parseV1Line(line);
  return proxied === undefined ? INVALID : { status: 'complete', length: lf + 1, proxied };
}

function parseV1Line(line: string): ProxiedAddress | undefined {
  if (line.includes('\r')) return undefined;
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return UNKNOWN_ADDRESS;
  if (parts.length !== 6) return undefined;
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const valid = proto === 'TCP4' ? isCanonicalIPv4 : proto === 'TCP6' ? isPlainIPv6 : undefined;
  if (valid === undefined || !valid(src) || !valid(dst)) return undefined;
  const port = parsePort(sport);
  const destinationPort = parsePort(dport);
  if (port < 0 || destinationPort < 0) return undefined;
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  return { family, address: src, port, destinationAddress: dst, destinationPort };
}

/** Decimal 0..65535 without leading zeroes (the spec forbids them: octal confusion). */
function parsePort(s: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) return -1;
  const n = Number(s);
  return n <= 65535 ? n : -1;
}

function isCanonicalIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function isPlainIPv6(s: string): boolean {
  return !s.includes('%') && isIPv6(s);
}

function inspectV2(b: Uint8Array, len: number): HeaderInspection {
  const n = len < V2_SIGNATURE.length ? len : V2_SIGNATURE.length;
  for (let i = 0; i < n; i++) if (b[i] !== V2_SIGNATURE[i]) return INVALID;
  if (len < V2_FIXED) {
    if (len > 12 && (b[12]! & 0xf0) !== 0x20) return INVALID;
    return MORE;
  }
  const verCmd = b[12]!;
  const famProto = b[13]!;
  const addressLength = (b[14]! << 8) | b[15]!;
  const command = verCmd & 0x0f;
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (verCmd >> 4 !== 2 || command > 1 || family > 3 || transport > 2) return INVALID;
  const length = V2_FIXED + addressLength;
  if (command === 0 || family === 0 || transport === 0) {
    return { status: 'complete', length, proxied: UNKNOWN_ADDRESS };
  }
  const needed = family === 1 ? 12 : family === 2 ? 36 : V2_MAX_ADDRESS;
  if (addressLength < needed) return INVALID;
  if (len < V2_FIXED + needed) return MORE;
  const a = V2_FIXED;
  let proxied: ProxiedAddress;
  if (family === 1) {
    proxied = {
      family: 'IPv4',
      address: formatIPv4(b, a),
      port: (b[a + 8]! << 8) | b[a + 9]!,
      destinationAddress: formatIPv4(b, a + 4),
      destinationPort: (b[a + 10]! << 8) | b[a + 11]!,
    };
  } else if (family === 2) {
    proxied = {
      family: 'IPv6',
      address: formatIPv6(b, a),
      port: (b[a + 32]! << 8) | b[a + 33]!,
      destinationAddress: formatIPv6(b, a + 16),
      destinationPort: (b[a + 34]! << 8) | b[a + 35]!,
    };
  } else {
    proxied = {
      family: 'unix',
      address: unixPath(b, a),
      port: 0,
      destinationAddress: unixPath(b, a + 108),
      destinationPort: 0,
    };
  }
  return { status: 'complete', length, proxied };
}

function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text form: lower case, the longest run (2+) of zero groups as `::`. */
export function formatIPv6(b: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function unixPath(b: Uint8Array, at: number): string {
  let end = at;
  while (end < at + 108 && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('utf8');
}
