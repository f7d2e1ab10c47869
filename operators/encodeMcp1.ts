import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { MessageRecord, PipelineRecord, ReplyRecord, RpcErrorObject } from '../src/core/records.js';
import { INTERNAL_ERROR } from '../src/core/wire/jsonrpc.js';
import { MCP1_FLAG_JSON, MCP1_HEADER_BYTES, Mcp1Type, writeMcp1Header } from '../src/core/wire/mcp1.js';
import { packAfter } from './codec/msgpack.js';
import { packFastAfter } from './codec/msgpackPackFast.js';
import { encodeAfter } from './codec/utf8.js';
import { fusable, stage } from './internal/fusion.js';
import type { EncodeOptions } from './internal/options.js';

/**
 * Encodes MCP1 replies (`protocol` `'mcp1'`) into frames (PROTOCOL.md 3): a
 * 16-byte big-endian header (`MCP1`, type, flags, 0, id, length) and the payload,
 * in one buffer.
 *
 * | reply | frame |
 * | --- | --- |
 * | `result` | type 2, the result (nil when undefined) |
 * | `error` | type 3, `{code, message, data?}` |
 * | `item` | type 8, the item (carried in `result`) |
 * | `pong` | type 6, empty |
 *
 * Payloads are MessagePack, or UTF-8 JSON with flags bit 0 when the reply has
 * `json` (the request came that way). `silent` replies write nothing. A value the
 * payload encoding cannot hold becomes a type-3 -32603 "Internal error" frame,
 * and the error is handed to `options.onFailure`; if that was a stream item, the rest of that stream is dropped up to its final
 * reply, so the client sees one error and nothing after it. A ViolationRecord with
 * `protocol` `'mcp1'` becomes a type-3 frame with id 0 and `close: true`.
 * Other records pass through.
 *
 * ```
 * in:   --r--p--|     r = reply id 7 result 3;  p = pong id 8
 * encodeMcp1()
 * out:  --a--b--|     a = MCP1 02 00 0000 00000007 00000001 03;  b = MCP1 06 00 0000 00000008 00000000
 * ```
 *
 * @example
 * ```ts
 * records$.pipe(encodeMcp1(), encodeJsonRpc()).subscribe((r) => {
 *   if (r.type === 'out') r.connection.write(r.bytes);
 * });
 * ```
 * @param options See {@link EncodeOptions}.
 * @return An operator: ReplyRecord | ViolationRecord (MCP1) → OutboundRecord.
 */
export function encodeMcp1(options: EncodeOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const onFailure = options.onFailure;
  return fusable({
    create: (out) => {
      // Per connection, ids whose stream failed to encode: their later replies are dropped.
      // Rare, so a Map (asked only when not empty) rather than room on every connection.
      const broken: Broken = new Map();
      return stage(
        out,
        (record) => {
          if (record.type === 'reply' && record.protocol === 'mcp1') {
            if (record.silent || isBroken(broken, record)) return;
            out.next({ type: 'out', connection: record.connection, bytes: encodeReply(record, broken, onFailure) });
          } else if (record.type === 'message' && record.protocol === 'mcp1') {
            const bytes = encodeMessage(record, onFailure);
            if (bytes !== undefined) out.next({ type: 'out', connection: record.connection, bytes });
          } else if (record.type === 'violation' && record.protocol === 'mcp1') {
            // A violation's error is the server's own, not a handler's: nothing to report.
            const bytes =
              record.error === undefined
                ? new Uint8Array(0)
                : frameOrInternalError(Mcp1Type.Error, 0, errorPayload(record.error), false, undefined, undefined);
            out.next({ type: 'out', connection: record.connection, bytes, close: true });
          } else {
            if (record.type === 'end' && broken.size !== 0) broken.delete(record.connection);
            out.next(record);
          }
        },
        { dispose: () => broken.clear() },
      );
    },
  });
}

