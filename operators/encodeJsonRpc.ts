import type { OperatorFunction } from 'rxjs';
import type { Batch, PipelineRecord, Protocol, ReplyRecord, RpcReplyBody, ViolationRecord } from '../src/core/records.js';
import { INTERNAL_ERROR } from '../src/core/wire/jsonrpc.js';
import { responseJson, safeResponseJson } from './codec/jsonrpc.js';
import { resultLine } from './codec/resultLine.js';
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
  if (reply.protocol === 'jsonrpc' && reply.error === undefined) {
    let line: Uint8Array | undefined;
    try {
      line = resultLine(reply.id, reply.result);
    } catch (error) {
      // Not serializable (asked once: a toJSON runs once, as it would in responseJson).
      onFailure?.(reply.method, error);
      return frame(reply.protocol, responseJson(reply.id, undefined, INTERNAL_ERROR));
    }
    if (line !== undefined) return line;
  }
  return frame(reply.protocol, reportingResponseJson(reply, onFailure));
}

function answerBatchMember(reply: ReplyRecord, batch: Batch, onFailure: OnFailure): Uint8Array | undefined {
  // A stray second answer for a finished batch must not write it twice.
  if (batch.pending <= 0) return undefined;
  if (!reply.silent) {
    const { id, method } = reply;
    batch.replies.push(reply.error !== undefined ? { id, error: reply.error, method } : { id, result: reply.result, method });
  }
  if (--batch.pending > 0 || batch.replies.length === 0) return undefined;
  let text = '[';
  for (let i = 0; i < batch.replies.length; i++) {
    const member = batch.replies[i]!;
    if (i > 0) text += ',';
    // Serialized member by member: one unserializable result costs only its own answer.
    text += reportingResponseJson(member, onFailure);
  }
  return frame(reply.protocol, text + ']');
}

/** safeResponseJson(), telling `onFailure` why a body was answered -32603 instead. */
function reportingResponseJson(body: RpcReplyBody, onFailure: OnFailure): string {
  if (onFailure === undefined) return safeResponseJson(body.id, body.result, body.error);
  try {
    return responseJson(body.id, body.result, body.error);
  } catch (error) {
    onFailure(body.method, error);
    return responseJson(body.id, undefined, INTERNAL_ERROR);
  }
}

function encodeViolation(violation: ViolationRecord): Uint8Array {
  if (violation.error === undefined) return EMPTY;
  return frame(violation.protocol ?? 'jsonrpc', safeResponseJson(null, undefined, violation.error));
}

function frame(protocol: Protocol, text: string): Uint8Array {
  return protocol === 'lsp' ? encodeContentLength(text) : encodeLine(text);
}
