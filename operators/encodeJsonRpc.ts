import type { OperatorFunction } from 'rxjs';
import type { Batch, MessageRecord, PipelineRecord, Protocol, ReplyRecord, ViolationRecord } from '../src/core/records.js';
import { INTERNAL_ERROR } from '../src/core/wire/jsonrpc.js';
import { messageJson } from './codec/messageJson.js';
import { batchBytes, type JsonFraming, responseBytes } from './codec/replyBytes.js';
import { encodeContentLength, encodeLine } from './codec/utf8.js';
import { fusable, stage } from './internal/fusion.js';
import type { EncodeOptions } from './internal/options.js';

type OnFailure = EncodeOptions['onFailure'];

/**
 * Encodes JSON-RPC replies (`protocol` `'jsonrpc'` or `'lsp'`) into the bytes to
 * write: NDJSON (`…\n`) on `jsonrpc` connections, `Content-Length` framing on
 * `lsp` ones.
 *
 * - `result`: `{"jsonrpc":"2.0","id":…,"result":…}` (undefined becomes null);
 *   `error`: `{"jsonrpc":"2.0","id":…,"error":{"code","message","data"?}}`;
 * - a value JSON cannot hold (BigInt, a cycle, a throwing toJSON) becomes -32603
 *   "Internal error", and the error is handed to `options.onFailure`;
 * - a reply carrying a `Batch` is one member's answer: it joins `batch.replies`
 *   (unless `silent`) and the batch is written as one array when its last member
 *   is answered; a batch of notifications only writes nothing;
 * - `silent` replies (finished notifications) write nothing;
 * - a ViolationRecord in JSON-RPC form (`protocol` `'jsonrpc'`, `'lsp'` or unset)
 *   writes its error with id null and asks the sink to close (`close: true`).
 *
 * Stream items and pongs do not exist in JSON-RPC (handle() answers a stream with
 * one array) and are dropped. MCP1 records and all other records pass through.
 *
 * ```
 * in:   --r--v--|     r = reply id 1 result 3;  v = violation 'unknown-protocol'
 * encodeJsonRpc()
 * out:  --a--b--|     a = {"jsonrpc":"2.0","id":1,"result":3}\n
 *                     b = {"jsonrpc":"2.0","id":null,"error":{…"Unrecognized protocol"}}\n, close
 * ```
 *
 * @example
 * ```ts
 * records$.pipe(encodeMcp1(), encodeJsonRpc()).subscribe((r) => {
 *   if (r.type !== 'out') return;
 *   r.connection.write(r.bytes);
 *   if (r.close) r.connection.end();
 * });
 * ```
 * @param options See {@link EncodeOptions}.
 * @return An operator: ReplyRecord | ViolationRecord (JSON-RPC) → OutboundRecord.
 */
export function encodeJsonRpc(options: EncodeOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const onFailure = options.onFailure;
  return fusable({
    create: (out) =>
      stage(out, (record) => {
        if (record.type === 'reply' && record.protocol !== 'mcp1') {
          const bytes = encodeReply(record, onFailure);
          if (bytes !== undefined) out.next({ type: 'out', connection: record.connection, bytes });
        } else if (record.type === 'violation' && record.protocol !== 'mcp1') {
          out.next({ type: 'out', connection: record.connection, bytes: encodeViolation(record), close: true });
        } else if (record.type === 'message' && record.protocol !== 'mcp1') {
          const bytes = encodeMessage(record, onFailure);
          if (bytes !== undefined) out.next({ type: 'out', connection: record.connection, bytes });
        } else {
          out.next(record);
        }
      }),
  });
}

const EMPTY = new Uint8Array(0);

function encodeReply(reply: ReplyRecord, onFailure: OnFailure): Uint8Array | undefined {
  if (reply.kind !== 'result' && reply.kind !== 'error') return undefined;
  if (reply.batch !== undefined) return answerBatchMember(reply, reply.batch, onFailure);
  if (reply.silent) return undefined;
  try {
    return responseBytes(framingOf(reply.protocol), reply.id, reply.result, reply.error);
  } catch (error) {
    // Not serializable (asked once: a toJSON runs once).
    onFailure?.(reply.method, error);
    return responseBytes(framingOf(reply.protocol), reply.id, undefined, INTERNAL_ERROR);
  }
}

function answerBatchMember(reply: ReplyRecord, batch: Batch, onFailure: OnFailure): Uint8Array | undefined {
  // A stray second answer for a finished batch must not write it twice.
  if (batch.pending <= 0) return undefined;
  if (!reply.silent) {
    const { id, method } = reply;
    batch.replies.push(reply.error !== undefined ? { id, error: reply.error, method } : { id, result: reply.result, method });
  }
  if (--batch.pending > 0 || batch.replies.length === 0) return undefined;
  const members = batch.replies;
  // Serialized member by member: one unserializable result costs only its own answer.
  return batchBytes(framingOf(reply.protocol), members, onFailure && ((i, error) => onFailure(members[i]!.method, error)));
}

/** A message from the server (PROTOCOL.md 6.1); one whose params JSON cannot hold is reported and not sent. */
function encodeMessage(message: MessageRecord, onFailure: OnFailure): Uint8Array | undefined {
  let text: string | undefined;
  try {
    text = messageJson(message);
  } catch (error) {
    onFailure?.(message.method, error);
    return undefined;
  }
  if (text === undefined) return undefined;
  return message.protocol === 'lsp' ? encodeContentLength(text) : encodeLine(text);
}

function encodeViolation(violation: ViolationRecord): Uint8Array {
  if (violation.error === undefined) return EMPTY;
  // The server's own error objects: nothing in them fails to serialize.
  return responseBytes(framingOf(violation.protocol), null, undefined, violation.error);
}

function framingOf(protocol: Protocol | undefined): JsonFraming {
  return protocol === 'lsp' ? 'lsp' : 'jsonrpc';
}
