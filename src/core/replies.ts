/**
 * Answers to requests: the one place a ReplyRecord is made from a RequestRecord,
 * so that every reply has the same fields (batch, json, silence for
 * notifications) and the same shape.
 * @module
 */
import { RpcError } from './errors.js';
import type { ReplyRecord, RequestRecord, RpcErrorObject } from './records.js';

/**
 * Answers `request` with `result`: one `final` reply, ready for the encoders. A
 * notification gets the silent final reply (nothing is written; in-flight counting
 * still balances).
 *
 * @example
 * ```ts
 * const ping: OperatorFunction<PipelineRecord, PipelineRecord> = map((r) =>
 *   r.type === 'request' && r.method === 'ping' ? replyResult(r, 'pong') : r,
 * );
 * ```
 */
export function replyResult(request: RequestRecord, result: unknown): ReplyRecord {
  return answer(request, 'result', result, undefined, true, undefined);
}

/**
 * Answers `request` with an error: an `RpcError` or a `{code, message, data?}`
 * object, written as given. One `final` reply; silent for a notification.
 *
 * @example
 * ```ts
 * if (!allowed.has(r.connection)) return out.next(replyError(r, { code: -32001, message: 'Unauthorized' }));
 * ```
 */
export function replyError(request: RequestRecord, error: RpcError | RpcErrorObject): ReplyRecord {
  const body = error instanceof RpcError ? (error.toJSON() as RpcErrorObject) : error;
  return answer(request, 'error', undefined, body, true, undefined);
}

/**
 * A reply to `request` of any kind. Every field is always present (in this order),
 * so that all replies share one shape; `method` is named where failures are
 * reported (handle()'s `onFailure`).
 */
export function answer(
  request: RequestRecord,
  kind: ReplyRecord['kind'],
  result: unknown,
  error: RpcErrorObject | undefined,
  final: boolean,
  method: string | undefined,
): ReplyRecord {
  const silent = request.notification;
  return {
    type: 'reply',
    connection: request.connection,
    protocol: request.protocol,
    id: request.id,
    kind: silent ? 'result' : kind,
    result: silent ? undefined : result,
    error: silent ? undefined : error,
    final,
    silent: silent ? true : undefined,
    batch: request.batch,
    json: request.json,
    method,
  };
}
