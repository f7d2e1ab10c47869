import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { OptionsError } from '../core/errors.js';
import type { Handler, HandlerContext, Handlers } from '../core/records.js';
import { moduleSpecifier } from './handlers.js';
import { WorkerCall } from './workerCall.js';

export { CANCEL_GRACE_MS } from './workerCall.js';

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

/** worker.mjs sits beside this file, in src/ and (copied by tsc's allowJs) in dist/. */
function workerFile(): string {
  const beside = new URL('./worker.mjs', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside.href;
  throw new OptionsError(`worker entry not found at ${fileURLToPath(beside)}`);
}
