import { HandlerError } from '../core/errors.js';
import type { ServerLogger } from './logger.js';
import { RateLimitedLog } from './rateLimitedLog.js';

/** Handler failure lines let through per second; the rest are counted. */
const HANDLER_FAILURES_PER_SECOND = 10;

/** Where the server reports what it survives, when the user gives no `onError`. */
export interface ErrorLog {
  readonly report: (error: unknown) => void;
  /** Writes the count of failures held back in the current second (before stopping). */
  flush(): void;
}

/**
 * The server's reports on stderr, one line each: a handler's failure as
 * `ringwire: warn: handler M failed: WHY (-32603)`, at most ten a second and the
 * rest counted (a hot failing handler must not flood the log, nor make writing it
 * the server's bottleneck); anything else (a broken pipeline, a dead worker) as
 * `ringwire: MESSAGE`. `ringwire serve` and `createServer()` without `onError` use it.
 *
 * @example
 * ```ts
 * const log = stderrErrorLog();
 * const server = await createServer({ listen: [{ port: 7070 }], handlers, onError: log.report });
 * ```
 */
export function stderrErrorLog(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): ErrorLog {
  const failures = new RateLimitedLog({
    write,
    summary: (n) => `ringwire: warn: ${n} more handler failure${n === 1 ? '' : 's'} in the last second (suppressed)`,
    perWindow: HANDLER_FAILURES_PER_SECOND,
    windowMs: 1000,
  });
  return {
    report(error) {
      if (error instanceof HandlerError) failures.log(`ringwire: warn: ${oneLine(error.message)} (${error.rpcCode})`);
      else write(`ringwire: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    },
    flush: () => failures.flush(),
  };
}

/**
 * The same reports through a logger: a handler's failure at warn, with `method`
 * and `code` (the JSON-RPC code its caller was answered with) and the cause, at
 * most ten a second and the rest counted in one warn line; anything else at error.
 * `createServer({ logger })` without `onError` uses it.
 *
 * @example
 * ```ts
 * const log = loggerErrorLog(pino());
 * const server = await createServer({ listen: [{ port: 7070 }], handlers, onError: log.report });
 * ```
 */
export function loggerErrorLog(logger: ServerLogger): ErrorLog {
  type Entry = { readonly fields: Readonly<Record<string, unknown>>; readonly message: string };
  const failures = new RateLimitedLog<Entry>({
    write: (e) => logger.warn(e.fields, e.message),
    summary: (n) => ({
      fields: { suppressed: n },
      message: `${n} more handler failure${n === 1 ? '' : 's'} in the last second (suppressed)`,
    }),
    perWindow: HANDLER_FAILURES_PER_SECOND,
    windowMs: 1000,
  });
  return {
    report(error) {
      if (error instanceof HandlerError) {
        const cause = error.cause instanceof Error ? error.cause : undefined;
        const fields = { method: error.method, code: error.rpcCode, ...(cause && { err: cause }) };
        failures.log({ fields, message: `${oneLine(error.message)} (${error.rpcCode})` });
      } else {
        logger.error({ err: error }, oneLine(error instanceof Error ? error.message : String(error)));
      }
    },
    flush: () => failures.flush(),
  };
}

/** A message may hold newlines (a stack, a dump): one report is one line, of bounded length. */
function oneLine(text: string): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return flat.length > 500 ? `${flat.slice(0, 500)}...` : flat;
}
