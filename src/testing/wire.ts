import { type BytesInput, bytes, concatBytes } from './records.js';

/** A frame for {@link mcp1Bytes}. Fields default to 0 / empty. */
export interface Mcp1FrameInput {
  readonly type: number;
  readonly id?: number;
  readonly flags?: number;
  /** Bytes of the 2-byte reserved field (must be 0 on the wire; set it to test rejection). */
  readonly reserved?: number;
  readonly payload?: BytesInput;
  /** Overrides the length field (to test a header that lies about its payload). */
  readonly length?: number;
  /** Overrides the magic (to test rejection). */
  readonly magic?: string;
}

/**
 * The wire bytes of one MCP1 frame (PROTOCOL.md 3): 16-byte big-endian header, then
 * the payload.
 *
 * @example
 * ```ts
 * mcp1Bytes({ type: 1, id: 7, flags: 1, payload: '{"method":"ping"}' });
 * ```
 */
export function mcp1Bytes(frame: Mcp1FrameInput): Uint8Array {
  const payload = bytes(frame.payload ?? []);
  const out = new Uint8Array(16 + payload.length);
  out.set(bytes(frame.magic ?? 'MCP1').subarray(0, 4));
  out[4] = frame.type;
  out[5] = frame.flags ?? 0;
  const reserved = frame.reserved ?? 0;
  out[6] = reserved >>> 8;
  out[7] = reserved & 0xff;
  writeU32(out, 8, frame.id ?? 0);
  writeU32(out, 12, frame.length ?? payload.length);
  out.set(payload, 16);
  return out;
}

/**
 * The wire bytes of one LSP base-protocol message: `Content-Length: N\r\n`, any
 * extra headers, a blank line, then the body.
 *
 * @example
 * ```ts
 * lspBytes('{"jsonrpc":"2.0","method":"ping","id":1}');
 * ```
 */
export function lspBytes(body: BytesInput, extraHeaders: Readonly<Record<string, string>> = {}): Uint8Array {
  const data = bytes(body);
  let head = `Content-Length: ${data.length}\r\n`;
  for (const [name, value] of Object.entries(extraHeaders)) head += `${name}: ${value}\r\n`;
  return concatBytes(`${head}\r\n`, data);
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}