function encodeReply(reply: ReplyRecord, broken: Broken, onFailure: OnFailure): Uint8Array {
  const id = mcp1Id(reply);
  const json = reply.json === true;
  switch (reply.kind) {
    case 'pong':
      return frame(Mcp1Type.Pong, id, undefined, json, true);
    case 'error':
      return frameOrInternalError(Mcp1Type.Error, id, errorPayload(reply.error ?? INTERNAL_ERROR), json, reply, onFailure);
    case 'item': {
      const bytes = tryFrame(Mcp1Type.StreamItem, id, reply.result, json, reply, onFailure);
      if (bytes !== undefined) return bytes;
      let ids = broken.get(reply.connection);
      if (ids === undefined) broken.set(reply.connection, (ids = new Set()));
      ids.add(id);
      return frame(Mcp1Type.Error, id, INTERNAL_ERROR, json);
    }
    default:
      return frameOrInternalError(Mcp1Type.Response, id, reply.result, json, reply, onFailure);
  }
}

/**
 * A message from the server (PROTOCOL.md 6.2): a notification (type 4, id 0) or
 * request (type 1) with `{method, params?}`, or a cancel (type 7, empty). One whose
 * params the payload encoding cannot hold is reported and not sent.
 */
function encodeMessage(message: MessageRecord, onFailure: OnFailure): Uint8Array | undefined {
  const id = typeof message.id === 'number' ? message.id >>> 0 : 0;
  const json = message.json === true;
  if (message.kind === 'cancel') return frame(Mcp1Type.Cancel, id, undefined, json, true);
  const payload = message.params === undefined ? { method: message.method } : { method: message.method, params: message.params };
  try {
    return frame(message.kind === 'request' ? Mcp1Type.Request : Mcp1Type.Notification, message.kind === 'request' ? id : 0, payload, json);
  } catch (error) {
    onFailure?.(message.method, error);
    return undefined;
  }
}

function isBroken(broken: Broken, reply: ReplyRecord): boolean {
  if (broken.size === 0) return false;
  const ids = broken.get(reply.connection);
  if (ids === undefined || !ids.has(mcp1Id(reply))) return false;
  if (reply.kind === 'result' || reply.kind === 'error') {
    ids.delete(mcp1Id(reply));
    if (ids.size === 0) broken.delete(reply.connection);
  }
  return true;
}

function mcp1Id(reply: ReplyRecord): number {
  return typeof reply.id === 'number' ? reply.id >>> 0 : 0;
}

function errorPayload(error: RpcErrorObject): RpcErrorObject {
  return error.data === undefined
    ? { code: error.code, message: error.message }
    : { code: error.code, message: error.message, data: error.data };
}

type OnFailure = EncodeOptions['onFailure'];

/** Per connection, the ids of its streams that failed to encode. */
type Broken = Map<Connection, Set<number>>;

function frameOrInternalError(
  type: number,
  id: number,
  value: unknown,
  json: boolean,
  reply: ReplyRecord | undefined,
  onFailure: OnFailure,
): Uint8Array {
  return tryFrame(type, id, value, json, reply, onFailure) ?? frame(Mcp1Type.Error, id, INTERNAL_ERROR, json);
}

/** The frame, or undefined (and `onFailure` told why) when the value cannot be encoded. */
function tryFrame(
  type: number,
  id: number,
  value: unknown,
  json: boolean,
  reply: ReplyRecord | undefined,
  onFailure: OnFailure,
): Uint8Array | undefined {
  try {
    return frame(type, id, value, json);
  } catch (error) {
    if (onFailure !== undefined && reply !== undefined) onFailure(reply.method, error);
    return undefined;
  }
}

/** Header and payload in one buffer. `empty` writes no payload at all (pong). */
function frame(type: number, id: number, value: unknown, json: boolean, empty = false): Uint8Array {
  let bytes: Uint8Array;
  if (empty) bytes = new Uint8Array(MCP1_HEADER_BYTES);
  else if (json) bytes = encodeAfter(MCP1_HEADER_BYTES, JSON.stringify(value) ?? 'null');
  // Primitives and arrays of them by hand, into the output slab; anything else through msgpackr.
  else bytes = packFastAfter(MCP1_HEADER_BYTES, value) ?? packAfter(MCP1_HEADER_BYTES, value);
  writeMcp1Header(bytes, type, json ? MCP1_FLAG_JSON : 0, id, bytes.length - MCP1_HEADER_BYTES);
  return bytes;
}
