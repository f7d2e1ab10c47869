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

export { type CallOptions, RpcClient, type ServerNotification } from './client/client.js';
export { type ClientProtocol, type ConnectOptions, connect } from './client/connect.js';
export type { ServerRequestContext, ServerRequestHandler } from './client/serverRequests.js';
export { type ClientTarget, parseTarget } from './client/target.js';
export { type Connection, type ListenerInfo, PauseReason, type PeerInfo, type ProxiedAddress } from './core/connection.js';
export * from './core/errors.js';
export type * from './core/records.js';
export { ErrorCode } from './core/wire/jsonrpc.js';
export { Mcp1Type } from './core/wire/mcp1.js';
export { demoHandlers } from './handlers/demo.js';
export type { ProcessesStats, ProcessStats } from './processes/mergeStats.js';
export { type ProcessesOptions, type ProcessesServer, serveProcesses } from './processes/serveProcesses.js';
export { createServer, type RpcServer } from './server/createServer.js';
export { type DefaultStagesInput, defaultStages } from './server/defaultStages.js';
export { type ErrorLog, loggerErrorLog, stderrErrorLog } from './server/errorLog.js';
export { loadHandlersModule } from './server/handlers.js';
export { LatencyHistogram } from './server/histogram.js';
export type { LogMethod, ServerLogger } from './server/logger.js';
export {
  LATENCY_BOUNDS_SECONDS,
  type LatencySnapshot,
  type MetricsInfo,
  type MetricsSnapshot,
  mergeMetricsSnapshots,
} from './server/metrics.js';
export { type MetricsServer, type MetricsServerOptions, type SnapshotSource, startMetricsServer } from './server/metricsServer.js';
export { renderMetrics, snapshotRegistry } from './server/metricsText.js';
export { DEFAULT_LIMITS, type Limits, type ServerOptions } from './server/options.js';
export { CANCEL_GRACE_MS, createWorkerPool, type WorkerPool, type WorkerPoolOptions } from './server/pool.js';
export type { CloseResult } from './server/shutdown.js';
export {
  insertAfter,
  insertBefore,
  type NamedStage,
  type PipelineStages,
  removeStage,
  replaceStage,
  type Stage,
} from './server/stages.js';
export { type ConnectionCount, formatStatsLine, type ServerStats } from './server/stats.js';
export { listen } from './transport/listen.js';
export type {
  ConnectionEvent,
  FdListen,
  IoBackend,
  ListenOptions,
  ListenTarget,
  TcpListen,
  TransportKind,
  TransportServer,
  TransportStats,
  UnixListen,
} from './transport/types.js';
