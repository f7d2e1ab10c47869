import { fileURLToPath } from 'node:url';
import { UnsupportedError } from '../core/errors.js';
import { demoHandlers } from '../handlers/demo.js';
import { PrimaryLink } from '../processes/child.js';
import { createServer, type RpcServer } from '../server/createServer.js';
import { type ErrorLog, stderrErrorLog } from '../server/errorLog.js';
import { DEFAULT_LIMITS } from '../server/options.js';
import { formatStatsLine } from '../server/stats.js';
import { parseServeArgs, type ServeConfig, UsageError } from './args.js';
import { explainHandlersFailure } from './handlersFailure.js';
import { servePrimary } from './primary.js';
import { notifySystemd } from './systemd.js';
import { duration } from './values.js';

/** The demo handlers as a module, for `--workers` without `--handlers` (workers import modules). */
const DEMO_MODULE = fileURLToPath(new URL('../handlers/demo.js', import.meta.url));

/**
 * `ringwire serve`: listens, prints one line per listener, and on SIGTERM or
 * SIGINT drains (PROTOCOL.md section 4) and resolves 0. A second signal stops at
 * once with 1. With `--processes N` this process is the primary of N server
 * processes (primary.ts), each of which runs this same command.
 */
export async function serve(argv: string[]): Promise<number> {
  const link = PrimaryLink.fromEnv();
  const given = parseServeArgs(argv);
  if (link === undefined && given.processes > 1) return servePrimary(given, argv);
  const config: ServeConfig = link === undefined ? given : { ...given, listen: [...link.setup.listen] };
  const failures = stderrErrorLog();
  const server = await start(config, failures, link);
  const kind = server.transport.kind;
  // With a primary, the primary speaks for the whole server.
  const who = link === undefined ? 'ringwire' : `ringwire: process ${link.setup.index}`;
  if (link === undefined) {
    const passed = config.activated ? ', socket from systemd' : '';
    for (const listener of server.listeners) process.stdout.write(`ringwire: listening on ${listener.name} (${kind}${passed})\n`);
    warnUnguarded(config, server);
    notifySystemd('READY=1');
  }
  const statsTimer =
    config.statsEverySeconds === undefined || link !== undefined
      ? undefined
      : setInterval(() => process.stdout.write(`ringwire: stats: ${formatStatsLine(server.stats())}\n`), config.statsEverySeconds * 1000);
  const drainMs = config.limits.drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const drain = (why: string): void => {
      if (stopping) return;
      stopping = true;
      if (link === undefined) notifySystemd('STOPPING=1');
      if (statsTimer) clearInterval(statsTimer);
      const inFlight = server.stats().requestsInFlight;
      process.stderr.write(
        `${who}: ${why}: draining ${inFlight} request${inFlight === 1 ? '' : 's'} in flight (up to ${duration(drainMs)})\n`,
      );
      const stopped = (code: number) => {
        failures.flush();
        resolve(code);
      };
      void server.close().then(
        (result) => {
          if (result.timedOut) process.stderr.write(`${who}: drain timed out; ${result.unanswered} request(s) were cut off\n`);
          process.stderr.write(`${who}: stopped\n`);
          stopped(0);
        },
        (error: unknown) => {
          process.stderr.write(`${who}: error while stopping: ${(error as Error)?.message ?? String(error)}\n`);
          stopped(1);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${who}: ${signal} again, stopping at once\n`);
        process.exit(1);
      }
      drain(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    link?.ready(server.listeners, { stats: () => server.stats(), drain, stopNow: () => process.exit(1) });
  });
}

/** Any local user can reach a TCP port: say plainly that --allow-uid does not cover it. */
function warnUnguarded(config: ServeConfig, server: RpcServer): void {
  const unguarded = config.allowUids ? server.listeners.filter((l) => l.kind === 'tcp') : [];
  for (const listener of unguarded)
    process.stderr.write(`ringwire: warning: --allow-uid does not apply to ${listener.name}; any local user can connect there\n`);
}

function start(config: ServeConfig, failures: ErrorLog, link: PrimaryLink | undefined): Promise<RpcServer> {
  const handlersModule = config.handlersModule ?? (config.workers > 0 ? DEMO_MODULE : undefined);
  return createServer({
    listen: config.listen,
    ...(handlersModule === undefined ? { handlers: demoHandlers } : { handlersModule }),
    workers: config.workers,
    transport: config.transport,
    limits: config.limits,
    concurrency: config.concurrency,
    socketMode: config.socketMode,
    proxyProtocol: config.proxyProtocol,
    // One process of several answers for all of them.
    exposeStats: config.exposeStats && link !== undefined ? () => link.gather() : config.exposeStats,
    onError: failures.report,
  }).catch(async (error: unknown) => {
    // Say it in the command line's terms: node:net (chosen, or the fallback) cannot read a peer's uid.
    if (error instanceof UnsupportedError && config.allowUids) {
      throw new UsageError("--allow-uid needs the native transport: node:net cannot read a peer's uid (SO_PEERCRED)");
    }
    if (config.handlersModule !== undefined) throw await explainHandlersFailure(error, config.handlersModule);
    throw error;
  });
}
