import { Observable, type OperatorFunction } from 'rxjs';
import type { Batch, PipelineRecord, Protocol, ReplyRecord, ViolationRecord } from '../src/records.js';
import { responseJson, safeResponseJson } from './codec/jsonrpc.js';
import { resultLine } from './codec/resultLine.js';
import { encodeContentLength, encodeLine } from './codec/utf8.js';
import { INTERNAL_ERROR } from './codec/wire.js';
import { hop } from './internal/hop.js';

/**
 * Encodes JSON-RPC replies (`protocol` `'jsonrpc'` or `'lsp'`) into the bytes to
 * write: NDJSON (`…\n`) on `jsonrpc` connections, `Content-Length` framing on
 * `lsp` ones.
 *
 * - `result`: `{"jsonrpc":"2.0","id":…,"result":…}` (undefined becomes null);
 *   `error`: `{"jsonrpc":"2.0","id":…,"error":{"code","message","data"?}}`;
 * - a value JSON cannot hold (BigInt, a cycle) becomes -32603 "Internal error";
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
 * @return An operator: ReplyRecord | ViolationRecord (JSON-RPC) → OutboundRecord.
 */
export function encodeJsonRpc(): OperatorFunction<PipelineRecord, PipelineRecord> {
  return (source) =>
    new Observable<PipelineRecord>((subscriber) =>
      hop(source, subscriber, (record) => {
        if (record.type === 'reply' && record.protocol !== 'mcp1') {
          const bytes = encodeReply(record);
          if (bytes !== undefined) subscriber.next({ type: 'out', connection: record.connection, bytes });
        } else if (record.type === 'violation' && record.protocol !== 'mcp1') {
          subscriber.next({ type: 'out', connection: record.connection, bytes: encodeViolation(record), close: true });
        } else {
          subscriber.next(record);
        }
      }),
    );
}

const EMPTY = new Uint8Array(0);

function encodeReply(reply: ReplyRecord): Uint8Array | undefined {
  if (reply.kind !== 'result' && reply.kind !== 'error') return undefined;
  if (reply.batch !== undefined) return answerBatchMember(reply, reply.batch);
  if (reply.silent) return undefined;
  if (reply.protocol === 'jsonrpc' && reply.error === undefined) {
    let line: Uint8Array | undefined;
    try {
      line = resultLine(reply.id, reply.result);
    } catch {
      // Not serializable (asked once: a toJSON runs once, as it would in responseJson).
      return frame(reply.protocol, responseJson(reply.id, undefined, INTERNAL_ERROR));
    }
    if (line !== undefined) return line;
  }
  return frame(reply.protocol, safeResponseJson(reply.id, reply.result, reply.error));
}

function answerBatchMember(reply: ReplyRecord, batch: Batch): Uint8Array | undefined {
  // A stray second answer for a finished batch must not write it twice.
  if (batch.pending <= 0) return undefined;
  if (!reply.silent) {
    batch.replies.push(reply.error !== undefined ? { id: reply.id, error: reply.error } : { id: reply.id, result: reply.result });
  }
  if (--batch.pending > 0 || batch.replies.length === 0) return undefined;
  let text = '[';
  for (let i = 0; i < batch.replies.length; i++) {
    const member = batch.replies[i]!;
    if (i > 0) text += ',';
    // Serialized member by member: one unserializable result costs only its own answer.
    text += safeResponseJson(member.id, member.result, member.error);
  }
  return frame(reply.protocol, text + ']');
}

function encodeViolation(violation: ViolationRecord): Uint8Array {
  if (violation.error === undefined) return EMPTY;
  return frame(violation.protocol ?? 'jsonrpc', safeResponseJson(null, undefined, violation.error));
}

function frame(protocol: Protocol, text: string): Uint8Array {
  return protocol === 'lsp' ? encodeContentLength(text) : encodeLine(text);
}
