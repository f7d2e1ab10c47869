/**
 * One JSON-RPC response object as bytes, in two steps: {@link replyJson} asks
 * JSON.stringify for the one value that needs it (it may throw, and its length
 * decides the room), then {@link writeReply} writes the object at once, within
 * {@link replyRoom} bytes plus 3 a unit of that JSON.
 * @module
 */
import type { RpcErrorObject, RpcId } from '../../src/core/records.js';
import { INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, REQUEST_CANCELLED } from '../../src/core/wire/jsonrpc.js';
import { bytesOf, NUMBER_ROOM, SHORT_TEXT, stringRoom, writeBytes, writeNumber, writeString, writeText } from './jsonBytes.js';

const HEAD = bytesOf('{"jsonrpc":"2.0","id":');
const RESULT = bytesOf(',"result":');
const ERROR = bytesOf(',"error":');
const CODE = bytesOf('{"code":');
const MESSAGE = bytesOf(',"message":');
const NULL = bytesOf('null');
const DATA = bytesOf(',"data":');
const CLOSE = 0x7d;

/**
 * Ids and error messages up to this many units are copied by hand when JSON writes
 * them as they are. Measured against JSON.stringify and Node's writer: 25 against
 * 87 ns at 8 units, 96 against 236 at 36 (a UUID), 300 against 392 at 128 (past 32
 * units JSON.stringify's text is a rope, which the writer flattens first).
 */
const HAND_MAX = 128;

/** The shared error objects, each `,"error":{"code":C,"message":M}` encoded once. */
const KNOWN: readonly RpcErrorObject[] = [METHOD_NOT_FOUND, INTERNAL_ERROR, REQUEST_CANCELLED, INVALID_REQUEST, PARSE_ERROR];
const KNOWN_BYTES = KNOWN.map((error) => bytesOf(`,"error":${JSON.stringify({ code: error.code, message: error.message })}`));

/**
 * What a response needs from JSON.stringify: the result's JSON (undefined for a
 * short string, written by hand); for an error, its data's JSON (undefined when
 * there is none, or it has no JSON), or for an error whose code is not a number or
 * message not a string, the whole error object's JSON. Throws what JSON.stringify
 * throws.
 */
export function replyJson(result: unknown, error: RpcErrorObject | undefined): string | undefined {
  if (error === undefined) {
    if (typeof result === 'string' && result.length <= SHORT_TEXT) return undefined;
    // JSON.stringify gives undefined (not text) for undefined, functions and symbols.
    return JSON.stringify(result) ?? 'null';
  }
  const data = error.data;
  if (!isPlainError(error)) {
    const { code, message } = error;
    return JSON.stringify(data === undefined ? { code, message } : { code, message, data });
  }
  if (data === undefined) return undefined;
  if (!mayHaveToJSON(data)) return JSON.stringify(data);
  // A toJSON is called with the key its value is stringified under: "data" as a
  // member of the error object, "" alone. So it is stringified as that member, and
  // cut out of `{"data":D}` (`{}` when D has no JSON).
  const member = JSON.stringify({ data });
  return member.length === 2 ? undefined : member.slice(DATA_KEY.length, -1);
}

const DATA_KEY = '{"data":';

/**
 * Whether JSON.stringify may call a toJSON of `data` itself. `in` runs no getter
 * (a Proxy's `has` trap only).
 */
function mayHaveToJSON(data: unknown): boolean {
  if (typeof data === 'bigint') return true;
  return ((typeof data === 'object' && data !== null) || typeof data === 'function') && 'toJSON' in data;
}

/** A code and message written by hand; anything else is left to JSON.stringify whole. */
function isPlainError(error: RpcErrorObject): boolean {
  return typeof error.code === 'number' && typeof error.message === 'string';
}

/** The most {@link writeReply} writes besides `json` (3 bytes a unit of which are also needed). */
export function replyRoom(id: RpcId, result: unknown, error: RpcErrorObject | undefined): number {
  const room = HEAD.length + (typeof id === 'string' ? stringRoom(id) : NUMBER_ROOM) + 1;
  if (error === undefined) {
    return room + RESULT.length + (typeof result === 'string' && result.length <= SHORT_TEXT ? stringRoom(result) : 0);
  }
  if (!isPlainError(error)) return room + ERROR.length;
  return room + ERROR.length + CODE.length + NUMBER_ROOM + MESSAGE.length + stringRoom(error.message) + DATA.length + 1;
}

/**
 * `{"jsonrpc":"2.0","id":ID,"result":R}` or `…,"error":E}` at `at`, `json` being what
 * {@link replyJson} gave for the same result and error; returns where it ends.
 */
export function writeReply(
  out: Uint8Array,
  at: number,
  id: RpcId,
  result: unknown,
  error: RpcErrorObject | undefined,
  json: string | undefined,
): number {
  at = writeBytes(out, at, HEAD);
  if (typeof id === 'number') at = writeNumber(out, at, id);
  else if (typeof id === 'string') at = writeString(out, at, id, HAND_MAX);
  else at = writeBytes(out, at, NULL);
  if (error !== undefined) {
    at = writeError(out, at, error, json);
  } else {
    at = writeBytes(out, at, RESULT);
    at = json === undefined ? writeString(out, at, result as string, SHORT_TEXT) : writeText(out, at, json);
  }
  out[at] = CLOSE;
  return at + 1;
}

function writeError(out: Uint8Array, at: number, error: RpcErrorObject, json: string | undefined): number {
  for (let i = 0; i < KNOWN.length; i++) if (KNOWN[i] === error) return writeBytes(out, at, KNOWN_BYTES[i]!);
  at = writeBytes(out, at, ERROR);
  if (!isPlainError(error)) return writeText(out, at, json!);
  at = writeBytes(out, at, CODE);
  at = writeNumber(out, at, error.code);
  at = writeBytes(out, at, MESSAGE);
  at = writeString(out, at, error.message, HAND_MAX);
  if (json !== undefined) {
    at = writeBytes(out, at, DATA);
    at = writeText(out, at, json);
  }
  out[at] = CLOSE;
  return at + 1;
}
