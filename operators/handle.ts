import {
  isObservable,
  type Observable,
  type OperatorFunction,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
  takeWhile,
} from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import { OptionsError, RPC_ERROR_BRAND, RpcError } from '../src/core/errors.js';
import type {
  CancelRecord,
  Handler,
  PipelineRecord,
  ReplyRecord,
  RequestRecord,
  ResponseRecord,
  RpcErrorObject,
  ServerRequestOptions,
} from '../src/core/records.js';
import { answer, replyError } from '../src/core/replies.js';
import { ErrorCode, INTERNAL_ERROR, METHOD_NOT_FOUND, REQUEST_CANCELLED } from '../src/core/wire/jsonrpc.js';
import { Call, Context, InFlight } from './codec/calls.js';
import { type Chain, fusable, type Sink, type Stage, type StageSpec } from './internal/fusion.js';
import { type Destination, Outbox } from './internal/outbox.js';

/** Options of {@link handle}. */
export interface HandleOptions {
  /** Handlers running at once, over all connections; the rest wait in arrival order. Default Infinity. */
  readonly concurrency?: number;
  /** Connections that went away: their in-flight handlers are aborted and answer nothing. */
  readonly disconnects?: Observable<Connection>;
  /** Where handlers are called: synchronously by default; e.g. `asapScheduler` to let a whole read batch decode first. */
  readonly scheduler?: SchedulerLike;
  /**
   * JSON-RPC answers a stream with ONE array of all its values, held until the stream
   * ends: past this many values the stream is cancelled and the request answered
   * -32603, so that one request cannot exhaust the server's memory. Default 100,000.
   */
  readonly maxCollectedItems?: number;
  /**
   * MCP1 streams: when a stream item finds more than this many bytes still unsent to
   * its client (`connection.writableLength`), the client is not keeping up; the stream
   * is cancelled and answered -32603 instead of buffered for without bound.
   * Default Infinity (the server passes `limits.maxOutputBytes`).
   */
  readonly maxStreamBacklogBytes?: number;
  /**
   * Called once for each handler that failed unexpectedly: it threw, rejected, or
   * its Observable errored with anything that is not an `RpcError`, so its caller
   * was answered -32603 "Internal error" and nothing of `error` went on the wire.
   * An `RpcError` is an answer, not a failure, and a request cancelled or dropped
   * with its connection is not reported either (whatever its handler then throws).
   * Called after the -32603 reply has gone downstream; a throw from it errors the
   * output, as a throw inside any operator does. Never called for a request that
   * succeeds: reporting costs nothing until something fails. With it, every reply
   * also carries its request's `method`, so that an encoder's `onFailure` can name
   * the method of an answer that cannot be encoded.
   *
   * @example
   * ```ts
   * handle({ onFailure: (method, error) => console.warn(`${method} failed`, error) })
   * ```
   */
  readonly onFailure?: (method: string, error: unknown) => void;
  /** Server requests waiting for one connection's answers; past it `ctx.request()` rejects at once (PROTOCOL.md 6.3). Default 64. */
  readonly maxServerRequests?: number;
  /** How long `ctx.request()` waits for the client's answer by default (PROTOCOL.md 6.3). Default 30000. */
  readonly serverRequestTimeoutMs?: number;
  /**
   * Unsent output (`connection.writableLength`) past which `ctx.notify()` and
   * `ctx.request()` send nothing and throw `WriteBackpressureError`. Default
   * Infinity (the server passes `writeHighWaterBytes`).
   */
  readonly maxUnsentBytes?: number;
  /**
   * Called for each client answer that matches no server request waiting on its
   * connection (or one given up, whose answer came late). JSON-RPC drops them
   * (PROTOCOL.md 6.1); an MCP1 answer to a request never sent is a frame violation
   * and closes the connection (6.2), a late one is dropped.
   */
  readonly onUnmatchedResponse?: (response: ResponseRecord) => void;
  /** Lets code outside the pipeline send to connections through this handle() (`Outgoing`). */
  readonly outgoing?: Outgoing;
}

