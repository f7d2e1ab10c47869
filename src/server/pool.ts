import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Observable, type Subscriber } from 'rxjs';
import { OptionsError, RpcError } from '../core/errors.js';
import type { Handler, HandlerContext, Handlers, RpcErrorObject } from '../core/records.js';
import { ErrorCode } from '../core/wire/jsonrpc.js';
import { moduleSpecifier } from './handlers.js';

/**
 * How long a cancelled handler in a worker may take to honour its `ctx.signal`
 * before its worker is terminated (a CPU-bound handler never looks at it).
 */
export const CANCEL_GRACE_MS = 1000;

/** A handlers module running in worker threads. */
export interface WorkerPool {
  /** One proxy per method the module exports; each runs the real handler in a worker. */
  readonly handlers: Handlers;
  readonly threads: number;
  /** Ends every worker; calls in flight fail. */
  close(): Promise<void>;
}

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  /** Path or URL of the handlers module (plain JavaScript: workers cannot load .ts). */
  readonly module: string;
  readonly workers: number;
  /** A worker died with nothing in flight. */
  readonly onError?: (error: unknown) => void;
}

/**
 * How a worker tells a handler's failure (anything thrown but an RpcError): its
 * message and stack, for the main thread to report; the caller gets -32603 alone.
 */
interface WorkerFailure {
  readonly message: string;
  readonly stack?: string;
}
type TaskResult = { value: unknown } | { error: RpcErrorObject } | { failure: WorkerFailure } | { stream: true };
/** From the worker: items, 'end', 'error' or 'failure'. 'fail' is the main thread's own: the worker died. */
type StreamMessage =
  | { t: 'item'; v: unknown }
  | { t: 'end' }
  | { t: 'error'; e: RpcErrorObject }
  | { t: 'failure'; f: WorkerFailure }
  | { t: 'fail'; error: unknown };

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

/**
 * Starts `workers` worker threads with Piscina, each importing `module`, and asks
 * one of them for the module's method names (so the module never runs on the main
 * thread). See docs/WORKERS.md.
 *
 * @example
 * ```ts
 * const pool = await createWorkerPool({ module: './heavy-handlers.mjs', workers: 4 });
 * const server = await createServer({ listen: [{ port: 7070 }], handlers: pool.handlers });
 * ```
 */
export async function createWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  const piscina = new Piscina({
    filename: workerFile(),
    minThreads: options.workers,
    maxThreads: options.workers,
    idleTimeout: Number.MAX_SAFE_INTEGER,
    workerData: { module: moduleSpecifier(options.module) },
  });
  // Piscina emits 'error' for a worker that dies with no task; an unheard 'error' would kill the process.
  piscina.on('error', options.onError ?? ((error: unknown) => console.error('ringwire: worker error:', error)));
  let names: unknown;
  try {
    names = await piscina.run({ op: 'methods' });
  } catch (cause) {
    await piscina.destroy();
    throw new OptionsError(`cannot load handlers module ${options.module} in a worker: ${(cause as Error)?.message ?? String(cause)}`);
  }
  if (!Array.isArray(names) || names.length === 0) {
    await piscina.destroy();
    throw new OptionsError(`handlers module ${options.module} exports no functions`);
  }
  const handlers: Record<string, Handler> = {};
  for (const name of names as string[]) handlers[name] = proxy(piscina, name);
  return {
    handlers,
    threads: options.workers,
    close: () => piscina.destroy(),
  };
}

/**
 * The main-thread stand-in for handler `method`. It returns a Promise of the
 * handler's value; a handler that streams in the worker resolves it, at once, to an
 * Observable of the items the worker posts.
 */
function proxy(piscina: Piscina, method: string): Handler {
  return (params: unknown, ctx: HandlerContext) => new WorkerCall(piscina, method, params, ctx).result;
}

/** One handler call in a worker: its port, its cancellation, its stream. */
class WorkerCall {
  readonly result: Promise<unknown>;
  private readonly port: MessagePort;
  private readonly force = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  private streaming = false;
  private finished = false;
  private aborted = false;
  private buffered: StreamMessage[] = [];
  private subscriber: Subscriber<unknown> | undefined;

  constructor(
    piscina: Piscina,
    method: string,
    params: unknown,
    private readonly ctx: HandlerContext,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    if (ctx.signal.aborted) this.abort();
    else ctx.signal.addEventListener('abort', this.abort);
    const task = { method, params, peer: { ...ctx.peer }, notification: ctx.notification, port: port2 };
    const run = piscina.run(task, { transferList: [port2] as never, signal: this.force.signal }) as Promise<TaskResult>;
    this.result = new Promise<unknown>((resolve, reject) => {
      port1.on('message', (m: StreamMessage | { t: 'stream' }) => {
        if (m.t === 'stream') {
          this.streaming = true;
          resolve(this.stream());
        } else this.deliver(m);
      });
      run.then(
        (r) => {
          if ('stream' in r) {
            // Items and 'end' may still be on their way over the port; a cancelled stream sends no 'end'.
            if (this.aborted) this.finish();
            return;
          }
          this.finish();
          if ('error' in r) reject(workerError(r.error));
          else if ('failure' in r) reject(failureError(r.failure));
          else resolve(r.value);
        },
        (cause: unknown) => {
          // The worker died (process.exit, an uncaught throw) or was terminated after the grace
          // period. Not an RpcError: handle() answers -32603 and reports it, unless cancelled.
          const error = this.aborted ? new RpcError(ErrorCode.RequestCancelled, 'Request cancelled') : cause;
          if (this.streaming) this.deliver({ t: 'fail', error });
          this.finish();
          reject(error);
        },
      );
    });
  }

  /** Fires the worker-side ctx.signal; a handler that ignores it loses its worker after CANCEL_GRACE_MS. */
  private readonly abort = (): void => {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    this.port.postMessage('abort');
    this.graceTimer = setTimeout(() => this.force.abort(), CANCEL_GRACE_MS);
    this.graceTimer.unref();
  };

  private stream(): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      this.subscriber = subscriber;
      for (const m of this.buffered.splice(0)) this.deliver(m);
      return () => {
        this.subscriber = undefined;
        if (!this.finished) this.abort();
      };
    });
  }

  private deliver(m: StreamMessage): void {
    const subscriber = this.subscriber;
    if (subscriber === undefined) {
      if (!this.finished) this.buffered.push(m);
      return;
    }
    if (m.t === 'item') return subscriber.next(m.v);
    this.finish();
    if (m.t === 'end') subscriber.complete();
    else subscriber.error(m.t === 'fail' ? m.error : m.t === 'failure' ? failureError(m.f) : workerError(m.e));
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.signal.removeEventListener('abort', this.abort);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.port.close();
  }
}

/** worker.mjs sits beside this file, in src/ and (copied by tsc's allowJs) in dist/. */
function workerFile(): string {
  const beside = new URL('./worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside.href;
  throw new OptionsError(`worker entry not found at ${fileURLToPath(beside)}`);
}
