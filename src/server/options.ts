import type { SchedulerLike } from 'rxjs';
import { OptionsError } from '../core/errors.js';
import type { Handlers } from '../core/records.js';
import type { IoBackend, ListenTarget, TransportKind } from '../transport/types.js';
import type { ServerLogger } from './logger.js';
import type { PipelineStages } from './stages.js';

/** Per-connection and per-message limits (PROTOCOL.md section 4). */
export interface Limits {
  /** Largest message (JSON value, LSP body, MCP1 payload). Default 1 MiB. */
  readonly maxMessageBytes: number;
  /** Connections past this are accepted and closed at once. Default 10000. */
  readonly maxConnections: number;
  /** A connection that has not sent decisive bytes by then is closed. Default 5000. */
  readonly detectTimeoutMs: number;
  /** A message begun and not finished by then is a slowloris: closed. Default 30000. */
  readonly messageTimeoutMs: number;
  /** Requests in flight per connection before it stops being read. Default 256. */
  readonly maxInFlight: number;
  /** Unsent output per connection before it stops being read. Default 1 MiB. */
  readonly writeHighWaterBytes: number;
  /**
   * Unsent bytes past which a streaming handler's client counts as not reading: the
   * stream is cancelled and answered -32603 (16 x writeHighWaterBytes). Pausing reads
   * bounds answers to requests (maxInFlight), not output that needs no input.
   */
  readonly maxOutputBytes: number;
  /** How long `close()` waits for in-flight requests. Default 10000. */
  readonly drainTimeoutMs: number;
  /** Requests a handler has sent one client and not had answered; past it `ctx.request()` rejects at once (PROTOCOL.md 6.3). Default 64. */
  readonly maxServerRequests: number;
  /** How long `ctx.request()` waits for the client's answer (PROTOCOL.md 6.3). Default 30000. */
  readonly serverRequestTimeoutMs: number;
}

/** The defaults of {@link Limits}, as PROTOCOL.md states them. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxConnections: 10_000,
  detectTimeoutMs: 5_000,
  messageTimeoutMs: 30_000,
  maxInFlight: 256,
  writeHighWaterBytes: 1024 * 1024,
  maxOutputBytes: 16 * 1024 * 1024,
  drainTimeoutMs: 10_000,
  maxServerRequests: 64,
  serverRequestTimeoutMs: 30_000,
});

/** Options of `createServer()`. */
export interface ServerOptions {
  /** Where to listen. Required: the library has no default address. */
  readonly listen: readonly ListenTarget[];
  /** Method name to handler. Give this or `handlersModule`. */
  readonly handlers?: Handlers;
  /**
   * Path or URL of an ESM module whose function exports (named, or the members of a
   * default-exported object) are the handlers. Required with `workers`.
   */
  readonly handlersModule?: string;
  /** Run the handlers module in this many worker threads (0 or absent: inline). */
  readonly workers?: number;
  /** Default `'auto'`: native where the addon loads, else node:net. */
  readonly transport?: TransportKind | 'auto';
  /** Native transport on Linux: io_uring or epoll (see {@link IoBackend}). Default `'auto'`. */
  readonly ioBackend?: IoBackend;
  readonly limits?: Partial<Limits>;
  /** File mode of Unix socket files that do not set their own. Default 0o600. */
  readonly socketMode?: number;
  /** Every listener expects a PROXY protocol header (listeners may also set it alone). */
  readonly proxyProtocol?: boolean;
  /**
   * Answer the `rpc.stats` method with `server.stats()`, or with what this function
   * returns (a server of several processes answers for all of them). Off by default.
   */
  readonly exposeStats?: boolean | (() => unknown);
  /** Handlers running at once across all connections. Default unlimited. */
  readonly concurrency?: number;
  /** Rewrites the default stage list: insert, replace or remove named stages. */
  readonly pipeline?: (stages: PipelineStages) => PipelineStages;
  /** Scheduler of the operators' timers (tests pass a virtual one). Default async. */
  readonly scheduler?: SchedulerLike;
  /**
   * Where the server reports errors it survives: a crashed worker, a broken
   * pipeline, and a `HandlerError` for each handler that failed unexpectedly (it
   * threw something other than an `RpcError`, or its result could not be encoded;
   * the caller was answered -32603 with no detail). Default: one line each on
   * stderr, handler failures at most ten a second and the rest counted
   * (`stderrErrorLog()`).
   *
   * @example
   * ```ts
   * onError(error) {
   *   if (error instanceof HandlerError) log.warn({ method: error.method, cause: error.cause }, error.message);
   *   else log.error(error);
   * }
   * ```
   */
  readonly onError?: (error: unknown) => void;
  /**
   * Where the server logs (a pino `Logger` fits): its listeners, drain and stop at
   * info; handler failures at warn with `method` and `code` (rate-limited, as the
   * stderr lines are) unless `onError` is given; connections opening and closing
   * and protocol violations at debug, only when `isLevelEnabled('debug')` is true
   * at start. Nothing per request. Default: none (only the stderr lines of `onError`'s default).
   *
   * @example
   * ```ts
   * const server = await createServer({ listen: [{ port: 7070 }], handlers, logger: pino() });
   * ```
   */
  readonly logger?: ServerLogger;
}