/**
 * A way in from outside the pipeline: notifications and requests to any connection
 * whose protocol is known, sent through the handle() it is given to (so ordered
 * with that connection's other output and encoded as it is). The server's
 * `server.notify()` is one.
 *
 * @example
 * ```ts
 * const outgoing = new Outgoing();
 * records$.pipe(decodeJsonRpc(), route(handlers), handle({ outgoing }), encodeJsonRpc()).subscribe(write);
 * outgoing.notify({ connection, protocol: 'jsonrpc', json: false }, 'tools/list_changed');
 * ```
 */
export class Outgoing {
  /** The outbox of the handle() subscription it is attached to. */
  outbox: Outbox | undefined = undefined;

  /** Sends a notification now; throws as `ctx.notify()` does, or when no handle() is subscribed. */
  notify(to: Destination, method: string, params?: unknown): void {
    this.attached().notify(to, method, params);
  }

  /** Sends a request and waits for its answer, as `ctx.request()` does. */
  request(to: Destination, method: string, params?: unknown, options?: ServerRequestOptions): Promise<unknown> {
    return this.attached().request(to, method, params, options);
  }

  private attached(): Outbox {
    if (this.outbox === undefined) throw new OptionsError('no handle() with this Outgoing is subscribed');
    return this.outbox;
  }
}

/** What a client that answers a request never sent is told, before its connection closes (PROTOCOL.md 6.2). */
const UNEXPECTED_RESPONSE = Object.freeze({ code: ErrorCode.InvalidRequest, message: 'Response to no request' });

/** The error of a stream whose client stopped reading it. */
const STREAM_BACKLOG = Object.freeze({
  code: ErrorCode.InternalError,
  message: 'Internal error',
  data: 'stream cancelled: the client is not reading it',
});

/** The error of a JSON-RPC stream cut off at maxCollectedItems. */
const STREAM_TOO_LONG = Object.freeze({
  code: ErrorCode.InternalError,
  message: 'Internal error',
  data: 'stream too long to answer as one array',
});

/**
 * Runs each routed request's handler and answers it with exactly one `final`
 * ReplyRecord (backpressure() counts these):
 *
 * - a value, or a Promise / thenable of one: `result`;
 * - a thrown or rejected `RpcError`: its code, message and data; anything else
 *   thrown: -32603 "Internal error", with no message or stack on the wire, and
 *   the error handed to `options.onFailure`;
 * - an Observable: on MCP1 each value is an `item` reply, then a final `result`
 *   with no value; on JSON-RPC one final `result` holding the array of all values;
 * - a notification: one final `silent` reply, whatever the handler did.
 *
 * `ctx.signal` aborts, and the handler's Observable is unsubscribed, when a
 * CancelRecord names the request (answered -32800 "Request cancelled" unless the
 * answer already went out), when its connection ends closed (an `end` record with
 * `connection.closed`) or is emitted by `options.disconnects` (then nothing more is
 * answered), and when handle() itself is unsubscribed. On MCP1 an id already in
 * flight on the same connection is refused with -32600; JSON-RPC allows
 * duplicates, and a cancel then targets the earliest. Like
 * `mergeMap(…, concurrency)`, handlers beyond `concurrency` wait their turn.
 * Requests without a handler, and other records, pass through; cancel records are
 * consumed.
 *
 * ```
 * in:   --a--b--c--|      a = request 'sum' [1,2] id 1;  b = request 'ticks' id 2 (an Observable 0,1);  c = cancel id 9
 * handle()
 * out:  --A--(xyz)-|      A = result 3 final;  x, y = items 0, 1 (MCP1);  z = result final
 * ```
 *
 * @example
 * ```ts
 * const handlers = {
 *   async sleep([ms]: [number], { signal }: HandlerContext) {
 *     await setTimeout(ms, undefined, { signal });
 *     return ms;
 *   },
 * };
 * frames$.pipe(decodeJsonRpc(), route(handlers), handle({ concurrency: 64 }), encodeJsonRpc());
 * ```
 * @param options See {@link HandleOptions}.
 * @return An operator: RequestRecord (with handler) | CancelRecord → ReplyRecord.
 */
export function handle(options: HandleOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const concurrency = options.concurrency ?? Infinity;
  if (!(concurrency >= 1)) throw new OptionsError(`handle(): concurrency must be at least 1, got ${concurrency}`);
  return fusable(new HandleSpec(options, concurrency, undefined));
}

