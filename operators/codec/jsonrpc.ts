/**
 * JSON-RPC 2.0 message checks and response serialization (PROTOCOL.md 2.2,
 * jsonrpc.org/specification), shared by decodeJsonRpc() and encodeJsonRpc().
 * @module
 */
import type { RpcErrorObject, RpcId } from '../../src/core/records.js';
import { INTERNAL_ERROR } from '../../src/core/wire/jsonrpc.js';

/**
 * Reads an own property only: a member must come from the message itself, never
 * from a (possibly polluted) `Object.prototype`.
 */
export function own(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

/** A JSON object (not an array, not null): what a request must be. */
export function isJsonObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `params` must be a structured value: an array or an object. */
export function isStructured(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** A valid JSON-RPC id: string, number or null. */
export function isRpcId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || typeof value === 'number';
}

/**
 * One response object as JSON text, members in the order the specification
 * shows them. An `error` makes it an error response; otherwise `result`, with
 * undefined written as null. Throws when the result or error data cannot be
 * serialized (BigInt, a cycle, a throwing toJSON).
 */
export function responseJson(id: RpcId, result: unknown, error: RpcErrorObject | undefined): string {
  const idJson = idToJson(id);
  if (error !== undefined) {
    const errorJson = JSON.stringify(
      error.data === undefined
        ? { code: error.code, message: error.message }
        : { code: error.code, message: error.message, data: error.data },
    );
    return `{"jsonrpc":"2.0","id":${idJson},"error":${errorJson}}`;
  }
  // JSON.stringify gives undefined (not text) for undefined, functions and symbols.
  const resultJson = JSON.stringify(result) ?? 'null';
  return `{"jsonrpc":"2.0","id":${idJson},"result":${resultJson}}`;
}

/**
 * An id as JSON. Numbers (every MCP1 id, most JSON-RPC ones) skip JSON.stringify:
 * for a finite number its text is exactly String's, and it costs a third as much.
 */
function idToJson(id: RpcId): string {
  if (typeof id === 'number') return Number.isFinite(id) ? String(id) : 'null';
  return JSON.stringify(id) ?? 'null';
}

/** {@link responseJson}, or the -32603 response for `id` when the value cannot be serialized. */
export function safeResponseJson(id: RpcId, result: unknown, error: RpcErrorObject | undefined): string {
  try {
    return responseJson(id, result, error);
  } catch {
    return responseJson(id, undefined, INTERNAL_ERROR);
  }
}
