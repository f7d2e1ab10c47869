import { filter, map, type Subscription } from 'rxjs';
import { Outgoing } from '../../operators/handle.js';
import type { Connection, ListenerInfo } from '../core/connection.js';
import { ConnectionClosedError, ProtocolUnknownError } from '../core/errors.js';
import type { Handler, Handlers } from '../core/records.js';
import { listen } from '../transport/listen.js';
import type { TransportServer } from '../transport/types.js';
import { defaultStages } from './defaultStages.js';
import { type ErrorLog, loggerErrorLog, stderrErrorLog } from './errorLog.js';
import { loadHandlersModule, timedHandlers } from './handlers.js';
import { describePeer, duration, type ServerLogger } from './logger.js';
import { type MetricsSnapshot, takeSnapshot } from './metrics.js';
import { type Limits, listenTargets, resolveLimits, type ServerOptions, validateOptions } from './options.js';
import { createWorkerPool, type WorkerPool } from './pool.js';
import { type CloseResult, drain } from './shutdown.js';
import { sink } from './sink.js';
import { checkStages, composeStages, type PipelineStages } from './stages.js';
import { type ServerStats, StatsCollector } from './stats.js';
import { ConnectionTracker } from './tracker.js';

/** A running ringwire server. */
export interface RpcServer {
  /** The listening sockets, with real ports (where 0 was asked for). */
  readonly listeners: readonly ListenerInfo[];
  readonly transport: TransportServer;
  /** Worker threads running the handlers (0: inline). */
  readonly workers: number;
  stats(): ServerStats;
  /**
   * The counters as one plain JSON-serialisable object, for Prometheus
   * (`renderMetrics`, `startMetricsServer`) or to send over IPC and add up with
   * other processes' (`mergeMetricsSnapshots`). Read now; nothing is kept per request.
   *
   * @example
   * ```ts
   * const text = await renderMetrics(server.metricsSnapshot());
   * ```
   */
  metricsSnapshot(): MetricsSnapshot;
  /**
   * The open connections whose protocol is known: those the server can send to
   * (PROTOCOL.md 6.3).
   *
   * @example
   * ```ts
   * for (const connection of server.connections()) server.notify(connection, 'notifications/tools/list_changed');
   * ```
   */
  connections(): Connection[];
  /**
   * Sends `connection` a notification, framed and encoded as its other output
   * (PROTOCOL.md 6). Throws `ProtocolUnknownError` for a connection that has not
   * shown its protocol, `ConnectionClosedError` for a closed one, and
   * `WriteBackpressureError` when its client is not reading (nothing is sent then).
   */
  notify(connection: Connection, method: string, params?: unknown): void;
  /**
   * Graceful shutdown: stops accepting, lets in-flight requests finish (up to
   * `drainTimeoutMs`, default `limits.drainTimeoutMs`), writes their answers, then
   * closes every connection and removes Unix socket files. Idempotent.
   */
  close(options?: { drainTimeoutMs?: number }): Promise<CloseResult>;
}

/**
 * Starts a server: one transport for every listener, ONE pipeline for every
 * connection (docs/ARCHITECTURE.md), answering JSON-RPC 2.0 and MCP1.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   listen: [{ unix: '/tmp/app.sock' }, { host: '127.0.0.1', port: 7070 }],
 *   handlers: { add: ([a, b]: number[]) => a + b },
 * });
 * console.log(server.listeners.map((l) => l.name));
 * process.on('SIGTERM', () => void server.close());
 * ```
 * @throws OptionsError, AddressInUseError, NotASocketError, ListenError, or what
 * `options.pipeline` threw. A failure after the listeners opened closes them (and
 * removes their socket files) and ends the worker pool before the promise rejects.
 */
/** The one line that names the io backend, and why io_uring was not taken when it could have been. */
function logIoBackend(transport: TransportServer, logger: ServerLogger | undefined): void {
  if (transport.kind !== 'native') return;
  const fallback = transport.ioBackendFallback;
  logger?.info(
    { ioBackend: transport.ioBackend, ...(fallback !== undefined && { ioBackendFallback: fallback }) },
    fallback === undefined ? `io backend ${transport.ioBackend}` : `io backend ${transport.ioBackend} (io_uring unavailable: ${fallback})`,
  );
}

