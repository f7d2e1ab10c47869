import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { finalize, isObservable } from 'rxjs';
import { OptionsError } from '../core/errors.js';
import type { Handler, HandlerContext, Handlers } from '../core/records.js';
import type { LatencyHistogram } from './histogram.js';

/**
 * The URL to import a handlers module from: a `file:`/`data:` URL as given, a
 * path resolved against the working directory, a bare name as a package.
 */
export function moduleSpecifier(spec: string): string {
  if (/^(file|data|node):/.test(spec)) return spec;
  if (isAbsolute(spec) || spec.startsWith('.') || spec.includes('/') || spec.includes('\\')) {
    return pathToFileURL(resolve(spec)).href;
  }
  return spec;
}

/**
 * The handlers of a loaded module: the functions of a default-exported object,
 * then the module's own function exports (which win on a clash).
 */
export function handlersOf(module: Record<string, unknown>): Handlers {
  const out: Record<string, Handler> = {};
  const fallback = module.default;
  if (fallback !== null && typeof fallback === 'object') {
    for (const [name, fn] of Object.entries(fallback)) if (typeof fn === 'function') out[name] = fn as Handler;
  }
  for (const [name, fn] of Object.entries(module)) {
    if (name !== 'default' && typeof fn === 'function') out[name] = fn as Handler;
  }
  return out;
}

/**
 * Imports a handlers module (see `ServerOptions.handlersModule`).
 *
 * @example
 * ```ts
 * const handlers = await loadHandlersModule('./handlers.mjs');
 * ```
 * @throws OptionsError when it cannot be imported or exports no function.
 */
export async function loadHandlersModule(spec: string): Promise<Handlers> {
  let module: Record<string, unknown>;
  try {
    module = (await import(moduleSpecifier(spec))) as Record<string, unknown>;
  } catch (cause) {
    throw new OptionsError(`cannot load handlers module ${spec}: ${(cause as Error)?.message ?? String(cause)}`);
  }
  const handlers = handlersOf(module);
  if (Object.keys(handlers).length === 0) throw new OptionsError(`handlers module ${spec} exports no functions`);
  return handlers;
}

/**
 * Wraps each handler once (not per call) to record its latency, from the call to
 * its value, its promise settling, or its stream ending or being cancelled.
 *
 * Reading the clock twice per call was the largest single cost left on a busy
 * server's path (3% of its time at 256 connections x 1 in flight). So the first
 * {@link TIMED_PER_TURN} calls of each event-loop turn are timed, and after that
 * one call in {@link SAMPLE_EVERY}, weighted as that many in the percentiles: a quiet
 * server has every call timed, a busy one a steady sample. Every call is counted.
 */
export function timedHandlers(handlers: Handlers, histogram: LatencyHistogram): Handlers {
  const out: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(handlers)) out[name] = timed(handler, histogram);
  return out;
}

/** Calls timed in every event-loop turn before sampling starts. */
export const TIMED_PER_TURN = 8;
/** After those, one call in this many is timed. */
export const SAMPLE_EVERY = 8;

/** Handler calls in the current turn (a transport batch runs its whole pipeline in one). */
let callsThisTurn = 0;
const newTurn = (): void => {
  callsThisTurn = 0;
};

function timed(handler: Handler, histogram: LatencyHistogram): Handler {
  return (params: unknown, ctx: HandlerContext) => {
    const n = callsThisTurn++;
    if (n === 0) queueMicrotask(newTurn);
    if (n >= TIMED_PER_TURN && n % SAMPLE_EVERY !== 0) {
      histogram.skip();
      return handler(params, ctx);
    }
    // A sampled call stands for the SAMPLE_EVERY calls around it, so the early calls
    // of a busy turn (all timed) do not outweigh its later ones in the percentiles.
    const weight = n < TIMED_PER_TURN ? 1 : SAMPLE_EVERY;
    const started = performance.now();
    let result: unknown;
    try {
      result = handler(params, ctx);
    } catch (error) {
      histogram.record(performance.now() - started, weight);
      throw error;
    }
    if (isObservable(result)) return result.pipe(finalize(() => histogram.record(performance.now() - started, weight)));
    if (isPromiseLike(result)) return Promise.resolve(result).finally(() => histogram.record(performance.now() - started, weight));
    histogram.record(performance.now() - started, weight);
    return result;
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
