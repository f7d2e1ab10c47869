/**
 * ringwire: a reactive socket server for Node.js.
 *
 * - `listen()` gives ONE RxJS stream of byte slices for all connections, from the
 *   native epoll/kqueue transport (or node:net where the addon cannot load).
 * - `ringwire/operators` turns those slices into framed, decoded, routed, handled
 *   and encoded records.
 * - `createServer()` is the JSON-RPC 2.0 + MCP1 server built from both.
 * - `ringwire/testing` runs any pipeline under RxJS's TestScheduler.
 *
 * @example
 * ```ts
 * import { createServer } from 'ringwire';
 * const server = await createServer({
 *   listen: [{ unix: './app.sock' }, { host: '127.0.0.1', port: 7070 }],
 *   handlers: { add: ([a, b]: number[]) => a + b },
 * });
 * ```
 * @module
 */
export { listen } from './transport/listen.js';
export {
  PauseReason,
  type Connection,
  type ConnectionEvent,
  type ListenerInfo,
  type ListenOptions,
  type ListenTarget,
  type PeerInfo,
  type ProxiedAddress,
  type TcpListen,
  type TransportKind,
  type TransportServer,
  type TransportStats,
  type UnixListen,
} from './transport/types.js';
export * from './errors.js';
export type * from './records.js';
export { Mcp1Type } from './records.js';

export { createServer, type RpcServer } from './server/createServer.js';
export { DEFAULT_LIMITS, type Limits, type ServerOptions } from './server/options.js';
export {
  insertAfter,
  insertBefore,
  replaceStage,
  removeStage,
  type Stage,
  type NamedStage,
  type PipelineStages,
} from './server/stages.js';
export { defaultStages, type DefaultStagesInput } from './server/defaultStages.js';
export type { CloseResult } from './server/shutdown.js';
export { formatStatsLine, type ServerStats, type ConnectionCount } from './server/stats.js';
export { LatencyHistogram } from './server/histogram.js';
export { loadHandlersModule } from './server/handlers.js';
export { createWorkerPool, CANCEL_GRACE_MS, type WorkerPool, type WorkerPoolOptions } from './server/pool.js';
export { demoHandlers } from './handlers/demo.js';

export { connect, type ConnectOptions, type ClientProtocol } from './client/connect.js';
export { RpcClient, type CallOptions } from './client/client.js';
export { parseTarget, type ClientTarget } from './client/target.js';