export async function createServer(options: ServerOptions): Promise<RpcServer> {
  validateOptions(options);
  const limits = resolveLimits(options.limits);
  // Without the user's own: one line per report on stderr (or the logger), handler failures rate-limited.
  const log = options.onError !== undefined ? undefined : options.logger ? loggerErrorLog(options.logger) : stderrErrorLog();
  const onError = options.onError ?? log!.report;
  const stats = new StatsCollector();
  const pool = options.workers ? await createWorkerPool({ module: options.handlersModule!, workers: options.workers, onError }) : undefined;
  let transport: TransportServer | undefined;
  let server: Server | undefined;
  try {
    const given: Handlers = pool?.handlers ?? options.handlers ?? (await loadHandlersModule(options.handlersModule!));
    let handlers = timedHandlers(given, stats.latency);
    transport = await listen({
      listen: listenTargets(options),
      transport: options.transport ?? 'auto',
      ...(options.ioBackend !== undefined && { ioBackend: options.ioBackend }),
      maxConnections: limits.maxConnections,
      writeHighWaterBytes: limits.writeHighWaterBytes,
    });
    server = new Server(transport, stats, pool, limits.drainTimeoutMs, log, options.logger);
    if (options.exposeStats) {
      const source = options.exposeStats;
      handlers = { ...handlers, 'rpc.stats': typeof source === 'function' ? () => source() : statsHandler(server) };
    }

    const disconnects = transport.connections$.pipe(
      filter((e) => e.type === 'close'),
      map((e): Connection => e.connection),
    );
    let stages: PipelineStages = defaultStages({
      outgoing: server.outgoing,
      onUnmatchedResponse: () => stats.responsesDropped++,
      handlers,
      limits,
      proxyProtocol: transport.listeners.some((l) => l.proxyProtocol),
      disconnects,
      concurrency: options.concurrency,
      scheduler: options.scheduler,
      onError,
    });
    if (options.pipeline) stages = options.pipeline(stages);
    checkStages(stages);
    server.start(composeStages(instrument(stages, server.tracker, limits)), onError);
    logIoBackend(transport, options.logger);
    for (const l of transport.listeners)
      options.logger?.info({ listener: l.name, transport: transport.kind }, `listening on ${l.name} (${transport.kind})`);
    return server;
  } catch (error) {
    // A server that never started must not keep its sockets: the process would never
    // exit, and clients would connect to a listener that nobody answers.
    await abandon(server, transport, pool, onError);
    throw error;
  }
}

/** Closes what a failed createServer() had opened; a failure to close is reported, not thrown over the cause. */
async function abandon(
  server: Server | undefined,
  transport: TransportServer | undefined,
  pool: WorkerPool | undefined,
  onError: (error: unknown) => void,
): Promise<void> {
  server?.stop();
  const closing = [transport?.close(), pool?.close()];
  for (const outcome of await Promise.allSettled(closing)) if (outcome.status === 'rejected') onError(outcome.reason);
}

class Server implements RpcServer {
  readonly tracker: ConnectionTracker;
  /** The way into the `handle` stage for server.notify(). */
  readonly outgoing = new Outgoing();
  private pipeline: Subscription | undefined;
  private readonly lifecycle: Subscription;
  private closing: Promise<CloseResult> | undefined;

  constructor(
    readonly transport: TransportServer,
    private readonly collector: StatsCollector,
    private readonly pool: WorkerPool | undefined,
    private readonly drainTimeoutMs: number,
    private readonly log: ErrorLog | undefined,
    private readonly logger: ServerLogger | undefined,
  ) {
    // Asked once: with debug off, a connection costs not even a call to the logger.
    const debug = logger?.isLevelEnabled('debug') ? logger : undefined;
    this.tracker = new ConnectionTracker(
      collector,
      debug &&
        ((c, reason) =>
          debug.debug(
            connectionFields(c, { reason }),
            `protocol violation (${reason}) on ${c.listener.name} from ${describePeer(c.peer)}`,
          )),
    );
    this.lifecycle = transport.connections$.subscribe((event) => {
      const c = event.connection;
      if (event.type === 'open') collector.opened(c.listener.name);
      else this.tracker.closed(c);
      if (debug) {
        const fields = connectionFields(c, event.error === undefined ? {} : { error: event.error });
        debug.debug(
          fields,
          `connection ${event.type === 'open' ? 'open' : 'closed'} on ${c.listener.name} from ${describePeer(c.peer)}${event.error ? ` (${event.error})` : ''}`,
        );
      }
    });
  }

  get listeners(): readonly ListenerInfo[] {
    return this.transport.listeners;
  }

  get workers(): number {
    return this.pool?.threads ?? 0;
  }

