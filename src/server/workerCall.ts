/**
 * The main thread's side of one handler call in a worker (src/server/workerChannel.mjs
 * is the worker's): its result, its stream, its cancellation, and the handler's
 * notifications, requests and session writes, done here with the real `ctx`.
 * docs/WORKERS.md says what crosses and when.
 * @module
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { Observable, type Subscriber } from 'rxjs';
import { Context } from '../../operators/codec/calls.js';
import { RpcError } from '../core/errors.js';
import type { HandlerContext, RpcErrorObject } from '../core/records.js';
import { ErrorCode } from '../core/wire/jsonrpc.js';

/**
 * How long a cancelled handler in a worker may take to honour its `ctx.signal`
 * before its worker is terminated (a CPU-bound handler never looks at it).
 */
export const CANCEL_GRACE_MS = 1000;

/**
 * How a worker tells a handler's failure (anything thrown but an RpcError): its
 * message and stack, for the main thread to report; the caller gets -32603 alone.
 */
interface WorkerFailure {
  readonly message: string;
  readonly stack?: string;
}

/** The task's result; `posted` counts the messages the worker posted on the port before it. */
type TaskResult = ({ value: unknown } | { error: RpcErrorObject } | { failure: WorkerFailure }) & { posted?: number };
type Settled = TaskResult | { stream: true };

/** An error as it crosses threads: an RpcError's numeric code, a ringwire error's string code, or neither. */
interface ErrorShape {
  readonly name?: string;
  readonly code?: number | string;
  readonly message: string;
  readonly data?: unknown;
}

/** From the worker: its stream, and what its handler sends through ctx. */
type FromWorker =
  | { t: 'stream' }
  | { t: 'item'; v: unknown }
  | { t: 'end' }
  | { t: 'error'; e: RpcErrorObject }
  | { t: 'failure'; f: WorkerFailure }
  | { t: 'notify'; m: string; p?: unknown }
  | { t: 'request'; i: number; m: string; p?: unknown; ms?: number }
  | { t: 'cancel'; i: number }
  | { t: 'set'; k: string; v: unknown }
  | { t: 'delete'; k: string };

/** The main thread's own ending of a stream: the worker died, or a notification was refused. */
type Fail = { t: 'fail'; error: unknown };

/** To the worker. */
type ToWorker =
  | { t: 'abort'; e?: ErrorShape }
  | { t: 'refused'; e: ErrorShape }
  | { t: 'answer'; i: number; v: unknown }
  | { t: 'reject'; i: number; e: ErrorShape };

/** One handler call in a worker: its port, its cancellation, its stream, its messages. */
export class WorkerCall {
  readonly result: Promise<unknown>;
  private resolve!: (value: unknown) => void;
  private reject!: (error: unknown) => void;
  private readonly port: MessagePort;
  private readonly force = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  /** Port messages handled: an answer waits until every message posted before it is. */
  private received = 0;
  private answer: TaskResult | undefined;
  private streaming = false;
  /** The caller cancelled (or went away): a dead worker then answers -32800, as a cancel does. */
  private cancelled = false;
  /** The worker was told to stop (cancelled, or a notification refused): what it sends is no longer acted on. */
  private stopped = false;
  /** The port is closed: the call is over. */
  private closed = false;
  /** Piscina settled the task: the worker is free (or gone). */
  private taskDone = false;
  private buffered: Array<FromWorker | Fail> = [];
  private subscriber: Subscriber<unknown> | undefined;
  /** The handler's server requests waiting here, by the worker's id; aborting one gives it up. */
  private requests: Map<number, AbortController> | undefined;

  constructor(
    piscina: Piscina,
    method: string,
    params: unknown,
    private readonly ctx: HandlerContext,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.result = new Promise<unknown>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (ctx.signal.aborted) this.cancel();
    else ctx.signal.addEventListener('abort', this.cancel);
    const task = {
      method,
      params,
      peer: { ...ctx.peer },
      listener: ctx.listener,
      notification: ctx.notification,
      session: snapshot(ctx),
      port: port2,
    };
    const run = piscina.run(task, { transferList: [port2] as never, signal: this.force.signal }) as Promise<Settled>;
    port1.on('message', (m: FromWorker) => this.receive(m));
    run.then(
      (r) => this.settled(r),
      (cause: unknown) => this.died(cause),
    );
  }

