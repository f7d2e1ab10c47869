/**
 * JSON-RPC responses written as bytes straight into the output slab, byte-identical
 * to responseJson()'s text framed by encodeLine() or encodeContentLength(): the
 * envelope's constant parts are copied from bytes encoded once, ids and error codes
 * and messages are written by hand, and only a result or an error's data goes
 * through JSON.stringify and Node's UTF-8 writer (replyWrite.ts).
 *
 * Joining the parts as a string first makes V8 build a rope that the writer must
 * flatten, and costs JSON.stringify for ids and error objects: a reply with an
 * echo-sized value, or none, is written in 30-45% of the time. A value whose JSON
 * is over 32 units gains little: JSON.stringify's own text is then a rope, which the
 * writer flattens either way.
 * @module
 */
import type { RpcErrorObject, RpcId, RpcReplyBody } from '../../src/core/records.js';
import { INTERNAL_ERROR } from '../../src/core/wire/jsonrpc.js';
import { writeDigits } from './jsonBytes.js';
import { responseJson } from './jsonrpc.js';
import { replyJson, replyRoom, writeReply } from './replyWrite.js';
import { resultLine } from './resultLine.js';
import { SLAB_ITEM_MAX, slabRoom, slabStart, slabTakeFrom } from './slab.js';
import { encodeContentLength, encodeLine } from './utf8.js';

/** How a JSON-RPC connection frames its messages: NDJSON lines, or LSP's Content-Length headers. */
export type JsonFraming = 'jsonrpc' | 'lsp';

/**
 * One response on the wire: `{"jsonrpc":"2.0","id":ID,"result":R}` or
 * `…,"error":E}`, then `\n` (jsonrpc) or framed with Content-Length (lsp). Throws
 * what JSON.stringify throws (BigInt, cycle, throwing toJSON) having called it once
 * on the value.
 */
export function responseBytes(framing: JsonFraming, id: RpcId, result: unknown, error: RpcErrorObject | undefined): Uint8Array {
  if (error === undefined && framing !== 'lsp') {
    // resultLine's own writer for its ids (0 to 2^31-1): for an echo-sized result the
    // general one below measured 20-25% slower than it.
    const line = resultLine(id, result);
    if (line !== undefined) return line;
  }
  if (!isRpcId(id)) return framed(framing, responseJson(id, result, error));
  // The JSON first: it may throw, and its length decides the room.
  const json = replyJson(result, error);
  let room = replyRoom(id, result, error);
  if (json !== undefined) room += jsonRoom(json, room);
  room += framing === 'lsp' ? HEADER_ROOM : 1;
  const inSlab = room <= SLAB_ITEM_MAX;
  const out = inSlab ? slabRoom(room) : new Uint8Array(room);
  const start = inSlab ? slabStart() : 0;
  const body = framing === 'lsp' ? start + HEADER_ROOM : start;
  return finish(framing, out, inSlab, start, body, writeReply(out, body, id, result, error, json));
}

/**
 * A batch's answer: `[member,member,...]` framed likewise. A member whose result or
 * error data cannot be serialized is written as the -32603 INTERNAL_ERROR response
 * for its id instead, and onMemberFailure(index, error) is called.
 */