  /**
   * Subscribes ONCE: every connection's records flow through this one pipeline.
   * @throws what the pipeline errored with while it was being subscribed.
   */
  start(operator: ReturnType<typeof composeStages>, onError: (error: unknown) => void): void {
    let starting = true;
    let failedToStart: { error: unknown } | undefined;
    const subscribe = (): void => {
      this.pipeline = this.transport.slices$.pipe(operator).subscribe(
        sink((error) => {
          // A pipeline that errors while it is subscribed would error again on every
          // restart: that is a broken pipeline, for createServer() to reject with.
          if (starting) {
            failedToStart = { error };
            return;
          }
          // Per-connection state died with the pipeline: report, drop the connections, start afresh.
          onError(error);
          for (const conn of this.transport.connections) conn.close();
          if (!this.closing) subscribe();
        }),
      );
    };
    subscribe();
    starting = false;
    if (failedToStart !== undefined) throw failedToStart.error;
  }

  /** Undoes the constructor and start() of a server that will never be returned. */
  stop(): void {
    this.pipeline?.unsubscribe();
    this.lifecycle.unsubscribe();
  }

  connections(): Connection[] {
    return [...this.transport.connections].filter((c) => this.tracker.destination(c) !== undefined);
  }

  notify(connection: Connection, method: string, params?: unknown): void {
    if (connection.closed) throw new ConnectionClosedError('the connection is closed');
    const to = this.tracker.destination(connection);
    if (to === undefined) throw new ProtocolUnknownError();
    this.outgoing.notify(to, method, params);
  }

  stats(): ServerStats {
    return this.collector.snapshot(this.transport.kind, this.transport.ioBackend, this.transport.stats(), this.tracker.inFlight.total);
  }

  metricsSnapshot(): MetricsSnapshot {
    return takeSnapshot({ collector: this.collector, transport: this.transport, requestsInFlight: this.tracker.inFlight.total });
  }

  close(options: { drainTimeoutMs?: number } = {}): Promise<CloseResult> {
    this.closing ??= (async () => {
      const drainMs = options.drainTimeoutMs ?? this.drainTimeoutMs;
      const inFlight = this.tracker.inFlight.total;
      this.logger?.info(
        { inFlight, drainTimeoutMs: drainMs },
        `draining ${inFlight} request${inFlight === 1 ? '' : 's'} in flight (up to ${duration(drainMs)})`,
      );
      const result = await drain(this.transport, this.tracker, () => this.tracker.inFlight.total, drainMs);
      if (result.timedOut)
        this.logger?.warn({ unanswered: result.unanswered }, `drain timed out; ${result.unanswered} request(s) were cut off`);
      this.pipeline?.unsubscribe();
      await this.transport.close();
      this.lifecycle.unsubscribe();
      await this.pool?.close();
      this.log?.flush();
      this.logger?.info({}, 'stopped');
      return result;
    })();
    return this.closing;
  }
}

/**
 * Puts the server's own probes after `detectProtocol` and around `handle`, where
 * they exist, and wraps `handle` in the backpressure() that counts its requests.
 */
export function instrument(stages: PipelineStages, tracker: ConnectionTracker, limits: Limits): PipelineStages {
  const out: Array<PipelineStages[number]> = [{ name: 'ringwire:gate', operator: tracker.gate }];
  for (const stage of stages) {
    if (stage.name === 'handle') out.push({ name: 'ringwire:beforeHandle', operator: tracker.beforeHandle });
    out.push(stage.name === 'handle' ? { name: 'handle', operator: tracker.counted(stage.operator, limits) } : stage);
    if (stage.name === 'handle') out.push({ name: 'ringwire:afterHandle', operator: tracker.afterHandle });
    if (stage.name === 'detectProtocol') out.push({ name: 'ringwire:afterDetect', operator: tracker.afterDetect });
  }
  // Without a `handle` stage nothing is counted in flight, but a peer's FIN must still end its connection.
  if (!stages.some((s) => s.name === 'handle')) out.push({ name: 'ringwire:afterHandle', operator: tracker.afterHandle });
  return out;
}

/** What a debug line says of a connection, as fields. */
function connectionFields(c: Connection, extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const proxied = c.proxied === undefined ? {} : { proxied: `${c.proxied.address}:${c.proxied.port}` };
  return { connection: c.id, listener: c.listener.name, peer: describePeer(c.peer), ...proxied, ...extra };
}

function statsHandler(server: RpcServer): Handler {
  return () => server.stats();
}