  /** Fires the worker-side ctx.signal; a handler that ignores it loses its worker after CANCEL_GRACE_MS. */
  private readonly cancel = (): void => {
    if (this.closed || this.cancelled) return;
    this.cancelled = true;
    // A microtask later, so that the outcomes of the handler's server requests that the
    // same event settled go first (a closed connection rejects them, then aborts the
    // call): the worker's requests reject as inline ones do, not with the abort.
    queueMicrotask(() => {
      const signal = this.ctx.signal;
      this.stop(signal.aborted ? { t: 'abort', e: shapeOf(signal.reason) } : { t: 'abort' });
    });
  };

  private stop(message: ToWorker): void {
    if (this.stopped || this.closed) return;
    this.stopped = true;
    this.port.postMessage(message);
    this.giveUpRequests();
    if (this.taskDone) {
      // Its answer was waiting for earlier messages, which no longer matter.
      this.answer = undefined;
      return this.close();
    }
    this.graceTimer = setTimeout(() => this.force.abort(), CANCEL_GRACE_MS);
    this.graceTimer.unref();
  }

  private receive(m: FromWorker): void {
    this.received++;
    if (this.stopped || this.closed) return;
    if (m.t === 'stream') {
      this.streaming = true;
      this.resolve(this.stream());
    } else if (this.streaming && this.subscriber === undefined) this.buffered.push(m);
    else this.handle(m);
    this.answerIfDrained();
  }

  private handle(m: FromWorker | Fail): void {
    switch (m.t) {
      case 'notify':
      case 'request':
      case 'cancel':
      case 'set':
      case 'delete':
        if (this.stopped || this.closed) return;
        try {
          this.act(m);
        } catch (error) {
          // Here in a port listener, where a throw would be uncaught: the call fails instead.
          this.refuse(error);
        }
        return;
      case 'stream':
        return;
      default:
        this.deliver(m);
    }
  }

  /** Does on this thread what the handler asked for in its worker. */
  private act(m: Extract<FromWorker, { t: 'notify' | 'request' | 'cancel' | 'set' | 'delete' }>): void {
    switch (m.t) {
      case 'notify':
        return this.ctx.notify(m.m, m.p);
      case 'request':
        return this.request(m.i, m.m, m.p, m.ms);
      case 'cancel': {
        const controller = this.requests?.get(m.i);
        this.requests?.delete(m.i);
        return controller?.abort();
      }
      case 'set': {
        const value = { value: m.v, writable: true, enumerable: true, configurable: true };
        Object.defineProperty(this.ctx.session, m.k, value);
        return;
      }
      case 'delete':
        delete this.ctx.session[m.k];
    }
  }

  private request(id: number, method: string, params: unknown, timeoutMs: number | undefined): void {
    const controller = new AbortController();
    (this.requests ??= new Map()).set(id, controller);
    const options = timeoutMs === undefined ? { signal: controller.signal } : { signal: controller.signal, timeoutMs };
    this.ctx.request(method, params, options).then(
      (v) => this.reply(id, { t: 'answer', i: id, v }),
      (error: unknown) => this.reply(id, { t: 'reject', i: id, e: shapeOf(error) }),
    );
  }

  /** Posts a server request's outcome, unless the worker gave it up or the call is over. */
  private reply(id: number, message: ToWorker & { i: number }): void {
    if (this.requests?.delete(id) !== true || this.closed) return;
    try {
      this.port.postMessage(message);
    } catch (error) {
      this.port.postMessage({ t: 'reject', i: id, e: shapeOf(error) });
    }
  }

  /**
   * A notification (or a session write) could not be done here: the call fails with
   * that error, as the handler's uncaught throw would inline, and the worker is told
   * to stop (its ctx.signal aborts with the error; its next notify throws it).
   */
  private refuse(error: unknown): void {
    this.stop({ t: 'refused', e: shapeOf(error) });
    if (this.streaming) this.deliver({ t: 'fail', error });
    else this.reject(error);
  }

