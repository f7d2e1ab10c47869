import { type Observable, pipe, type SchedulerLike } from 'rxjs';
import {
  contentLengthFrames,
  decodeJsonRpc,
  decodeMcp1,
  detectProtocol,
  encodeJsonRpc,
  encodeMcp1,
  handle,
  jsonFrames,
  mcp1Frames,
  type Outgoing,
  proxyProtocol,
  route,
} from '../../operators/index.js';
import type { Connection } from '../core/connection.js';
import { HandlerError } from '../core/errors.js';
import type { Handlers, ResponseRecord } from '../core/records.js';
import type { Limits } from './options.js';
import type { PipelineStages } from './stages.js';

/** What the default pipeline is built from. */
export interface DefaultStagesInput {
  readonly handlers: Handlers;
  readonly limits: Limits;
  /** Include the `proxyProtocol` stage (some listener expects PROXY headers). */
  readonly proxyProtocol: boolean;
  /** Connections that closed: handle() aborts their in-flight handlers. */
  readonly disconnects: Observable<Connection>;
  readonly concurrency?: number;
  readonly scheduler?: SchedulerLike;
  /**
   * Told of each handler that failed unexpectedly and each answer that could not
   * be encoded, as a {@link HandlerError} (the caller was answered -32603).
   */
  readonly onError?: (error: unknown) => void;
  /** Called for each client answer that matches no server request (counted in the server's stats). */
  readonly onUnmatchedResponse?: (response: ResponseRecord) => void;
  /** Lets the server send to connections (`server.notify()`) through the `handle` stage. */
  readonly outgoing?: Outgoing;
}

/**
 * The server's default pipeline, as named stages in data-path order
 * (docs/ARCHITECTURE.md). The `handle` stage is route() + handle(); createServer()
 * wraps whatever stage is named `handle` in the backpressure() that counts
 * requests in flight (`limits.maxInFlight`).
 *
 * @example
 * ```ts
 * const stages = defaultStages({ handlers, limits: resolveLimits({}), proxyProtocol: false, disconnects: NEVER });
 * console.log(stages.map((s) => s.name).join(' → '));
 * ```
 */
export function defaultStages(input: DefaultStagesInput): PipelineStages {
  const { limits, scheduler, onError } = input;
  const framing = { maxMessageBytes: limits.maxMessageBytes, messageTimeoutMs: limits.messageTimeoutMs, scheduler };
  // Only failures reach these: a request that succeeds makes no HandlerError, nor any call.
  const onFailure =
    onError === undefined
      ? undefined
      : (method: string | undefined, error: unknown) => onError(new HandlerError(method ?? '(unknown)', error));
  const handling = pipe(
    route(input.handlers),
    handle({
      concurrency: input.concurrency ?? Infinity,
      disconnects: input.disconnects,
      maxStreamBacklogBytes: limits.maxOutputBytes,
      onFailure,
      maxServerRequests: limits.maxServerRequests,
      serverRequestTimeoutMs: limits.serverRequestTimeoutMs,
      maxUnsentBytes: limits.writeHighWaterBytes,
      onUnmatchedResponse: input.onUnmatchedResponse,
      outgoing: input.outgoing,
    }),
  );
  const stages: PipelineStages = [
    { name: 'detectProtocol', operator: detectProtocol({ timeoutMs: limits.detectTimeoutMs, scheduler }) },
    { name: 'mcp1Frames', operator: mcp1Frames(framing) },
    { name: 'decodeMcp1', operator: decodeMcp1() },
    { name: 'contentLengthFrames', operator: contentLengthFrames(framing) },
    // Next to its decoder, jsonFrames() fuses with it (operators/internal/fusion.ts).
    { name: 'jsonFrames', operator: jsonFrames(framing) },
    { name: 'decodeJsonRpc', operator: decodeJsonRpc() },
    { name: 'handle', operator: handling },
    { name: 'encodeMcp1', operator: encodeMcp1({ onFailure }) },
    { name: 'encodeJsonRpc', operator: encodeJsonRpc({ onFailure }) },
  ];
  if (!input.proxyProtocol) return stages;
  // The PROXY header's wait is the detection wait: one limit for a connection's first bytes.
  return [{ name: 'proxyProtocol', operator: proxyProtocol({ timeoutMs: limits.detectTimeoutMs, scheduler }) }, ...stages];
}
