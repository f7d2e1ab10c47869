/**
 * The demo handlers of PROTOCOL.md section 5: what `ringwire serve` answers when
 * it is given no handlers module, so any client can try a server at once.
 *
 * @example
 * ```ts
 * import { createServer, demoHandlers } from 'ringwire';
 * const server = await createServer({ listen: [{ port: 7070 }], handlers: demoHandlers });
 * ```
 * @module
 */
import { Observable } from 'rxjs';
import { RpcError } from '../core/errors.js';
import type { HandlerContext, Handlers } from '../core/records.js';
import { ErrorCode } from '../core/wire/jsonrpc.js';

/** `[x]` gives `x`; anything else is returned as given. */
export function echo(params: unknown): unknown {
  return Array.isArray(params) && params.length === 1 ? params[0] : params;
}

/** The sum of an array of numbers; -32602 where any member is not a number. */
export function sum(params: unknown): number {
  if (!Array.isArray(params)) throw new RpcError(ErrorCode.InvalidParams, 'Invalid params', 'expected an array of numbers');
  let total = 0;
  for (const value of params) {
    if (typeof value !== 'number') throw new RpcError(ErrorCode.InvalidParams, 'Invalid params', 'expected an array of numbers');
    total += value;
  }
  return total;
}

/** Always `"pong"`. */
export function ping(): string {
  return 'pong';
}

/** Answers `ms` after `ms` milliseconds; a cancelled request stops waiting at once. */
export function sleep(params: unknown, ctx: HandlerContext): Promise<number> {
  const ms = Array.isArray(params) ? params[0] : undefined;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    return Promise.reject(new RpcError(ErrorCode.InvalidParams, 'Invalid params', 'expected [ms]'));
  }
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      ctx.signal.removeEventListener('abort', onAbort);
      resolve(ms);
    }, ms);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Always throws a plain Error: the client sees -32603 "Internal error", no stack. */
export function fail(): never {
  throw new Error('fail: this handler always fails');
}

/** The demo is for trying a server, not for loading it: a stream is at most this long. */
const MAX_DEMO_STREAM = 1_000_000;

/** The values 0 .. n-1 as a stream: MCP1 stream items; an array in JSON-RPC. */
export function stream(params: unknown): Observable<number> {
  const n = Array.isArray(params) ? params[0] : undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_DEMO_STREAM) {
    throw new RpcError(ErrorCode.InvalidParams, 'Invalid params', `expected [n], n an integer from 0 to ${MAX_DEMO_STREAM}`);
  }
  return new Observable<number>((subscriber) => {
    for (let i = 0; i < n && !subscriber.closed; i++) subscriber.next(i);
    subscriber.complete();
  });
}

/**
 * The caller as `ctx.peer` sees it: `{listener, family}`, plus `address` and `port`
 * (TCP), `uid` and `pid` (Unix, where known), and `proxied: {address, port}` when a
 * PROXY header carried the client's own address.
 */
export function whoami(_params: unknown, ctx: HandlerContext): Record<string, unknown> {
  const { peer } = ctx;
  const me: Record<string, unknown> = { listener: ctx.listener, family: peer.family };
  if (peer.family === 'unix') {
    if (peer.uid !== undefined) me.uid = peer.uid;
    if (peer.pid !== undefined) me.pid = peer.pid;
  } else {
    me.address = peer.address;
    me.port = peer.port;
  }
  if (peer.proxied !== undefined) me.proxied = { address: peer.proxied.address, port: peer.proxied.port };
  return me;
}

/** The longest countdown: the demo is for trying a server, not for loading it. */
const MAX_COUNTDOWN = 1000;

/**
 * Sends the caller `n` notifications `countdown` with params `[n-1]` … `[0]`, then
 * answers `"done"` (all of them written before the answer).
 */
export function countdown(params: unknown, ctx: HandlerContext): string {
  const n = Array.isArray(params) ? params[0] : undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_COUNTDOWN) {
    throw new RpcError(ErrorCode.InvalidParams, 'Invalid params', `expected [n], n an integer from 0 to ${MAX_COUNTDOWN}`);
  }
  for (let i = n - 1; i >= 0; i--) ctx.notify('countdown', [i]);
  return 'done';
}

/**
 * Sends the caller a request `method` with `params` and answers with its result;
 * the caller's error comes back as an error with the same code and message.
 */
export async function ask(params: unknown, ctx: HandlerContext): Promise<unknown> {
  const [method, args] = Array.isArray(params) ? params : [];
  if (typeof method !== 'string' || (args !== undefined && (typeof args !== 'object' || args === null))) {
    throw new RpcError(ErrorCode.InvalidParams, 'Invalid params', 'expected [method, params?], params an array or object');
  }
  try {
    return await ctx.request(method, args);
  } catch (error) {
    // By its numeric code, not instanceof: in a worker thread the client's error is not this module's RpcError.
    if (error instanceof Error && Number.isInteger((error as { code?: unknown }).code)) {
      throw new RpcError((error as RpcError).code, error.message);
    }
    throw error;
  }
}

function cancelled(): RpcError {
  return new RpcError(ErrorCode.RequestCancelled, 'Request cancelled');
}

/** All demo handlers, by method name. */
export const demoHandlers: Handlers = { echo, sum, ping, sleep, fail, stream, whoami, countdown, ask };

export default demoHandlers;