/** Fills in the default limits and rejects values that cannot work. */
export function resolveLimits(given: Partial<Limits> | undefined): Limits {
  const stated = stripUndefined(given ?? {});
  const limits = { ...DEFAULT_LIMITS, ...stated };
  // The hard output limit follows a changed high-water mark unless it is given too.
  if (stated.maxOutputBytes === undefined) limits.maxOutputBytes = 16 * limits.writeHighWaterBytes;
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value > 0) || (Number.isFinite(value) && !Number.isInteger(value))) {
      throw new OptionsError(`limits.${name} must be a positive integer (got ${String(value)})`);
    }
  }
  return limits;
}

/** Checks the options that `createServer()` cannot default. */
export function validateOptions(options: ServerOptions): void {
  if (!Array.isArray(options.listen) || options.listen.length === 0) {
    throw new OptionsError('listen must name at least one Unix socket or TCP port');
  }
  if (options.handlers === undefined && options.handlersModule === undefined) {
    throw new OptionsError('give handlers or handlersModule');
  }
  if (options.handlers !== undefined && options.handlersModule !== undefined) {
    throw new OptionsError('give handlers or handlersModule, not both');
  }
  const workers = options.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) {
    throw new OptionsError(`workers must be a non-negative integer (got ${String(options.workers)})`);
  }
  if (workers > 0 && options.handlersModule === undefined) {
    throw new OptionsError('workers need handlersModule: handler functions cannot be sent to a worker thread');
  }
  if (options.concurrency !== undefined && !(options.concurrency >= 1)) {
    throw new OptionsError(`concurrency must be at least 1 (got ${String(options.concurrency)})`);
  }
  if (
    options.socketMode !== undefined &&
    !(Number.isInteger(options.socketMode) && options.socketMode >= 0 && options.socketMode <= 0o777)
  ) {
    throw new OptionsError(`socketMode must be a file mode between 0 and 0o777 (got ${String(options.socketMode)})`);
  }
  options.listen.forEach((target, i) => {
    if ('port' in target || target.allowUids === undefined) return;
    const uids: unknown = target.allowUids;
    // An empty list lists nobody, yet the native listener reads it as "no check": refuse it rather than fail open.
    if (!Array.isArray(uids) || uids.length === 0) {
      throw new OptionsError(`listen[${i}].allowUids must list at least one uid (omit it to accept every uid)`);
    }
    for (const uid of uids) {
      if (!Number.isInteger(uid) || uid < 0 || uid > 0xfffffffe) {
        throw new OptionsError(`listen[${i}].allowUids: ${String(uid)} is not a uid`);
      }
    }
  });
}

/** The listen targets with the server-wide `socketMode` and `proxyProtocol` applied. */
export function listenTargets(options: ServerOptions): ListenTarget[] {
  return options.listen.map((target) => {
    const proxyProtocol = target.proxyProtocol ?? options.proxyProtocol ?? false;
    if ('unix' in target) return { ...target, mode: target.mode ?? options.socketMode ?? 0o600, proxyProtocol };
    return { ...target, proxyProtocol };
  });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
