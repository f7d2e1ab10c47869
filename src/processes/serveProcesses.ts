import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ListenerInfo } from '../core/connection.js';
import { OptionsError } from '../core/errors.js';
import { DEFAULT_LIMITS } from '../server/options.js';
import { nativeLoadError } from '../transport/native.js';
import { netReusePort } from '../transport/net.js';
import type { ListenTarget } from '../transport/types.js';
import type { ProcessesStats } from './mergeStats.js';
import type { PortableServerOptions } from './messages.js';
import { Primary } from './primary.js';

/** Options of {@link serveProcesses}: a server's options that can cross to another process. */
export interface ProcessesOptions extends PortableServerOptions {
  readonly listen: readonly ListenTarget[];
  /** The handlers, as a module each process imports (functions cannot cross processes). */
  readonly handlersModule: string;
  /** Server processes; `'auto'`: one per core (os.availableParallelism()). */
  readonly processes: number | 'auto';
  /** Process starts, deaths and restarts. Default: one line on stderr each. */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** A server of several processes, from {@link serveProcesses}. */
export interface ProcessesServer {
  /** The listeners, with their real ports. */
  readonly listeners: readonly ListenerInfo[];
  /** The processes' ids, by slot (undefined while a slot waits to start again). */
  readonly pids: ReadonlyArray<number | undefined>;
  /** Totals and each process's figures. */
  stats(): Promise<ProcessesStats>;
  /** Drains every process (PROTOCOL.md section 4); true when all stopped cleanly in time. */
  close(): Promise<boolean>;
}

/** Time a process gets past its own drain limit before it is killed. */
const DRAIN_MARGIN_MS = 5_000;
const ENTRY = fileURLToPath(new URL('./entry.js', import.meta.url));

/**
 * Runs a server as several processes sharing its listeners, as `ringwire serve
 * --processes` does: this process becomes their primary. Unix listeners are one
 * socket the processes inherit (each connection wakes one of them); TCP listeners
 * are bound by each process with SO_REUSEPORT, so the kernel spreads connections.
 * A process that dies is started again (doubling delays from 100 ms to 5 s); its
 * connections are lost, nobody else's.
 *
 * @example
 * ```ts
 * const server = await serveProcesses({
 *   processes: 'auto',
 *   listen: [{ unix: '/run/app.sock' }, { host: '0.0.0.0', port: 7070 }],
 *   handlersModule: new URL('./handlers.js', import.meta.url).pathname,
 * });
 * process.on('SIGTERM', () => void server.close().then((clean) => process.exit(clean ? 0 : 1)));
 * ```
 * @throws OptionsError, ListenError, ProcessStartError (a process ended before it
 * listened: the others are stopped and the sockets closed first).
 */
export async function serveProcesses(options: ProcessesOptions): Promise<ProcessesServer> {
  const { processes, log, listen, ...serverOptions } = options;
  const count = processes === 'auto' ? availableParallelism() : processes;
  if (!Number.isInteger(count) || count < 1)
    throw new OptionsError(`processes must be a whole number of at least 1, or 'auto' (got ${String(processes)})`);
  if (typeof options.handlersModule !== 'string')
    throw new OptionsError('serveProcesses needs handlersModule: handler functions cannot cross processes');
  const transport = options.transport ?? 'auto';
  const native = transport === 'native' || (transport === 'auto' && nativeLoadError() === undefined);
  const primary = await Primary.start({
    processes: count,
    listen,
    reusePort: native || netReusePort(),
    socketMode: options.socketMode,
    script: ENTRY,
    args: [],
    serverOptions,
    log: log ?? ((level, message) => process.stderr.write(`ringwire: ${level}: ${message}\n`)),
    drainTimeoutMs: (options.limits?.drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs) + DRAIN_MARGIN_MS,
  });
  return {
    listeners: primary.listeners,
    get pids() {
      return primary.pids;
    },
    stats: () => primary.stats(),
    close: () => primary.drain(),
  };
}
