/**
 * handle()'s bookkeeping: one `Call` per request from arrival to its final reply,
 * the `HandlerContext` a handler sees, and the per-connection table of calls in
 * flight that cancels, duplicate ids and disconnects look up.
 * @module
 */
import type { Subscription } from 'rxjs';
import type { Connection } from '../../src/core/connection.js';
import type { Handler, HandlerContext, RequestRecord, ServerRequestOptions } from '../../src/core/records.js';
import type { Destination, Outbox } from '../internal/outbox.js';

/** One request from arrival to its final reply: queued, then running. */
export class Call {
  done = false;
  started = false;
  /** In the in-flight registry (only calls that did not answer at once). */
  registered = false;
  aborted = false;
  abortReason: unknown = undefined;
  controller: AbortController | undefined = undefined;
  /** The handler's Observable, or the scheduled call of the handler. */
  subscription: Subscription | undefined = undefined;
  /** JSON-RPC stream values, answered as one array. */
  items: unknown[] | undefined = undefined;
  /** The next call with the same id on the same connection (JSON-RPC allows duplicates). */
  next: Call | undefined = undefined;
  constructor(
    /** Runs the handler (a scheduled call finds its way back through this), and sends to its caller. */
    readonly owner: { run(call: Call): void; readonly outbox: Outbox },
    readonly record: RequestRecord,
    readonly handler: Handler,
  ) {}

  /** Fires the signal (now, or when first asked for) and unsubscribes the handler's work. */
  abort(reason: unknown): void {
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.unsubscribe();
  }
}

/** What the handler sees; the signal and peer are made only when asked for. */
export class Context implements HandlerContext {
  readonly #call: Call;
  #peer: HandlerContext['peer'] | undefined = undefined;
  constructor(call: Call) {
    this.#call = call;
  }
  get signal(): AbortSignal {
    const call = this.#call;
    if (call.controller === undefined) {
      call.controller = new AbortController();
      if (call.aborted) call.controller.abort(call.abortReason);
    }
    return call.controller.signal;
  }
  get peer(): HandlerContext['peer'] {
    const connection = this.#call.record.connection;
    return (this.#peer ??= { ...connection.peer, proxied: connection.proxied });
  }
  get method(): string {
    return this.#call.record.method;
  }
  get listener(): string {
    return this.#call.record.connection.listener.name;
  }
  get notification(): boolean {
    return this.#call.record.notification;
  }
  notify(method: string, params?: unknown): void {
    const call = this.#call;
    call.owner.outbox.notify(destination(call.record), method, params);
  }
  request(method: string, params?: unknown, options?: ServerRequestOptions): Promise<unknown> {
    const call = this.#call;
    return call.owner.outbox.request(destination(call.record), method, params, options, this.signal);
  }
  get session(): Record<string, unknown> {
    return this.#call.owner.outbox.session(this.#call.record.connection);
  }

  /**
   * The session of `ctx`'s connection if one was made, without making one: the
   * worker pool copies it to every call, and most connections never have one.
   * Any other HandlerContext gives its `session`.
   */
  static openSession(ctx: HandlerContext): Record<string, unknown> | undefined {
    return #call in ctx ? ctx.#call.owner.outbox.openSession(ctx.#call.record.connection) : ctx.session;
  }
}

/** Where a request's caller is sent to: its connection, in its protocol and (MCP1) payload encoding. */
function destination(record: RequestRecord): Destination {
  return { connection: record.connection, protocol: record.protocol, json: record.json === true };
}

/**
 * Calls in flight, per connection, by id: a plain Map per busy connection,
 * deleted when its last call leaves. Same-id calls (JSON-RPC allows them) chain
 * through `Call.next` in arrival order; notifications are keyed by their own Call,
 * which no JSON or MCP1 id can equal.
 */
/** Past this many connections with work, emptied maps are freed at once. */
const MAX_IDLE_MAPS = 1024;

export class InFlight {
  private readonly connections = new Map<Connection, Map<unknown, Call>>();

  /** The earliest call with `id` on `connection` (notifications are never found). */
  first(connection: Connection, id: unknown): Call | undefined {
    return this.connections.get(connection)?.get(id);
  }

  add(call: Call): void {
    const { connection, id, notification } = call.record;
    let slots = this.connections.get(connection);
    if (slots === undefined) this.connections.set(connection, (slots = new Map()));
    const key = notification ? call : id;
    const head = slots.get(key);
    if (head === undefined) {
      slots.set(key, call);
      return;
    }
    let tail = head;
    while (tail.next !== undefined) tail = tail.next;
    tail.next = call;
  }

  remove(call: Call): void {
    const { connection, id, notification } = call.record;
    const slots = this.connections.get(connection);
    if (slots === undefined) return;
    const key = notification ? call : id;
    const head = slots.get(key);
    if (head === call) {
      if (call.next === undefined) slots.delete(key);
      else slots.set(key, call.next);
    } else {
      for (let before = head; before !== undefined; before = before.next) {
        if (before.next === call) {
          before.next = call.next;
          break;
        }
      }
    }
    // An empty map stays while its connection has work: a request at a time would
    // otherwise allocate a Map each. takeConnection() frees it at the connection's end.
    if (slots.size === 0 && this.connections.size > MAX_IDLE_MAPS) this.connections.delete(connection);
  }

  /** Forgets every call of `connection` and returns them. */
  /** Frees `connection`'s map if nothing of it is in flight. */
  forgetIfIdle(connection: Connection): void {
    if (this.connections.get(connection)?.size === 0) this.connections.delete(connection);
  }

  takeConnection(connection: Connection): Call[] {
    const slots = this.connections.get(connection);
    if (slots === undefined) return [];
    this.connections.delete(connection);
    return chains(slots.values());
  }

  /** Forgets every call and returns them. */
  takeAll(): Call[] {
    const calls: Call[] = [];
    for (const slots of this.connections.values()) calls.push(...chains(slots.values()));
    this.connections.clear();
    return calls;
  }
}

function chains(heads: Iterable<Call>): Call[] {
  const calls: Call[] = [];
  for (const head of heads) for (let call: Call | undefined = head; call !== undefined; call = call.next) calls.push(call);
  return calls;
}
