import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { FrameRecord, Mcp1Header, PipelineRecord, RpcErrorObject } from '../src/core/records.js';
import { INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR } from '../src/core/wire/jsonrpc.js';
import { MCP1_FLAG_JSON, Mcp1Type } from '../src/core/wire/mcp1.js';
import { isJsonObject, own } from './codec/jsonrpc.js';
import { decodeMsgpack } from './codec/msgpack.js';
import { decodeUtf8 } from './codec/utf8.js';
import { type Chain, fusable, type Sink, type Stage, type StageSpec, stage } from './internal/fusion.js';

/**
 * Decodes MCP1 frames (`protocol` `'mcp1'`, with their parsed `header`) into
 * requests, cancels and pongs (PROTOCOL.md 3):
 *
 * - type 1 request / 4 notification: the payload (MessagePack, or UTF-8 JSON
 *   when flags bit 0 is set) must be a map `{method: string, params?: array|map}`.
 *   It becomes a RequestRecord with the header's id (`json` set from the flag).
 *   A payload that does not decode: error -32700 "Parse error"; no string
 *   `method` or bad `params`: -32600 "Invalid Request"; both with the frame's id.
 *   A broken notification is dropped: notifications are never answered.
 * - type 5 ping: a `pong` reply with the same id; type 7 cancel: a CancelRecord.
 *
 * `params: nil` is not absent: params, when present, must be an array or a map
 * (PROTOCOL.md 3), as JSON-RPC's `"params": null` is -32600 too. Hostile payloads (nesting thousands deep, lengths claimed
 * past the frame, msgpackr's own extension types) are rejected as -32700 before
 * msgpackr runs, so nothing recurses deeply or allocates past the frame's size.
 * Decoded maps are plain objects in which a `__proto__` key never sets a prototype
 * (msgpackr renames it `__proto_`; JSON.parse makes it an own property).
 * Other records, and frames of types a client does not send, pass through.
 *
 * ```
 * frame:  --q--p--c--|   q = request id 7 {method:'echo'};  p = ping id 8;  c = cancel id 7
 * decodeMcp1()
 * out:    --r--o--x--|   r = request id 7 'echo';  o = pong id 8;  x = cancel id 7
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(
 *   detectProtocol(), mcp1Frames(), decodeMcp1(),
 *   route(handlers), handle(), encodeMcp1(),
 * ).subscribe((r) => r.type === 'out' && r.connection.write(r.bytes));
 * ```
 * @return An operator: FrameRecord (MCP1) → RequestRecord | CancelRecord | ReplyRecord.
 */
export function decodeMcp1(): OperatorFunction<PipelineRecord, PipelineRecord> {
  return fusable(new DecodeMcp1Spec());
}

/** decodeMcp1() as a stage spec: mcp1Frames() right before it fuses with it (mcp1Frames.ts). */
export class DecodeMcp1Spec implements StageSpec {
  create(out: Sink, _chain: Chain): Stage {
    return stage(out, decodingMcp1(out));
  }
}

/** What decodeMcp1() does with each record: MCP1 frames are decoded, the rest passes. */
export function decodingMcp1(out: Sink): (record: PipelineRecord) => void {
  return (record) => {
    if (record.type === 'frame' && record.protocol === 'mcp1' && record.header !== undefined) {
      decodeMcp1Frame(record.connection, record.header, record.bytes, out, record);
    } else {
      out.next(record);
    }
  };
}

/** Decodes one MCP1 frame, its payload `bytes`; a type this does not decode passes on as a frame record (`frame`, or a new one). */
export function decodeMcp1Frame(connection: Connection, header: Mcp1Header, bytes: Uint8Array, out: Sink, frame?: FrameRecord): void {
  const json = (header.flags & MCP1_FLAG_JSON) !== 0;
  switch (header.type) {
    case Mcp1Type.Request:
    case Mcp1Type.Notification:
      decodeRequest(connection, header, bytes, json, out);
      return;
    case Mcp1Type.Ping:
      out.next({ type: 'reply', connection, protocol: 'mcp1', id: header.id, kind: 'pong', json });
      return;
    case Mcp1Type.Cancel:
      out.next({ type: 'cancel', connection, protocol: 'mcp1', id: header.id });
      return;
    case Mcp1Type.Response:
    case Mcp1Type.Error:
      decodeAnswer(connection, header, bytes, json, out);
      return;
    default:
      out.next(frame ?? { type: 'frame', connection, protocol: 'mcp1', bytes, header });
  }
}

function decodeRequest(connection: Connection, header: Mcp1Header, bytes: Uint8Array, json: boolean, out: Sink): void {
  const notification = header.type === Mcp1Type.Notification;
  let payload: unknown;
  try {
    payload = json ? JSON.parse(decodeUtf8(bytes)) : decodeMsgpack(bytes);
  } catch {
    if (!notification) out.next(errorReply(connection, header, json, PARSE_ERROR));
    return;
  }
  // A Date or a byte array (MessagePack timestamp / bin) is an object but not a map.
  let method: unknown;
  let params: unknown;
  if (isPlainObject(payload)) {
    method = own(payload, 'method');
    params = own(payload, 'params');
  }
  if (typeof method !== 'string' || !isParams(params)) {
    if (!notification) out.next(errorReply(connection, header, json, INVALID_REQUEST));
    return;
  }
  out.next({
    type: 'request',
    connection,
    protocol: 'mcp1',
    id: header.id,
    notification,
    method,
    params,
    json,
  });
}

/**
 * A client's answer to a server request (PROTOCOL.md 6.2): type 2, the result; type
 * 3, an error map `{code, message, data?}`. A payload that does not decode, or an
 * error that is not such a map, is still the answer: the request is rejected with
 * -32700 or -32603 naming what came, rather than left waiting.
 */
function decodeAnswer(connection: Connection, header: Mcp1Header, bytes: Uint8Array, json: boolean, out: Sink): void {
  let payload: unknown;
  try {
    payload = bytes.length === 0 ? undefined : json ? JSON.parse(decodeUtf8(bytes)) : decodeMsgpack(bytes);
  } catch {
    out.next({ type: 'response', connection, protocol: 'mcp1', id: header.id, error: PARSE_ERROR });
    return;
  }
  if (header.type === Mcp1Type.Response) {
    out.next({ type: 'response', connection, protocol: 'mcp1', id: header.id, result: payload });
    return;
  }
  const code = isPlainObject(payload) ? own(payload, 'code') : undefined;
  const message = isPlainObject(payload) ? own(payload, 'message') : undefined;
  const error =
    typeof code === 'number' && Number.isInteger(code) && typeof message === 'string'
      ? { code, message, data: own(payload as object, 'data') }
      : { code: INTERNAL_ERROR.code, message: INTERNAL_ERROR.message, data: payload };
  out.next({ type: 'response', connection, protocol: 'mcp1', id: header.id, error });
}

function isPlainObject(value: unknown): value is object {
  return isJsonObject(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function isParams(value: unknown): boolean {
  return value === undefined || Array.isArray(value) || isPlainObject(value);
}

function errorReply(connection: Connection, header: Mcp1Header, json: boolean, error: RpcErrorObject): PipelineRecord {
  return { type: 'reply', connection, protocol: 'mcp1', id: header.id, kind: 'error', error, json };
}