export function batchBytes(
  framing: JsonFraming,
  members: readonly RpcReplyBody[],
  onMemberFailure?: (index: number, error: unknown) => void,
): Uint8Array {
  const n = members.length;
  for (let i = 0; i < n; i++) if (!isRpcId(members[i]!.id)) return framed(framing, batchJson(members, onMemberFailure));
  // Every member's JSON first: it may fail (and call back), and it decides the room.
  const jsons = new Array<string | undefined>(n);
  const errors = new Array<RpcErrorObject | undefined>(n);
  let room = n + 1;
  let units = 0;
  for (let i = 0; i < n; i++) {
    const member = members[i]!;
    let error = member.error;
    let json: string | undefined;
    try {
      json = replyJson(member.result, error);
    } catch (failure) {
      error = INTERNAL_ERROR;
      json = undefined;
      onMemberFailure?.(i, failure);
    }
    jsons[i] = json;
    errors[i] = error;
    room += replyRoom(member.id, member.result, error);
    if (json !== undefined) units += json.length;
  }
  if (fitsSlab(room + units * 3)) room += units * 3;
  else for (const json of jsons) if (json !== undefined) room += Buffer.byteLength(json, 'utf8');
  room += framing === 'lsp' ? HEADER_ROOM : 1;
  const inSlab = room <= SLAB_ITEM_MAX;
  const out = inSlab ? slabRoom(room) : new Uint8Array(room);
  const start = inSlab ? slabStart() : 0;
  const body = framing === 'lsp' ? start + HEADER_ROOM : start;
  let at = body;
  out[at++] = OPEN_BRACKET;
  for (let i = 0; i < n; i++) {
    if (i > 0) out[at++] = COMMA;
    at = writeReply(out, at, members[i]!.id, members[i]!.result, errors[i], jsons[i]);
  }
  out[at++] = CLOSE_BRACKET;
  return finish(framing, out, inSlab, start, body, at);
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** The room for `json`: 3 bytes a unit, or its exact UTF-8 length when that is too much for the slab. */
function jsonRoom(json: string, besides: number): number {
  const worst = json.length * 3;
  return fitsSlab(besides + worst) ? worst : Buffer.byteLength(json, 'utf8');
}

function fitsSlab(bodyRoom: number): boolean {
  return bodyRoom + HEADER_ROOM <= SLAB_ITEM_MAX;
}

const CONTENT_LENGTH = 'Content-Length: ';
/** The longest LSP header: `Content-Length: ` + 10 digits + `\r\n\r\n` (also room enough for a newline). */
const HEADER_ROOM = CONTENT_LENGTH.length + 10 + 4;

/**
 * The output, its body written from `body` to `end` in `out` (the slab from `start`,
 * or a buffer of its own): with its newline, or with its header right before it (on
 * LSP the body starts after room for the longest header, as the header's length
 * depends on the body's).
 */
function finish(framing: JsonFraming, out: Uint8Array, inSlab: boolean, start: number, body: number, end: number): Uint8Array {
  let begin = start;
  if (framing === 'lsp') begin = writeHeader(out, body, end - body);
  else out[end++] = NEWLINE;
  return inSlab ? slabTakeFrom(begin, end) : new Uint8Array(out.buffer, begin, end - begin);
}

/** `Content-Length: N\r\n\r\n` ending at `body`; returns where it starts. */
function writeHeader(out: Uint8Array, body: number, length: number): number {
  let digits = 1;
  for (let power = 10; power <= length; power *= 10) digits++;
  const begin = body - CONTENT_LENGTH.length - digits - 4;
  for (let i = 0; i < CONTENT_LENGTH.length; i++) out[begin + i] = CONTENT_LENGTH.charCodeAt(i);
  writeDigits(out, body - digits - 4, length);
  out[body - 4] = out[body - 2] = 0x0d;
  out[body - 3] = out[body - 1] = 0x0a;
  return begin;
}

/** What the decoders make: anything else is written the old way, responseJson's text. */
function isRpcId(id: unknown): id is RpcId {
  return typeof id === 'number' || typeof id === 'string' || id === null;
}

function framed(framing: JsonFraming, text: string): Uint8Array {
  return framing === 'lsp' ? encodeContentLength(text) : encodeLine(text);
}

function batchJson(members: readonly RpcReplyBody[], onMemberFailure: ((index: number, error: unknown) => void) | undefined): string {
  let text = '[';
  for (let i = 0; i < members.length; i++) {
    const { id, result, error } = members[i]!;
    if (i > 0) text += ',';
    try {
      text += responseJson(id, result, error);
    } catch (failure) {
      onMemberFailure?.(i, failure);
      text += responseJson(id, undefined, INTERNAL_ERROR);
    }
  }
  return text + ']';
}
