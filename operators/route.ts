import type { OperatorFunction } from 'rxjs';
import type { Handler, Handlers, PipelineRecord, RequestRecord } from '../src/core/records.js';
import { replyError } from '../src/core/replies.js';
import { METHOD_NOT_FOUND } from '../src/core/wire/jsonrpc.js';
import { HandleSpec } from './handle.js';
import { fusable, stage } from './internal/fusion.js';

/**
 * Finds each request's handler. A RequestRecord whose `method` is an own
 * property of `handlers` holding a function goes on with `handler` set; any other
 * becomes a final -32601 "Method not found" reply (for a notification, a final
 * `silent` reply: notifications are never answered). Inherited names such as
 * `constructor`, `toString` or `__proto__` are never handlers.
 * Requests that already have a handler, and all other records, pass through.
 *
 * ```
 * in:   --a--b--|     a = request 'echo';  b = request 'nope' id 2
 * route({ echo })
 * out:  --A--e--|     A = a with handler echo;  e = reply id 2 error -32601, final
 * ```
 *
 * @example
 * ```ts
 * const handlers = {
 *   echo([x]: unknown[]) {
 *     return x;
 *   },
 * };
 * requests$.pipe(route(handlers), handle()).subscribe(write);
 * ```
 * @param handlers Method name to handler.
 * @return An operator: RequestRecord → RequestRecord (with handler) | ReplyRecord.
 */
export function route(handlers: Handlers): OperatorFunction<PipelineRecord, PipelineRecord> {
  return fusable({
    // Right before handle(), the two are one stage (HandleSpec.routedBy).
    fuse: (next) => (next instanceof HandleSpec ? next.routedBy(() => handlerFinder(handlers)) : undefined),
    create: (out) => {
      const find = handlerFinder(handlers);
      return stage(out, (record) => {
        out.next(record.type === 'request' && record.handler === undefined ? resolve(find(record.method), record) : record);
      });
    },
  });
}

/**
 * `handlers[method]` when it is an own function property, remembering the last
 * method found. A decoded method name is a new string every request, and looking
 * a new string up as a property name makes V8 hash it and search its string table
 * (measured: about a tenth of a request's JS). Comparing it to the last name is a
 * few bytes; the remembered handler is checked against `handlers` with the
 * remembered, internalized name, so a handler replaced or removed later is seen.
 */
function handlerFinder(handlers: Handlers): (method: string) => Handler | undefined {
  let lastMethod: string | undefined;
  let lastHandler: Handler | undefined;
  return (method) => {
    if (method === lastMethod && handlers[lastMethod] === lastHandler && Object.hasOwn(handlers, lastMethod)) return lastHandler;
    const value = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    if (typeof value !== 'function') return undefined;
    lastMethod = method;
    lastHandler = value;
    return value;
  };
}

function resolve(handler: Handler | undefined, request: RequestRecord): PipelineRecord {
  // Spelled out rather than spread: a spread copy costs several times more per request
  // and gives every routed record a shape of its own.
  if (typeof handler === 'function') {
    return {
      type: 'request',
      connection: request.connection,
      protocol: request.protocol,
      id: request.id,
      notification: request.notification,
      method: request.method,
      params: request.params,
      batch: request.batch,
      json: request.json,
      handler,
    };
  }
  return replyError(request, METHOD_NOT_FOUND);
}
