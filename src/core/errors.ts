/**
 * Errors: RpcError and ringwire's own error classes. Every class has a stable `code` to branch on; messages are for people.
 * @module
 */
import { ErrorCode } from './wire/jsonrpc.js';

/**
 * Thrown by a handler to answer with a specific JSON-RPC error.
 *
 * @example
 * ```ts
 * const handlers = {
 *   divide([a, b]: number[]) {
 *     if (b === 0) throw new RpcError(ErrorCode.InvalidParams, 'Division by zero', { b });
 *     return a / b;
 *   },
 * };
 * ```
 */
/**
 * Marks every RpcError, of every copy of ringwire in a process (a registered
 * symbol), so that one thrown by a handler that imported another copy is still an
 * answer and not a failure.
 */
export const RPC_ERROR_BRAND: unique symbol = Symbol.for('ringwire.RpcError');

export class RpcError extends Error {
  /** The JSON-RPC error code written on the wire. */
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
  /** See {@link RPC_ERROR_BRAND}. */
  get [RPC_ERROR_BRAND](): true {
    return true;
  }

  /** The wire form `{code, message, data?}`. */
  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Base of ringwire's own (non-RPC) errors. */
export class RingwireError extends Error {
  /** Stable, e.g. `RINGWIRE_ADDRESS_IN_USE`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A Unix socket path already has a live server behind it. */
export class AddressInUseError extends RingwireError {
  constructor(path: string) {
    super('RINGWIRE_ADDRESS_IN_USE', `${path} is in use by a running server`);
  }
}

/** A Unix socket path exists and is not a socket; ringwire never removes it. */
export class NotASocketError extends RingwireError {
  constructor(path: string) {
    super('RINGWIRE_NOT_A_SOCKET', `${path} exists and is not a socket; refusing to remove it`);
  }
}

/** A listener could not be opened (bind, listen). `errno` is the system's name, e.g. `EACCES`. */
export class ListenError extends RingwireError {
  readonly errno: string;
  constructor(target: string, errno: string, message: string) {
    super('RINGWIRE_LISTEN_FAILED', `cannot listen on ${target}: ${message}`);
    this.errno = errno;
  }
}

/** The native addon could not be loaded or built. */
export class NativeUnavailableError extends RingwireError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('RINGWIRE_NATIVE_UNAVAILABLE', `native transport unavailable: ${reason}`, options);
  }
}

/** `ioBackend: 'io_uring'` was asked for and the kernel does not allow it; the message says why. */
export class IoBackendUnavailableError extends RingwireError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('RINGWIRE_IO_URING_UNAVAILABLE', reason, options);
  }
}

/** A feature that the chosen transport does not have (e.g. `allowUids` on net). */
export class UnsupportedError extends RingwireError {
  constructor(message: string) {
    super('RINGWIRE_UNSUPPORTED', message);
  }
}

/** A server process of several (`--processes`, serveProcesses) ended or stayed silent before it listened. */
export class ProcessStartError extends RingwireError {
  constructor(message: string) {
    super('RINGWIRE_PROCESS_START_FAILED', message);
  }
}

/** Invalid options given to a ringwire function. */
export class OptionsError extends RingwireError {
  constructor(message: string) {
    super('RINGWIRE_INVALID_OPTIONS', message);
  }
}

/** The connection closed: before the answer came (client), or before a server request or notification could go out (server). */
export class ConnectionClosedError extends RingwireError {
  constructor(message = 'connection closed') {
    super('RINGWIRE_CONNECTION_CLOSED', message);
  }
}

/**
 * A handler's `ctx.notify()` or `ctx.request()` found its caller not reading what it
 * was sent: the connection's unsent output is over `writeHighWaterBytes`. Nothing
 * was sent; wait and try again, or give up.
 */
export class WriteBackpressureError extends RingwireError {
  constructor(unsent: number) {
    super('RINGWIRE_WRITE_BACKPRESSURE', `the client is not reading: ${unsent} bytes unsent`);
  }
}

/** `ctx.request()`: the client did not answer within `serverRequestTimeoutMs`. */
export class ServerRequestTimeoutError extends RingwireError {
  constructor(method: string, ms: number) {
    super('RINGWIRE_SERVER_REQUEST_TIMEOUT', `the client did not answer ${method} within ${ms} ms`);
  }
}

/** `ctx.request()`: `maxServerRequests` requests are already waiting for this client's answers; nothing was sent. */
export class TooManyServerRequestsError extends RingwireError {
  constructor(limit: number) {
    super('RINGWIRE_TOO_MANY_SERVER_REQUESTS', `${limit} requests to this client are already waiting for answers`);
  }
}

/** A message cannot be sent to a connection whose protocol is not yet known (PROTOCOL.md 6.3). */
export class ProtocolUnknownError extends RingwireError {
  constructor() {
    super('RINGWIRE_PROTOCOL_UNKNOWN', 'the connection has not shown its protocol yet: nothing can be sent to it');
  }
}

/**
 * Client side: the server answered with an error object. It is the client's
 * {@link RpcError}, so both sides read alike: `code` is the JSON-RPC code (a
 * number), `message` and `data` are the server's, `toJSON()` gives the wire object.
 *
 * @example
 * ```ts
 * try {
 *   await client.call('divide', [1, 0]);
 * } catch (error) {
 *   if (error instanceof RemoteError && error.code === ErrorCode.InvalidParams) console.log(error.message, error.data);
 *   else throw error;
 * }
 * ```
 */
export class RemoteError extends RpcError {
  constructor(error: { code: number; message: string; data?: unknown }) {
    super(error.code, error.message, error.data);
    this.name = 'RemoteError';
  }

  /**
   * The JSON-RPC code, as `code` gives it.
   * @deprecated Read `code`: RemoteError was once a RingwireError, whose `code` is a string.
   */
  get rpcCode(): number {
    return this.code;
  }
}

/**
 * A handler failed unexpectedly: it threw (or rejected, or its Observable errored)
 * with something other than an {@link RpcError}, or its result could not be
 * encoded. The caller was answered -32603 "Internal error" with no detail; this is
 * what the server passes to `onError` so that the failure is seen. The original
 * error is the `cause` (its stack included); nothing of it went on the wire.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   listen: [{ port: 7070 }],
 *   handlers,
 *   onError(error) {
 *     if (error instanceof HandlerError) console.warn(`${error.method} failed: ${error.message}`);
 *   },
 * });
 * ```
 */
export class HandlerError extends RingwireError {
  /** The method whose handler failed. */
  readonly method: string;
  /** The JSON-RPC code the caller was answered with (-32603). */
  readonly rpcCode: number;
  constructor(method: string, cause: unknown, rpcCode: number = ErrorCode.InternalError) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('RINGWIRE_HANDLER_FAILED', `handler ${method} failed: ${why}`, { cause });
    this.method = method;
    this.rpcCode = rpcCode;
  }
}

/**
 * Metrics snapshots that cannot be added up: their latency histograms have
 * different bucket bounds (snapshots from different ringwire versions).
 */
export class MetricsMergeError extends RingwireError {
  constructor(message: string) {
    super('RINGWIRE_METRICS_MERGE', message);
  }
}
