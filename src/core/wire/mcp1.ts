/**
 * MCP1 wire facts (PROTOCOL.md 3): the 16-byte header's size, magic, frame types and flag bits, and its writer.
 * @module
 */

/** Bytes in an MCP1 frame header (PROTOCOL.md 3). */
export const MCP1_HEADER_BYTES = 16;

/** The header's first four bytes, `MCP1` (0x4d 0x43 0x50 0x31), read as one big-endian 32-bit number. */
export const MCP1_MAGIC = 0x4d435031;

/** MCP1 flags bit 0: the payload is UTF-8 JSON instead of MessagePack. */
export const MCP1_FLAG_JSON = 1;

/** MCP1 flag bits that must be zero: every bit but {@link MCP1_FLAG_JSON}. */
export const MCP1_RESERVED_FLAGS = 0xfe;

/** MCP1 frame types (PROTOCOL.md section 3). */
export const Mcp1Type = {
  Request: 1,
  Response: 2,
  Error: 3,
  Notification: 4,
  Ping: 5,
  Pong: 6,
  Cancel: 7,
  StreamItem: 8,
} as const;

/**
 * Writes the 16-byte MCP1 header at the start of `frame`: magic `MCP1`, type,
 * flags, two reserved zero bytes, id and payload length, big-endian.
 */
export function writeMcp1Header(frame: Uint8Array, type: number, flags: number, id: number, length: number): void {
  // MCP1_MAGIC, byte by byte.
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