/** Finds a request's handler (route()'s lookup), made once per subscription. */
export type HandlerFinder = (method: string) => Handler | undefined;

/**
 * handle() as a stage spec. Right after route(), the two fuse into one stage that
 * looks the handler up and calls it, without the routed copy of each request
 * that route() alone must emit.
 */
export class HandleSpec implements StageSpec {
  constructor(
    private readonly options: HandleOptions,
    private readonly concurrency: number,
    private readonly finder: (() => HandlerFinder) | undefined,
  ) {}

  create(out: Sink, chain: Chain): Stage {
    const options = this.options;
    return new Dispatcher(
      out,
      chain,
      this.concurrency,
      options.scheduler,
      options.maxCollectedItems ?? 100_000,
      options.maxStreamBacklogBytes ?? Infinity,
      options.onFailure,
      options.disconnects,
      this.finder?.(),
      options,
    );
  }

  /** This handle(), routing first as route() would (route()'s fusion with it). */
  routedBy(finder: () => HandlerFinder): HandleSpec | undefined {
    return this.finder === undefined ? new HandleSpec(this.options, this.concurrency, finder) : undefined;
  }
}

/** handle()'s stage: calls in flight, the queue beyond `concurrency`, and their answers. */
class Dispatcher implements Stage {
  private readonly inFlight = new InFlight();
  private readonly queue: Array<Call | undefined> = [];
  private queueHead = 0;
  private active = 0;
  private open = 0;
  private sourceDone = false;
  private draining = false;

  private readonly disconnects: Subscription | undefined;
  /** What handlers send their callers of their own accord (ctx.notify, ctx.request, ctx.session). */
  readonly outbox: Outbox;

  constructor(
    private readonly out: Sink,
    private readonly chain: Chain,
    private readonly concurrency: number,
    private readonly scheduler: SchedulerLike | undefined,
    private readonly maxCollectedItems: number,
    private readonly maxStreamBacklogBytes: number,
    private readonly onFailure: ((method: string, error: unknown) => void) | undefined,
    disconnects: Observable<Connection> | undefined,
    /** Set when fused with route(): requests without a handler are routed here. */
    private readonly find: HandlerFinder | undefined,
    private readonly options: HandleOptions,
  ) {
    this.named = onFailure !== undefined;
    this.outbox = new Outbox((record) => this.emit(record), {
      maxServerRequests: options.maxServerRequests ?? 64,
      serverRequestTimeoutMs: options.serverRequestTimeoutMs ?? 30_000,
      maxUnsentBytes: options.maxUnsentBytes ?? Infinity,
    });
    if (options.outgoing !== undefined) options.outgoing.outbox = this.outbox;
    this.disconnects = disconnects?.subscribe({
      next: (connection) => this.drop(connection),
      error: (err: unknown) => chain.error(err),
    });
  }

  /** Replies carry their method (for the encoders' reports) when failures are reported at all. */
  private readonly named: boolean;

  next(record: PipelineRecord): void {
    if (record.type === 'request') {
      const handler = record.handler ?? this.find?.(record.method);
      if (handler !== undefined) return this.admit(record, handler);
      // Fused with route(): route()'s answer to a method it has no handler for.
      if (this.find !== undefined) return this.out.next(replyError(record, METHOD_NOT_FOUND));
    }
    if (record.type === 'cancel') return this.cancel(record);
    if (record.type === 'response') return this.answered(record);
    if (record.type === 'end') {
      // The client sends nothing more: no server request of its can be answered.
      this.outbox.inputEnded(record.connection);
      if (record.connection.closed) this.drop(record.connection);
      else this.inFlight.forgetIfIdle(record.connection);
    }
    this.out.next(record);
  }

  complete(): void {
    this.sourceDone = true;
    this.maybeComplete();
  }

  error(error: unknown): void {
    this.out.error(error);
  }

  /**
   * Passes an answer on. Answers also leave from a handler's promise, stream or a
   * scheduled call, outside any call of `next`: a throw downstream must error the
   * output there too, never reach the handler's code.
   */
  private emit(record: PipelineRecord): void {
    try {
      this.out.next(record);
    } catch (error) {
      this.chain.error(error);
    }
  }

