/**
 * What the server sends its clients of its own accord (PROTOCOL.md 6), for one
 * handle() subscription: notifications, requests waiting for the client's answer
 * (with their ids, limits and timeouts), and each connection's session object.
 * Nothing is kept for a connection until it is asked for: a connection that never
 * gets a server request or opens its session costs nothing here.
 * @module
 */
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Connection } from '../../src/core/connection.js';
import {
  ConnectionClosedError,
  RpcError,
  ServerRequestTimeoutError,
  TooManyServerRequestsError,
  WriteBackpressureError,
} from '../../src/core/errors.js';
import type { MessageRecord, PipelineRecord, Protocol, ResponseRecord, ServerRequestOptions } from '../../src/core/records.js';

/** The limits of PROTOCOL.md 6.3, and the output bound notify() and request() keep to. */
export interface OutboxLimits {
  /** Server requests waiting for one connection's answers (default 64). */
  readonly maxServerRequests: number;
  /** Default time a server request waits for its answer (default 30000 ms). */
  readonly serverRequestTimeoutMs: number;
  /** Unsent output past which nothing more is sent to a connection (the server's `writeHighWaterBytes`). */
  readonly maxUnsentBytes: number;
}

/** How a client's answer matched: a waiting request, one given up (late: dropped), or none ever sent. */
export type Matched = 'settled' | 'late' | 'unknown';

/** Where a connection's messages go: its protocol, and for MCP1 whether payloads are JSON. */
export interface Destination {
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly json: boolean;
}

interface Waiting {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: Subscription | undefined;
  /** Removes the abort listeners. */
  release: () => void;
}

/** What one connection has here, made on first need. */
interface ConnectionOut {
  nextId: number;
  readonly waiting: Map<string | number, Waiting>;
  /** Ids given up lately, whose late answers are dropped (bounded). */
  readonly givenUp: Array<string | number>;
  session: Record<string, unknown> | undefined;
}

/** Late answers recognized per connection: the last this many ids given up. */
const GIVEN_UP_KEPT = 64;

export class Outbox {
  private readonly connections = new Map<Connection, ConnectionOut>();

