import type { Socket } from 'node:net';
import { filter, Observable, Subject } from 'rxjs';
import { ConnectionClosedError, RemoteError } from '../core/errors.js';
import type { RpcErrorObject } from '../core/records.js';
import type { ClientCodec, Incoming } from './codec.js';
import { type ServerRequestHandler, ServerRequests } from './serverRequests.js';

/** A notification from the server (PROTOCOL.md 6): `params` as sent, undefined when there were none. */
export interface ServerNotification {
  readonly method: string;
  readonly params: unknown;
}

/** Options of `client.call()`. */
export interface CallOptions {
  /** Aborting rejects the call with the signal's reason and tells the server to cancel it. */
  readonly signal?: AbortSignal;
}

/** One request waiting for its answer. */
interface Pending {
  /** Items of an MCP1 stream (collected for `call()`, forwarded for `stream()`). */
  item(value: unknown): void;
  done(message: Incoming): void;
  fail(error: Error): void;
}

const MAX_ID = 0xffff_ffff;

/**
 * A pipelined connection to a ringwire server (or any JSON-RPC 2.0 server):
 * requests go out at once, answers are paired to them by id in whatever order
 * they come. Made by `connect()`.
 */
export class RpcClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastServerError: RpcErrorObject | undefined;
  private closedError: ConnectionClosedError | undefined;
  private readonly notifications = new Subject<ServerNotification>();
  private readonly serverRequests: ServerRequests;

  /**
   * Every notification the server sends, in the order it sent them, from the
   * moment of subscribing (it is hot: nothing is replayed). Completes when the
   * connection closes. A subscriber that throws is reported as RxJS reports
   * unhandled errors; the others still get the notification.
   *
   * @example
   * ```ts
   * client.notifications$.subscribe(({ method, params }) => console.log(method, params));
   * await client.call('countdown', [3]); // countdown [2], countdown [1], countdown [0], then 'done'
   * ```
   */
  readonly notifications$: Observable<ServerNotification> = this.notifications.asObservable();

  constructor(
    private readonly socket: Socket,
    private readonly codec: ClientCodec,
  ) {
    this.serverRequests = new ServerRequests(codec, (bytes) => this.write(bytes));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows and reports it
    socket.on('close', () => this.onClose());
  }

  /** True once the connection is closed; calls then reject at once. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /**
   * Calls `method` and resolves with its result. An error reply rejects with a
   * `RemoteError` (an `RpcError`: its `code` is the JSON-RPC code). Over MCP1 a streaming
   * method resolves with the array of its items, as JSON-RPC answers it.
   *
   * @example
   * ```ts
   * const client = await connect('tcp://127.0.0.1:7070', { protocol: 'jsonrpc' });
   * console.log(await client.call('sum', [1, 2, 3])); // 6
   * ```
   */
  call(method: string, params?: unknown, options: CallOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      const items: unknown[] = [];
      let id = 0;
      const onAbort = () => {
        this.pending.delete(id);
        this.write(this.codec.cancel(id));
        reject(signal!.reason);
      };
      id = this.send(method, params, {
        item: (value) => items.push(value),
        done: (message) => {
          signal?.removeEventListener('abort', onAbort);
          if (message.kind === 'error') reject(new RemoteError(message.error));
          else resolve(items.length > 0 ? items : message.kind === 'result' ? message.value : undefined);
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Sends a notification: the server runs the handler and answers nothing.
   *
   * @example
   * ```ts
   * client.notify('log', ['started']);
   * ```
   */
  notify(method: string, params?: unknown): void {
    if (this.closedError) throw this.closedError;
    this.write(this.codec.notification(method, params));
  }

  /**
   * Calls a streaming method. Over MCP1 each item arrives as it is sent, and
   * unsubscribing early cancels the request on the server; over JSON-RPC the
   * answer is one array, whose members are emitted in turn.
   *
   * @example
   * ```ts
   * client.stream('stream', [3]).subscribe((n) => console.log(n)); // 0, 1, 2
   * ```
   */
  stream(method: string, params?: unknown): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      let finished = false;
      const id = this.send(method, params, {
        item: (value) => subscriber.next(value),
        done: (message) => {
          finished = true;
          if (message.kind === 'error') return subscriber.error(new RemoteError(message.error));
          if (message.kind === 'result' && !this.codec.streamsItems) {
            if (Array.isArray(message.value)) for (const value of message.value) subscriber.next(value);
            else subscriber.next(message.value);
          }
          subscriber.complete();
        },
        fail: (error) => {
          finished = true;
          subscriber.error(error);
        },
      });
      return () => {
        if (finished || !this.pending.delete(id)) return;
        this.write(this.codec.cancel(id));
      };
    });
  }

  /**
   * Calls `listener` with the params of each notification `method` the server
   * sends, in order. Returns a function that stops it. A shorthand for
   * {@link notifications$} filtered by method.
   *
   * @example
   * ```ts
   * const stop = client.onNotification('countdown', (params) => console.log(params)); // [2], [1], [0]
   * await client.call('countdown', [3]);
   * stop();
   * ```
   */
  onNotification(method: string, listener: (params: unknown) => void): () => void {
    const subscription = this.notifications$.pipe(filter((n) => n.method === method)).subscribe((n) => listener(n.params));
    return () => subscription.unsubscribe();
  }

  /**
   * Answers the server's requests for `method` (PROTOCOL.md 6) with `handler`:
   * its result (or what its promise resolves to); an `RpcError` it throws as an
   * error with that code, message and data; anything else it throws as -32603
   * "Internal error". Requests for a method without a handler are answered -32601
   * "Method not found". One handler per method: setting another replaces it.
   * Returns a function that removes the handler (requests already running still
   * get their answer).
   *
   * `ctx.signal` aborts when the server cancels the request (MCP1 cancel frame,
   * `$/cancelRequest` on JSON-RPC; neither reaches `notifications$`) or the
   * connection closes; nothing is written for the request after that.
   *
   * @example
   * ```ts
   * client.onRequest('confirm', async ([question], { signal }) => {
   *   if (typeof question !== 'string') throw new RpcError(ErrorCode.InvalidParams, 'expected [question]');
   *   return await askTheUser(question, { signal });
   * });
   * ```
   */
  onRequest(method: string, handler: ServerRequestHandler): () => void {
    return this.serverRequests.handle(method, handler);
  }

  /** Ends the connection (after queued writes); pending calls reject with ConnectionClosedError, running request handlers abort. */
  close(): Promise<void> {
    // Their answers could not be written once our side has ended.
    this.serverRequests.abortAll(new ConnectionClosedError('connection closed by the client'));
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A server that never closes its side must not keep us waiting.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private send(method: string, params: unknown, pending: Pending): number {
    if (this.closedError) {
      pending.fail(this.closedError);
      return 0;
    }
    const id = this.takeId();
    this.pending.set(id, pending);
    this.write(this.codec.request(id, method, params));
    return id;
  }

  private takeId(): number {
    // MCP1 ids are 32-bit and 0 means "notification": wrap past 2^32-1, skipping ids still pending.
    do {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    } while (this.pending.size < MAX_ID);
    throw new RangeError('every request id is in flight');
  }

  private write(bytes: Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    let messages: Incoming[];
    try {
      messages = this.codec.read(chunk);
    } catch (error) {
      this.closedError = new ConnectionClosedError(`connection closed: unreadable reply (${(error as Error).message})`);
      this.socket.destroy();
      return;
    }
    for (const message of messages) this.dispatch(message);
  }

  private dispatch(message: Incoming): void {
    switch (message.kind) {
      case 'notification':
        return this.notifications.next({ method: message.method, params: message.params });
      case 'request':
        return this.serverRequests.run(message.id, message.method, message.params);
      case 'cancel':
        return this.serverRequests.cancel(message.id);
      case 'invalid':
        return this.serverRequests.refuse(message.id, message.error);
    }
    const id = typeof message.id === 'number' ? message.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending === undefined) {
      // Errors with id null (JSON-RPC) or 0 (MCP1) concern the connection: the server closes it next.
      if (message.kind === 'error' && (message.id === null || message.id === 0)) this.lastServerError = message.error;
      return;
    }
    if (message.kind === 'item') return pending.item(message.value);
    this.pending.delete(id!);
    pending.done(message);
  }

  private onClose(): void {
    const why = this.lastServerError ? `: server said ${this.lastServerError.code} ${this.lastServerError.message}` : '';
    this.closedError ??= new ConnectionClosedError(`connection closed${why}`);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) pending.fail(this.closedError);
    this.serverRequests.abortAll(this.closedError);
    this.notifications.complete();
  }
}
