/**
 * Wire constants shared by the codec operators: the JSON-RPC error objects
 * PROTOCOL.md names and the MCP1 header layout.
 * @module
 */
import { ErrorCode } from '../../src/errors.js';
import type { RpcErrorObject } from '../../src/records.js';

/** Bytes in an MCP1 frame header (PROTOCOL.md 3). */
export const MCP1_HEADER_BYTES = 16;

/** MCP1 flags bit 0: the payload is UTF-8 JSON instead of MessagePack. */
export const MCP1_FLAG_JSON = 1;

/** The value of every JSON-RPC 2.0 message's `jsonrpc` member. */
export const JSONRPC_VERSION = '2.0';

// Frozen and shared: replies hold these by reference, never copy or mutate them.
export const PARSE_ERROR: RpcErrorObject = Object.freeze({ code: ErrorCode.ParseError, message: 'Parse error' });
export const INVALID_REQUEST: RpcErrorObject = Object.freeze({ code: ErrorCode.InvalidRequest, message: 'Invalid Request' });
export const METHOD_NOT_FOUND: RpcErrorObject = Object.freeze({ code: ErrorCode.MethodNotFound, message: 'Method not found' });
export const INTERNAL_ERROR: RpcErrorObject = Object.freeze({ code: ErrorCode.InternalError, message: 'Internal error' });
export const REQUEST_CANCELLED: RpcErrorObject = Object.freeze({ code: ErrorCode.RequestCancelled, message: 'Request cancelled' });

/**
 * Writes the 16-byte MCP1 header at the start of `frame`: magic `MCP1`, type,
 * flags, two reserved zero bytes, id and payload length, big-endian.
 */
export function writeMcp1Header(frame: Uint8Array, type: number, flags: number, id: number, length: number): void {
  frame[0] = 0x4d; // M
  frame[1] = 0x43; // C
  frame[2] = 0x50; // P
  frame[3] = 0x31; // 1
  frame[4] = type;
  frame[5] = flags;
  frame[6] = 0;
  frame[7] = 0;
  frame[8] = id >>> 24;
  frame[9] = (id >>> 16) & 0xff;
  frame[10] = (id >>> 8) & 0xff;
  frame[11] = id & 0xff;
  frame[12] = length >>> 24;
  frame[13] = (length >>> 16) & 0xff;
  frame[14] = (length >>> 8) & 0xff;
  frame[15] = length & 0xff;
}