  constructor(
    /** Sends a record downstream (to the encoders), with the output's error handling. */
    private readonly emit: (record: PipelineRecord) => void,
    private readonly limits: OutboxLimits,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  /** Sends `to` a notification now (throws, sending nothing, on a closed or backed-up connection). */
  notify(to: Destination, method: string, params: unknown): void {
    this.check(to.connection);
    this.emit(message(to, 'notification', undefined, method, params));
  }

  /** Sends `to` a request and waits for its answer (see HandlerContext.request). */
  request(
    to: Destination,
    method: string,
    params: unknown,
    options: ServerRequestOptions = {},
    handlerSignal?: AbortSignal,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const { connection } = to;
      // A client that has finished sending can never answer: refused at once, like a closed one.
      if (connection.inputEnded && !connection.closed) throw new ConnectionClosedError('the client finished sending: it cannot answer');
      this.check(connection);
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      if (handlerSignal?.aborted) return reject(handlerSignal.reason);
      const out = this.of(connection);
      if (out.waiting.size >= this.limits.maxServerRequests) return reject(new TooManyServerRequestsError(this.limits.maxServerRequests));
      const id = this.newId(out, to.protocol);
      const onAbort = (event: Event): void => {
        const reason = (event.target as AbortSignal).reason;
        if (this.finish(connection, id, true)) {
          this.cancelled(to, id);
          reject(reason);
        }
      };
      signal?.addEventListener('abort', onAbort);
      handlerSignal?.addEventListener('abort', onAbort);
      const waiting: Waiting = {
        method,
        resolve,
        reject,
        timer: undefined,
        release: () => {
          signal?.removeEventListener('abort', onAbort);
          handlerSignal?.removeEventListener('abort', onAbort);
        },
      };
      out.waiting.set(id, waiting);
      const ms = options.timeoutMs ?? this.limits.serverRequestTimeoutMs;
      if (ms !== Infinity) {
        waiting.timer = this.scheduler.schedule(() => {
          if (this.finish(connection, id, true)) {
            this.cancelled(to, id);
            reject(new ServerRequestTimeoutError(method, ms));
          }
        }, ms);
      }
      this.emit(message(to, 'request', id, method, params));
    });
  }

  /** Settles the server request a client's answer is for. */
  answer(response: ResponseRecord): Matched {
    const out = this.connections.get(response.connection);
    const id = response.id;
    if (out === undefined || id === null) return 'unknown';
    const waiting = out.waiting.get(id);
    if (waiting === undefined) return out.givenUp.includes(id) ? 'late' : 'unknown';
    this.finish(response.connection, id, false);
    if (response.error !== undefined) waiting.reject(new RpcError(response.error.code, response.error.message, response.error.data));
    else waiting.resolve(response.result);
    return 'settled';
  }

  /** `connection`'s session object, made on first use. */
  session(connection: Connection): Record<string, unknown> {
    const out = this.of(connection);
    return (out.session ??= {});
  }

  /**
   * The client sends nothing more (its FIN): no request waiting on it can be
   * answered, so each is rejected. Its session stays while the connection is open:
   * its handlers still running may use it.
   */
  inputEnded(connection: Connection): void {
    const out = this.connections.get(connection);
    if (out !== undefined) this.rejectAll(out, 'the client finished sending before it answered');
  }

  /** `connection`'s session object if one was made, without making one. */
  openSession(connection: Connection): Record<string, unknown> | undefined {
    return this.connections.get(connection)?.session;
  }

  /** The connection closed: every request waiting on it is rejected; its session goes. */
  drop(connection: Connection): void {
    const out = this.connections.get(connection);
    if (out === undefined) return;
    this.connections.delete(connection);
    this.rejectAll(out, 'the connection closed before the client answered');
  }

  private rejectAll(out: ConnectionOut, why: string): void {
    const error = new ConnectionClosedError(why);
    const waiting = [...out.waiting.values()];
    out.waiting.clear();
    for (const w of waiting) {
      w.timer?.unsubscribe();
      w.release();
      w.reject(error);
    }
  }

  /** handle() was unsubscribed: as if every connection closed. */
  dispose(): void {
    for (const connection of [...this.connections.keys()]) this.drop(connection);
  }

  private check(connection: Connection): void {
    if (connection.closed) throw new ConnectionClosedError('the connection is closed');
    const unsent = connection.writableLength;
    if (unsent > this.limits.maxUnsentBytes) throw new WriteBackpressureError(unsent);
  }

  private of(connection: Connection): ConnectionOut {
    let out = this.connections.get(connection);
    if (out === undefined) {
      out = { nextId: 1, waiting: new Map(), givenUp: [], session: undefined };
      this.connections.set(connection, out);
    }
    return out;
  }

  /** An id no request waiting on the connection has: a string on JSON-RPC, an unsigned 32-bit integer on MCP1. */
  private newId(out: ConnectionOut, protocol: Protocol): string | number {
    for (;;) {
      const n = out.nextId;
      out.nextId = n >= 0xffff_ffff ? 1 : n + 1;
      const id = protocol === 'mcp1' ? n : `s${n}`;
      if (!out.waiting.has(id)) return id;
    }
  }

  /** Forgets a waiting request; `gaveUp` remembers its id for a late answer. False when it was no longer waiting. */
  private finish(connection: Connection, id: string | number, gaveUp: boolean): boolean {
    const out = this.connections.get(connection);
    const waiting = out?.waiting.get(id);
    if (out === undefined || waiting === undefined) return false;
    out.waiting.delete(id);
    waiting.timer?.unsubscribe();
    waiting.release();
    if (gaveUp) {
      out.givenUp.push(id);
      if (out.givenUp.length > GIVEN_UP_KEPT) out.givenUp.shift();
    }
    return true;
  }

  /** Tells the client a request was given up, where its protocol has a way (PROTOCOL.md 6.1, 6.2). */
  private cancelled(to: Destination, id: string | number): void {
    if (to.connection.closed || (to.protocol !== 'lsp' && to.protocol !== 'mcp1')) return;
    this.emit(message(to, 'cancel', id, undefined, undefined));
  }
}

function message(
  to: Destination,
  kind: MessageRecord['kind'],
  id: string | number | undefined,
  method: string | undefined,
  params: unknown,
): MessageRecord {
  return { type: 'message', connection: to.connection, protocol: to.protocol, kind, id, method, params, json: to.json };
}
