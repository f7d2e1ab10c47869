import type { Connection } from '../core/connection.js';
import type { DataRecord, EndRecord, OpenRecord, Protocol } from '../core/records.js';

/** Bytes as a spec writes them: UTF-8 text, byte values, or bytes. */
export type BytesInput = string | readonly number[] | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Bytes from text (UTF-8), an array of byte values, or bytes (copied).
 *
 * @example
 * ```ts
 * bytes('{"jsonrpc":"2.0"}\n'); bytes([0x4d, 0x43, 0x50, 0x31]);
 * ```
 */
export function bytes(input: BytesInput): Uint8Array {
  if (typeof input === 'string') return encoder.encode(input);
  return Uint8Array.from(input);
}

/** Bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
export function utf8(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Bytes as lower-case hex, two digits a byte, e.g. `4d435031`. */
export function hex(data: Uint8Array): string {
  let out = '';
  for (const b of data) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Joins byte chunks into one array. */
export function concatBytes(...chunks: BytesInput[]): Uint8Array {
  const parts = chunks.map(bytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The record a transport emits when `connection` is accepted. */
export function openRecord(connection: Connection): OpenRecord {
  return { type: 'open', connection };
}

/**
 * A data record, as a transport emits it (no `protocol`), or as `detectProtocol()`
 * emits it when `protocol` is given.
 *
 * @example
 * ```ts
 * dataRecord(conn, '{"jsonrpc":"2.0","method":"ping","id":1}\n', 'jsonrpc');
 * ```
 */
export function dataRecord(connection: Connection, input: BytesInput, protocol?: Protocol): DataRecord {
  const data = bytes(input);
  return protocol === undefined ? { type: 'data', connection, bytes: data } : { type: 'data', connection, bytes: data, protocol };
}

/** The record a transport emits when `connection`'s input ends. */
export function endRecord(connection: Connection): EndRecord {
  return { type: 'end', connection };
}

/**
 * One data record per chunk: the same bytes arriving in several reads.
 *
 * @example
 * ```ts
 * const [a, b] = slicesOf(conn, '{"jsonrpc":"2.0",', '"method":"ping"}\n');
 * ```
 */
export function slicesOf(connection: Connection, ...chunks: BytesInput[]): DataRecord[] {
  return chunks.map((chunk) => dataRecord(connection, chunk));
}

/**
 * A marble values map from a list: the first value is `a`, the second `b`, and so on.
 *
 * @example
 * ```ts
 * const source = cold('a-b-c|', lettered([openRecord(conn), ...slicesOf(conn, 'x', 'y')]));
 * ```
 */
export function lettered<T>(values: readonly T[]): Record<string, T> {
  if (values.length > 26) throw new RangeError(`lettered() names at most 26 values, got ${values.length}`);
  const out: Record<string, T> = {};
  values.forEach((value, i) => {
    out[String.fromCharCode(0x61 + i)] = value;
  });
  return out;
}
