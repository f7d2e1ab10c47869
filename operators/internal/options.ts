import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Connection } from '../../src/core/connection.js';
import { OptionsError } from '../../src/core/errors.js';
import type { Protocol, RpcErrorObject, ViolationRecord } from '../../src/core/records.js';
import { ErrorCode } from '../../src/core/wire/jsonrpc.js';

/** PROTOCOL.md section 4 defaults. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_MESSAGE_TIMEOUT_MS = 30_000;
export const DEFAULT_DETECT_TIMEOUT_MS = 5_000;

/** Options every framing operator takes. */
export interface FramingOptions {
  /** Largest message accepted, in bytes (default 1 MiB). A larger one is a violation before it is buffered. */
  readonly maxMessageBytes?: number;
  /** A message begun and not finished within this many ms is a silent `message-timeout` violation (default 30000; `Infinity` turns it off). */
  readonly messageTimeoutMs?: number;
  /** Clock and timers for the timeout (default `asyncScheduler`; a TestScheduler in marble specs). */
  readonly scheduler?: SchedulerLike;
}

/** Options of the encoders, encodeJsonRpc() and encodeMcp1(). */
export interface EncodeOptions {
  /**
   * Called once for each reply whose value cannot be encoded (a BigInt JSON cannot
   * hold, a cycle, a throwing `toJSON`, a Symbol): the reply was written as -32603
   * "Internal error" instead, with nothing of `error` on the wire. `method` is the
   * reply's `method` (set by a handle() given `onFailure`; undefined otherwise).
   * Never called for a reply that encodes: reporting costs nothing until one fails.
   *
   * @example
   * ```ts
   * encodeJsonRpc({ onFailure: (method, error) => console.warn(`${method ?? 'a reply'} cannot be encoded`, error) })
   * ```
   */
  readonly onFailure?: (method: string | undefined, error: unknown) => void;
}

/** Framing options with defaults applied and checked. */
export interface ResolvedFraming {
  readonly maxMessageBytes: number;
  readonly messageTimeoutMs: number;
  readonly scheduler: SchedulerLike;
}

export function resolveFraming(operator: string, options: FramingOptions = {}): ResolvedFraming {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 0) {
    throw new OptionsError(`${operator}: maxMessageBytes must be a non-negative integer, got ${String(maxMessageBytes)}`);
  }
  return {
    maxMessageBytes,
    messageTimeoutMs: timeout(operator, 'messageTimeoutMs', options.messageTimeoutMs, DEFAULT_MESSAGE_TIMEOUT_MS),
    scheduler: options.scheduler ?? asyncScheduler,
  };
}

/** Checks a timeout option: a non-negative number of ms, or Infinity for none. */
export function timeout(operator: string, name: string, value: number | undefined, fallback: number): number {
  const ms = value ?? fallback;
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new OptionsError(`${operator}: ${name} must be a non-negative number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

/** A violation record; `error` omitted means the connection is closed silently. */
export function violation(connection: Connection, reason: string, protocol?: Protocol, error?: RpcErrorObject): ViolationRecord {
  if (error === undefined) {
    return protocol === undefined ? { type: 'violation', connection, reason } : { type: 'violation', connection, protocol, reason };
  }
  return protocol === undefined
    ? { type: 'violation', connection, reason, error }
    : { type: 'violation', connection, protocol, reason, error };
}

/** Shared by every violation of its kind, so frozen. */
export const TOO_LARGE: RpcErrorObject = Object.freeze({ code: ErrorCode.InvalidRequest, message: 'Message too large' });
