import type { Socket } from 'node:net';
import { Observable } from 'rxjs';
import { ConnectionClosedError, RemoteError } from '../core/errors.js';
import type { RpcErrorObject } from '../core/records.js';
import type { ClientCodec, Incoming } from './codec.js';

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

  constructor(
    private readonly socket: Socket,
    private readonly codec: ClientCodec,
  ) {
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

  /** Ends the connection (after queued writes); pending calls reject with ConnectionClosedError. */
  close(): Promise<void> {
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
  }
}
