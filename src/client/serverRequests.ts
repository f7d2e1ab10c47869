import { RemoteError, RpcError } from '../core/errors.js';
import type { RpcErrorObject, RpcId } from '../core/records.js';
import { INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, REQUEST_CANCELLED } from '../core/wire/jsonrpc.js';
import type { ClientCodec } from './codec.js';

/** What a handler of the server's requests is given besides the params. */
export interface ServerRequestContext {
  /**
   * Aborts when the server cancels the request (`$/cancelRequest`, MCP1 cancel
   * frame: the reason is a `RemoteError` -32800) or the connection closes (a
   * `ConnectionClosedError`). Nothing is answered after it aborts.
   */
  readonly signal: AbortSignal;
}

/**
 * Answers one method of the server's requests (PROTOCOL.md 6): its return value
 * (or what its promise resolves to) is the result; an `RpcError` thrown (or
 * rejected) is answered with its code, message and data; anything else thrown is
 * answered -32603 "Internal error", without detail.
 */
export type ServerRequestHandler = (params: unknown, ctx: ServerRequestContext) => unknown | Promise<unknown>;

/**
 * The server's requests on one connection: the handlers by method, and the
 * requests whose handlers are running, each answered once unless the server
 * cancels it or the connection closes first.
 */
export class ServerRequests {
  private readonly handlers = new Map<string, ServerRequestHandler>();
  private readonly running = new Map<RpcId, AbortController>();

  constructor(
    private readonly codec: ClientCodec,
    private readonly write: (bytes: Uint8Array) => void,
  ) {}

  /** Sets the handler of `method` (replacing any); returns a function that removes it. */
  handle(method: string, handler: ServerRequestHandler): () => void {
    this.handlers.set(method, handler);
    // Removes only this handler: a later one for the same method stays.
    return () => {
      if (this.handlers.get(method) === handler) this.handlers.delete(method);
    };
  }

  /** Runs the handler of the server's request `id`, and answers it. */
  run(id: RpcId, method: string, params: unknown): void {
    if (this.running.has(id)) {
      // The server broke its own rule (ids unique among its pending requests); the first one is still answered.
      return this.refuse(id, { ...INVALID_REQUEST, data: `id ${JSON.stringify(id)} is already in flight on this connection` });
    }
    const handler = this.handlers.get(method);
    if (handler === undefined) return this.refuse(id, METHOD_NOT_FOUND);
    const controller = new AbortController();
    this.running.set(id, controller);
    new Promise<unknown>((resolve) => resolve(handler(params, { signal: controller.signal }))).then(
      (value) => this.settle(id, controller, () => this.codec.result(id, value)),
      (error: unknown) => this.settle(id, controller, () => this.codec.error(id, errorObjectOf(error))),
    );
  }

  /** Answers a request the client could not take (unreadable, unknown method, duplicate id) with `error`. */
  refuse(id: RpcId, error: RpcErrorObject): void {
    this.answer(id, () => this.codec.error(id, error));
  }

  /** The server gave up on `id`: its handler's signal aborts and its answer is never written. */
  cancel(id: RpcId): void {
    const controller = this.running.get(id);
    if (controller === undefined) return; // answered already, or never asked: ignored, as servers ignore such cancels
    this.running.delete(id);
    controller.abort(new RemoteError(REQUEST_CANCELLED));
  }

  /** The connection is closing: every running handler's signal aborts with `reason`; nothing of them is kept. */
  abortAll(reason: Error): void {
    const controllers = [...this.running.values()];
    this.running.clear();
    for (const controller of controllers) controller.abort(reason);
  }

  private settle(id: RpcId, controller: AbortController, answer: () => Uint8Array): void {
    // Cancelled or closed meanwhile (the id may even be the server's again, for a newer request): not ours to answer.
    if (this.running.get(id) !== controller) return;
    this.running.delete(id);
    this.answer(id, answer);
  }

  /** Writes `encode()`, or -32603 when it cannot be encoded (a BigInt in JSON, a cycle): the server still gets an answer. */
  private answer(id: RpcId, encode: () => Uint8Array): void {
    let bytes: Uint8Array;
    try {
      bytes = encode();
    } catch {
      bytes = this.codec.error(id, INTERNAL_ERROR);
    }
    this.write(bytes);
  }
}

/** The wire error for what a handler threw: an RpcError's own, else -32603 with no detail. */
function errorObjectOf(error: unknown): RpcErrorObject {
  return error instanceof RpcError ? error.toJSON() : INTERNAL_ERROR;
}