  private settled(r: Settled): void {
    this.taskOver();
    if (this.closed) return;
    if ('stream' in r) {
      // Items and 'end' may still be on their way over the port; a stopped stream sends no 'end'.
      if (this.stopped) this.close();
      return;
    }
    this.answer = r;
    if (this.stopped) this.answerNow(r);
    else this.answerIfDrained();
  }

  private answerIfDrained(): void {
    const r = this.answer;
    if (r !== undefined && this.received >= (r.posted ?? 0)) this.answerNow(r);
  }

  private answerNow(r: TaskResult): void {
    this.answer = undefined;
    this.close();
    if ('error' in r) this.reject(workerError(r.error));
    else if ('failure' in r) this.reject(failureError(r.failure));
    else this.resolve(r.value);
  }

  private died(cause: unknown): void {
    this.taskOver();
    if (this.closed) return;
    // The worker died (process.exit, an uncaught throw) or was terminated after the grace
    // period. Not an RpcError: handle() answers -32603 and reports it, unless cancelled.
    const error = this.cancelled ? new RpcError(ErrorCode.RequestCancelled, 'Request cancelled') : cause;
    if (this.streaming) this.deliver({ t: 'fail', error });
    this.close();
    this.reject(error);
  }

  private stream(): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      this.subscriber = subscriber;
      for (const m of this.buffered.splice(0)) this.handle(m);
      return () => {
        this.subscriber = undefined;
        if (!this.closed) this.cancel();
      };
    });
  }

  private deliver(m: FromWorker | Fail): void {
    const subscriber = this.subscriber;
    if (subscriber === undefined) {
      if (!this.closed) this.buffered.push(m);
      return;
    }
    if (m.t === 'item') return subscriber.next(m.v);
    if (m.t !== 'end' && m.t !== 'error' && m.t !== 'failure' && m.t !== 'fail') return;
    this.close();
    if (m.t === 'end') subscriber.complete();
    else subscriber.error(m.t === 'fail' ? m.error : m.t === 'failure' ? failureError(m.f) : workerError(m.e));
  }

  /** The call is over: nothing more is taken from the port, and the handler's server requests are given up. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.signal.removeEventListener('abort', this.cancel);
    this.port.close();
    this.giveUpRequests();
  }

  /** The worker is done with the task. Until then a stopped handler may still need terminating, answered or not. */
  private taskOver(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.taskDone = true;
  }

  /** Aborts the handler's waiting server requests: the client is told where its protocol can be (PROTOCOL.md 6). */
  private giveUpRequests(): void {
    const requests = this.requests;
    this.requests = undefined;
    for (const controller of requests?.values() ?? []) controller.abort();
  }
}

/**
 * A copy of the connection's session for the worker (undefined when there is none
 * or it is empty). A value that cannot cross threads (a function an inline handler
 * stored) is left out rather than failing the call.
 */
function snapshot(ctx: HandlerContext): Record<string, unknown> | undefined {
  const session = Context.openSession(ctx);
  if (session === undefined) return undefined;
  const keys = Object.keys(session);
  if (keys.length === 0) return undefined;
  try {
    return structuredClone(session);
  } catch {
    const copy: Record<string, unknown> = {};
    for (const key of keys) {
      try {
        Object.defineProperty(copy, key, { value: structuredClone(session[key]), writable: true, enumerable: true, configurable: true });
      } catch {
        // Not cloneable: the worker does not see it.
      }
    }
    return copy;
  }
}

/** An error as the worker rebuilds it (workerChannel.mjs errorFrom). */
function shapeOf(error: unknown): ErrorShape {
  if (error instanceof RpcError) return error.toJSON();
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { name: error.name, code, message: error.message } : { name: error.name, message: error.message };
  }
  return { message: String(error) };
}

/** An RpcError to answer with, as the handler threw it in its worker. */
function workerError(error: RpcErrorObject): RpcError {
  return new RpcError(error.code, error.message, error.data);
}

/** A handler's failure in its worker, as an Error here: handle() answers -32603 and reports it. */
function failureError(failure: WorkerFailure): Error {
  const error = new Error(failure.message);
  if (failure.stack !== undefined) error.stack = failure.stack;
  return error;
}
