import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { UnsupportedError } from '../core/errors.js';
import { demoHandlers } from '../handlers/demo.js';
import { PrimaryLink } from '../processes/child.js';
import { createServer, type RpcServer } from '../server/createServer.js';
import type { MetricsSnapshot } from '../server/metrics.js';
import { startMetricsServer } from '../server/metricsServer.js';
import { formatStatsLine } from '../server/stats.js';
import { parseServeArgs, type ServeConfig, UsageError } from './args.js';
import { explainHandlersFailure } from './handlersFailure.js';
import { cliLogger } from './logger.js';
import { servePrimary } from './primary.js';
import { notifySystemd } from './systemd.js';

/** The demo handlers as a module, for `--workers` without `--handlers` (workers import modules). */
const DEMO_MODULE = fileURLToPath(new URL('../handlers/demo.js', import.meta.url));

/**
 * `ringwire serve`: listens, logs one line per listener (and the metrics URL with
 * `--metrics`), and on SIGTERM or SIGINT drains (PROTOCOL.md section 4) and
 * resolves 0. A second signal stops at once with 1. With `--processes N` this
 * process is the primary of N server processes (primary.ts), each of which runs
 * this same command; the primary then serves the metrics and speaks to systemd.
 */
export async function serve(argv: string[]): Promise<number> {
  const link = PrimaryLink.fromEnv();
  const given = parseServeArgs(argv);
  const root = cliLogger(given.logFormat, given.logLevel);
  if (link === undefined && given.processes > 1) return servePrimary(given, argv, root);
  const config: ServeConfig = link === undefined ? given : { ...given, listen: [...link.setup.listen], metrics: undefined };
  const log = link === undefined ? root : root.child({ process: link.setup.index });
  // Bound first, so that a busy metrics port fails the command before any RPC listener opens.
  let running: RpcServer | undefined;
  const metrics = config.metrics && (await startMetricsServer({ ...config.metrics, snapshot: () => snapshotOf(running) }));
  // A signal while the server starts (it may already have logged "listening on") is
  // acted on once it has: without a handler Node would die of it, undrained, leaving
  // the socket file behind. One listener throughout: a signal handle closed and opened
  // again between the two phases could drop a signal on its way.
  const early: NodeJS.Signals[] = [];
  let onSignalNow: ((signal: NodeJS.Signals) => void) | undefined;
  const dispatch = (signal: NodeJS.Signals): void => {
    if (onSignalNow) return onSignalNow(signal);
    // A second one while it still starts: stop at once, as after the first.
    if (early.length > 0) process.exit(1);
    early.push(signal);
  };
  process.on('SIGTERM', dispatch);
  process.on('SIGINT', dispatch);
  const server = await start(config, log, link).catch(async (error: unknown) => {
    await metrics?.close();
    throw error;
  });
  running = server;
  if (metrics) log.info({ metrics: metrics.url }, `metrics on ${metrics.url}`);
  if (config.activated) log.info({}, 'the listeners are sockets systemd passed');
  const unguarded = config.allowUids ? server.listeners.filter((l) => l.kind === 'tcp') : [];
  // Any local user can reach a TCP port: say plainly that --allow-uid does not cover it.
  for (const listener of unguarded)
    log.warn({ listener: listener.name }, `--allow-uid does not apply to ${listener.name}; any local user can connect there`);
  if (link === undefined) notifySystemd('READY=1', log);
  const statsTimer =
    config.statsEverySeconds === undefined || link !== undefined
      ? undefined
      : setInterval(() => {
          const stats = server.stats();
          log.info({ stats }, `stats: ${formatStatsLine(stats)}`);
        }, config.statsEverySeconds * 1000);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const drain = (why: string): void => {
      if (stopping) return;
      stopping = true;
      if (link === undefined) notifySystemd('STOPPING=1', log);
      if (statsTimer) clearInterval(statsTimer);
      log.info({ why }, why);
      // The server logs the drain and its end; metrics stay up until it has stopped.
      void server.close().then(
        async () => {
          await metrics?.close();
          resolve(0);
        },
        async (error: unknown) => {
          log.error({ err: error }, `error while stopping: ${(error as Error)?.message ?? String(error)}`);
          await metrics?.close();
          resolve(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      // A process of several hears signals meant for the group (Ctrl-C, systemd's
      // control group) besides its primary's word: only the primary's second signal
      // (sent on as 'stop') stops it at once.
      if (stopping && link !== undefined) return;
      if (stopping) {
        log.warn({ signal }, `${signal} again, stopping at once`);
        process.exit(1);
      }
      drain(`${signal} received`);
    };
    onSignalNow = onSignal;
    for (const signal of early) onSignal(signal);
    link?.ready(server.listeners, {
      stats: () => server.stats(),
      metrics: () => server.metricsSnapshot(),
      drain: (why) => drain(why),
      stopNow: () => process.exit(1),
    });
  });
}

function start(config: ServeConfig, logger: Logger, link: PrimaryLink | undefined): Promise<RpcServer> {
  const handlersModule = config.handlersModule ?? (config.workers > 0 ? DEMO_MODULE : undefined);
  return createServer({
    listen: config.listen,
    ...(handlersModule === undefined ? { handlers: demoHandlers } : { handlersModule }),
    workers: config.workers,
    transport: config.transport,
    ...(config.ioBackend !== undefined && { ioBackend: config.ioBackend }),
    limits: config.limits,
    concurrency: config.concurrency,
    socketMode: config.socketMode,
    proxyProtocol: config.proxyProtocol,
    // One process of several answers for all of them.
    exposeStats: config.exposeStats && link !== undefined ? () => link.gather() : config.exposeStats,
    logger,
  }).catch(async (error: unknown) => {
    // Say it in the command line's terms: node:net (chosen, or the fallback) cannot read a peer's uid.
    if (error instanceof UnsupportedError && config.allowUids) {
      throw new UsageError("--allow-uid needs the native transport: node:net cannot read a peer's uid (SO_PEERCRED)");
    }
    if (config.handlersModule !== undefined) throw await explainHandlersFailure(error, config.handlersModule);
    throw error;
  });
}

/** A scrape before the server has started is answered 500 (the metrics port opens first). */
function snapshotOf(server: RpcServer | undefined): MetricsSnapshot {
  if (server === undefined) throw new Error('the server is starting');
  return server.metricsSnapshot();
}