  /** A client answered a request the server sent it (PROTOCOL.md 6). */
  private answered(response: ResponseRecord): void {
    const matched = this.outbox.answer(response);
    if (matched === 'settled') return;
    this.options.onUnmatchedResponse?.(response);
    // An MCP1 answer to nothing ever sent is a frame violation (6.2); JSON-RPC's are dropped (6.1).
    if (matched === 'unknown' && response.protocol === 'mcp1') {
      this.emit({
        type: 'violation',
        connection: response.connection,
        protocol: 'mcp1',
        reason: 'unexpected-response',
        error: UNEXPECTED_RESPONSE,
      });
    }
  }

  /** Aborts every call of `connection`; none of them answers. Its server requests are rejected. */
  drop(connection: Connection): void {
    this.outbox.drop(connection);
    const calls = this.inFlight.takeConnection(connection);
    if (calls.length === 0) return;
    for (const call of calls) {
      this.retire(call);
      call.abort(undefined);
    }
    this.drain();
    this.maybeComplete();
  }

  dispose(): void {
    this.disconnects?.unsubscribe();
    this.outbox.dispose();
    if (this.options.outgoing?.outbox === this.outbox) this.options.outgoing.outbox = undefined;
    for (const call of this.inFlight.takeAll()) {
      call.done = true;
      call.abort(undefined);
    }
    this.queue.length = 0;
  }

  private admit(record: RequestRecord, handler: Handler): void {
    if (record.protocol === 'mcp1' && !record.notification && this.inFlight.first(record.connection, record.id) !== undefined) {
      const data = `id ${String(record.id)} is already in flight on this connection`;
      this.emit(reply(record, this.named, 'error', undefined, { code: ErrorCode.InvalidRequest, message: 'Invalid Request', data }));
      return;
    }
    const call = new Call(this, record, handler);
    this.open++;
    if (this.active < this.concurrency && this.queueHead === this.queue.length) this.start(call);
    else {
      // A queued call can be cancelled (or dropped with its connection) before it runs.
      this.register(call);
      this.queue.push(call);
      this.drain();
    }
  }

  private cancel(record: CancelRecord): void {
    const call = this.inFlight.first(record.connection, record.id);
    if (call === undefined) return; // already answered, or never seen: nothing to do
    this.retire(call);
    call.abort(new RpcError(REQUEST_CANCELLED.code, REQUEST_CANCELLED.message));
    this.emit(reply(call.record, this.named, 'error', undefined, REQUEST_CANCELLED));
    this.drain();
    this.maybeComplete();
  }

  private start(call: Call): void {
    call.started = true;
    this.active++;
    if (this.scheduler === undefined) this.run(call);
    else {
      // Runs later: cancellable (and a duplicate id detectable) until then.
      this.register(call);
      call.subscription = this.scheduler.schedule(runScheduled, 0, call);
    }
  }

  run(call: Call): void {
    call.subscription = undefined;
    let value: unknown;
    try {
      value = call.handler(call.record.params, new Context(call));
    } catch (err) {
      this.fail(call, err);
      return;
    }
    this.settle(call, value);
  }

  private settle(call: Call, value: unknown): void {
    if (call.done) return;
    if (isObservable(value)) {
      this.register(call);
      return this.stream(call, value);
    }
    let then: unknown;
    try {
      then = value !== null && (typeof value === 'object' || typeof value === 'function') ? (value as { then?: unknown }).then : undefined;
      if (typeof then === 'function') {
        this.register(call);
        then.call(
          value,
          (resolved: unknown) => this.settle(call, resolved),
          (err: unknown) => this.fail(call, err),
        );
        return;
      }
    } catch (err) {
      this.fail(call, err);
      return;
    }
    this.finish(call, reply(call.record, this.named, 'result', value, undefined));
  }

