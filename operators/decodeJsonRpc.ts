import type { OperatorFunction } from 'rxjs';
import type { Batch, FrameRecord, PipelineRecord, RpcErrorObject, RpcId } from '../src/core/records.js';
import { INVALID_REQUEST, JSONRPC_VERSION, PARSE_ERROR } from '../src/core/wire/jsonrpc.js';
import { frameText } from './codec/frameText.js';
import { isRpcId, isStructured } from './codec/jsonrpc.js';
import { fusable, type Sink, stage } from './internal/fusion.js';

/** Options of {@link decodeJsonRpc}. */
export interface DecodeJsonRpcOptions {
  /**
   * The notification that cancels a request (`params: {id}`), turned into a
   * `CancelRecord` on every JSON-RPC connection (NDJSON, concatenated JSON and
   * `lsp`). Default `'$/cancelRequest'`, LSP's name, which ringwire's own client
   * sends on every JSON-RPC framing; `null` passes it to the handlers like any
   * other notification.
   */
  readonly cancelMethod?: string | null;
}

/**
 * Decodes JSON-RPC 2.0 frames (`protocol` `'jsonrpc'` or `'lsp'`) into requests,
 * exactly as the specification says (PROTOCOL.md 2.2):
 *
 * - bytes that are not UTF-8 JSON: an error reply -32700 "Parse error", id null;
 * - a value that is not a request object (`jsonrpc` not `"2.0"`, `method` not a
 *   string, `params` not an array or object, `id` not a string, number or null):
 *   -32600 "Invalid Request", with the request's id where that id is valid;
 * - no `id` member: a notification (`notification: true`, id null);
 * - a batch array: one record per member, each carrying the same `Batch`, so that
 *   encodeJsonRpc() writes their answers as one array (`[]` is one -32600 error);
 * - the `$/cancelRequest` notification (`params: {id}`, a string or number id): a
 *   `CancelRecord`, on `jsonrpc` and `lsp` connections alike, which handle() turns
 *   into an abort of that request and a -32800 "Request cancelled" answer (unless
 *   the request was already answered; PROTOCOL.md 3 says the same of MCP1 cancel).
 *
 * Its error replies are not `final`: no request entered handle() for them. Other
 * records pass through in order. `params` is JSON.parse's own object: a
 * `"__proto__"` key is an own property, never a prototype.
 *
 * ```
 * frame:  --f--g--c--|   f = {"jsonrpc":"2.0","id":1,"method":"sum","params":[1,2]}
 *                        g = {oops
 *                        c = {"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}
 * decodeJsonRpc()
 * out:    --r--e--x--|   r = request id 1 "sum" [1,2];  e = error -32700, id null;  x = cancel id 1
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(
 *   detectProtocol(), jsonFrames(), contentLengthFrames(),
 *   decodeJsonRpc(),
 *   route(handlers), handle(), encodeJsonRpc(),
 * ).subscribe((r) => r.type === 'out' && r.connection.write(r.bytes));
 * ```
 * @param options See {@link DecodeJsonRpcOptions}.
 * @return An operator: FrameRecord (JSON-RPC) → RequestRecord | CancelRecord | ReplyRecord.
 */
export function decodeJsonRpc(options: DecodeJsonRpcOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const cancelMethod = options.cancelMethod === undefined ? '$/cancelRequest' : options.cancelMethod;
  return fusable({
    create: (out) =>
      stage(out, (record) => {
        if (record.type === 'frame' && (record.protocol === 'jsonrpc' || record.protocol === 'lsp')) {
          decodeFrame(record, cancelMethod, out);
        } else {
          out.next(record);
        }
      }),
  });
}

function decodeFrame(frame: FrameRecord, cancelMethod: string | null, out: Sink): void {
  let value: unknown;
  try {
    // V8's JSON.parse is iterative: a million nested brackets parse without
    // touching the stack, so no depth pre-check is needed here.
    value = JSON.parse(frameText(frame));
  } catch {
    out.next(errorReply(frame, null, PARSE_ERROR, undefined));
    return;
  }
  if (!Array.isArray(value)) {
    decodeMessage(frame, value, undefined, cancelMethod, out);
    return;
  }
  if (value.length === 0) {
    out.next(errorReply(frame, null, INVALID_REQUEST, undefined));
    return;
  }
  // pending starts at the full count, so no member's answer can flush the batch
  // before every member has gone downstream, even when handlers answer synchronously.
  const batch: Batch = { pending: value.length, replies: [] };
  for (const member of value) decodeMessage(frame, member, batch, cancelMethod, out);
}

// Captured once: members are read only when they are the message's own (never from a
// polluted Object.prototype), at one check per member.
const hasOwn = Object.prototype.hasOwnProperty;

function decodeMessage(frame: FrameRecord, message: unknown, batch: Batch | undefined, cancelMethod: string | null, out: Sink): void {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    out.next(errorReply(frame, null, INVALID_REQUEST, batch));
    return;
  }
  const m = message as Record<string, unknown>;
  const hasId = hasOwn.call(m, 'id');
  const id = hasId ? m.id : undefined;
  const idValid = !hasId || isRpcId(id);
  const method = hasOwn.call(m, 'method') ? m.method : undefined;
  const hasParams = hasOwn.call(m, 'params');
  const params = hasParams ? m.params : undefined;
  if (
    !hasOwn.call(m, 'jsonrpc') ||
    m.jsonrpc !== JSONRPC_VERSION ||
    typeof method !== 'string' ||
    !idValid ||
    (hasParams && !isStructured(params))
  ) {
    // An invalid message is answered even without an id: the specification's own
    // examples answer `{"foo": "boo"}` and `[1]` with id null.
    out.next(errorReply(frame, hasId && idValid ? (id as RpcId) : null, INVALID_REQUEST, batch));
    return;
  }
  if (!hasId && method === cancelMethod && isStructured(params)) {
    const target = hasOwn.call(params, 'id') ? (params as Record<string, unknown>).id : undefined;
    if (typeof target === 'string' || typeof target === 'number') {
      out.next({ type: 'cancel', connection: frame.connection, protocol: frame.protocol, id: target });
      // The cancel notification is still a batch member: account for it, writing nothing.
      if (batch !== undefined) {
        out.next({
          type: 'reply',
          connection: frame.connection,
          protocol: frame.protocol,
          id: null,
          kind: 'result',
          silent: true,
          batch,
        });
      }
      return;
    }
  }
  out.next({
    type: 'request',
    connection: frame.connection,
    protocol: frame.protocol,
    id: hasId ? (id as RpcId) : null,
    notification: !hasId,
    method,
    params,
    batch,
  });
}

function errorReply(frame: FrameRecord, id: RpcId, error: RpcErrorObject, batch: Batch | undefined): PipelineRecord {
  return { type: 'reply', connection: frame.connection, protocol: frame.protocol, id, kind: 'error', error, batch };
}
