/**
 * What the primary and its server processes say to each other over the IPC
 * channel (JSON).
 * @module
 */
import type { ListenerInfo } from '../core/connection.js';
import type { MetricsSnapshot } from '../server/metrics.js';
import type { ServerOptions } from '../server/options.js';
import type { ServerStats } from '../server/stats.js';
import type { ProcessTarget } from './listeners.js';
import type { ProcessesStats } from './mergeStats.js';

/** The environment variable that makes `ringwire serve` a process of a primary: JSON {@link ProcessSetup}. */
export const PROCESS_ENV = 'RINGWIRE_PROCESS';

/** The server options that can cross to another process (no functions). */
export type PortableServerOptions = Omit<ServerOptions, 'listen' | 'handlers' | 'pipeline' | 'onError' | 'scheduler' | 'exposeStats'> & {
  readonly exposeStats?: boolean;
};

/** What a server process is given at start. */
export interface ProcessSetup {
  readonly index: number;
  readonly listen: readonly ProcessTarget[];
  /** For serveProcesses' processes; `ringwire serve` processes read their flags instead. */
  readonly options?: PortableServerOptions;
}

export type ToPrimary =
  /** Listening; its listeners with their real ports. */
  | { readonly type: 'ready'; readonly listeners: readonly ListenerInfo[] }
  /** The answer to a `stats` request. */
  | { readonly type: 'stats'; readonly id: number; readonly stats: ServerStats }
  /** The answer to a `metrics` request. */
  | { readonly type: 'metrics'; readonly id: number; readonly snapshot: MetricsSnapshot }
  /** A client asked this process for the whole server's stats (`rpc.stats`). */
  | { readonly type: 'gather'; readonly id: number };

export type ToProcess =
  /** Drain as on SIGTERM (PROTOCOL.md section 4); said once, however many signals. */
  | { readonly type: 'drain' }
  /** Stop at once (a second signal to the primary). */
  | { readonly type: 'stop' }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'metrics'; readonly id: number }
  | { readonly type: 'gathered'; readonly id: number; readonly result: ProcessesStats };