  private stream(call: Call, values: Observable<unknown>): void {
    const { record } = call;
    const perItem = record.protocol === 'mcp1' && !record.notification;
    let subscription: Subscription;
    try {
      // takeWhile closes the producer's subscriber once the call is over, which also
      // stops a synchronous producer: its Subscription does not exist until it returns.
      subscription = values.pipe(takeWhile(() => !call.done)).subscribe({
        next: (value) => {
          if (call.done || record.notification) return;
          if (perItem) {
            if (record.connection.writableLength > this.maxStreamBacklogBytes) {
              this.finish(call, reply(record, this.named, 'error', undefined, STREAM_BACKLOG));
              call.abort(undefined);
              return;
            }
            this.emit(reply(record, this.named, 'item', value, undefined, false));
          } else if ((call.items ??= []).push(value) > this.maxCollectedItems) {
            // finish() unsubscribes the stream (it runs on: retire marks the call done).
            this.finish(call, reply(record, this.named, 'error', undefined, STREAM_TOO_LONG));
            call.abort(undefined);
          }
        },
        error: (err: unknown) => this.fail(call, err),
        complete: () => this.finish(call, reply(record, this.named, 'result', perItem ? undefined : (call.items ?? []), undefined)),
      });
    } catch (err) {
      // An interop Observable (isObservable accepts any object with subscribe and lift) may throw.
      this.fail(call, err);
      return;
    }
    if (call.done) subscription.unsubscribe();
    else call.subscription = subscription;
  }

  private fail(call: Call, err: unknown): void {
    // A cancelled or dropped call is done already: what its handler throws then is no failure.
    if (call.done) return;
    const error = errorObject(err);
    // finish(), with the report between the answer and a completion it may bring.
    this.retire(call);
    this.emit(reply(call.record, this.named, 'error', undefined, error));
    if (error === INTERNAL_ERROR && this.onFailure !== undefined) {
      try {
        this.onFailure(call.record.method, err);
      } catch (thrown) {
        // Here from a promise's callback too, where a throw would be an unhandled rejection.
        this.out.error(thrown);
        return;
      }
    }
    this.drain();
    this.maybeComplete();
  }

  private finish(call: Call, answer: ReplyRecord): void {
    if (call.done) return;
    this.retire(call);
    this.emit(answer);
    this.drain();
    this.maybeComplete();
  }

  /**
   * Makes an unfinished call findable by cancel and disconnect. A handler that answers
   * at once is never registered: most calls then cost no map work at all.
   */
  private register(call: Call): void {
    if (call.registered || call.done) return;
    call.registered = true;
    this.inFlight.add(call);
  }

  /** Marks the call answered and forgets it. */
  private retire(call: Call): void {
    call.done = true;
    this.open--;
    if (call.started) this.active--;
    if (call.registered) this.inFlight.remove(call);
  }

  private drain(): void {
    // Re-entered from a handler that answers synchronously: the loop below goes on.
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.active < this.concurrency && this.queueHead < this.queue.length) {
        const call = this.queue[this.queueHead]!;
        this.queue[this.queueHead++] = undefined;
        if (!call.done) this.start(call);
      }
      if (this.queueHead === this.queue.length) {
        // Setting length is a runtime call even when it changes nothing: most drains find the queue empty.
        if (this.queueHead !== 0) {
          this.queue.length = 0;
          this.queueHead = 0;
        }
      } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
    } finally {
      this.draining = false;
    }
  }

  private maybeComplete(): void {
    if (this.sourceDone && this.open === 0) this.out.complete();
  }
}

function runScheduled(this: SchedulerAction<Call>, call: Call): void {
  if (!call.done) call.owner.run(call);
}

/**
 * An RpcError is an answer, from whichever copy of ringwire the handler imported (a
 * package of handlers may carry its own): every copy's RpcError carries the same
 * registered symbol. An error that merely looks like one (a gRPC error's numeric
 * `code`) is a failure, whose message must not reach the wire.
 */
function isRpcError(err: unknown): err is { code: number; message: string; data?: unknown } {
  return err instanceof RpcError || (typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[RPC_ERROR_BRAND] === true);
}

function errorObject(err: unknown): RpcErrorObject {
  if (!isRpcError(err) || typeof err.code !== 'number' || typeof err.message !== 'string') return INTERNAL_ERROR;
  return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
}

function reply(
  record: RequestRecord,
  named: boolean,
  kind: ReplyRecord['kind'],
  result: unknown,
  error: RpcErrorObject | undefined,
  final = true,
): ReplyRecord {
  // Always `method`'s field, so that every reply has one shape; named only where failures are reported.
  return answer(record, kind, result, error, final, named ? record.method : undefined);
}
