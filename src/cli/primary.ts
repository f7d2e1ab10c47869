import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Primary } from '../processes/primary.js';
import { startMetricsServer } from '../server/metricsServer.js';
import { DEFAULT_LIMITS } from '../server/options.js';
import { formatStatsLine } from '../server/stats.js';
import { nativeLoadError } from '../transport/native.js';
import { netReusePort } from '../transport/net.js';
import type { ServeConfig } from './args.js';
import { notifySystemd } from './systemd.js';
import { duration } from './values.js';

/** The `ringwire` command, which each server process runs again. */
const BIN = fileURLToPath(new URL('../../../bin/ringwire.js', import.meta.url));
/** Time a process gets past its own drain limit before it is killed. */
const DRAIN_MARGIN_MS = 5_000;

/**
 * `ringwire serve --processes N`: this process holds the shared sockets and runs N
 * server processes, each `ringwire serve` with the same flags but --processes.
 * Resolves 0 once all drained on SIGTERM/SIGINT; 1 when one did not drain cleanly
 * or on a second signal.
 */
export async function servePrimary(config: ServeConfig, argv: readonly string[], log: Logger): Promise<number> {
  const native = config.transport === 'native' || (config.transport === 'auto' && nativeLoadError() === undefined);
  const drainMs = config.limits.drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs;
  // One /metrics for the whole server, bound before anything else as in a single process.
  let running: Primary | undefined;
  const metrics =
    config.metrics &&
    (await startMetricsServer({
      ...config.metrics,
      snapshot: () => {
        if (running === undefined) throw new Error('the server is starting');
        return running.metrics();
      },
    }));
  // Signals are heard from the start: one that comes while the processes start is
  // acted on once they listen (a drain then, so that nothing is left behind).
  let early: NodeJS.Signals | undefined;
  let onSignal = (signal: NodeJS.Signals): void => {
    if (early === undefined) {
      early = signal;
      log.info({ signal }, `${signal}: stopping once the processes have started`);
      return;
    }
    log.warn({ signal }, `${signal} again, stopping at once`);
    process.exit(1);
  };
  const hear = (signal: NodeJS.Signals): void => onSignal(signal);
  process.on('SIGTERM', hear);
  process.on('SIGINT', hear);
  const primary = await Primary.start({
    processes: config.processes,
    listen: config.listen,
    reusePort: native || netReusePort(),
    socketMode: config.socketMode,
    script: BIN,
    args: ['serve', ...withoutProcesses(argv)],
    log: (level, message) => log[level]({}, message),
    drainTimeoutMs: drainMs + DRAIN_MARGIN_MS,
  }).catch(async (error: unknown) => {
    process.off('SIGTERM', hear).off('SIGINT', hear);
    await metrics?.close();
    throw error;
  });
  running = primary;
  const kind = native ? 'native' : 'net';
  const passed = config.activated ? ', socket from systemd' : '';
  const count = `${config.processes} processes`;
  for (const listener of primary.listeners)
    log.info({ listener: listener.name, transport: kind }, `listening on ${listener.name} (${kind}, ${count}${passed})`);
  log.info({ pids: primary.pids }, `processes ${primary.pids.join(', ')}`);
  if (metrics) log.info({ metrics: metrics.url }, `metrics on ${metrics.url}`);
  notifySystemd('READY=1', log);
  const statsTimer =
    config.statsEverySeconds === undefined
      ? undefined
      : setInterval(
          () => void primary.stats().then((stats) => log.info({ stats }, `stats: ${formatStatsLine(stats)}`)),
          config.statsEverySeconds * 1000,
        );
  return new Promise<number>((resolve) => {
    let stopping = false;
    onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, `${signal} again, stopping every process at once`);
        primary.stopNow();
        void metrics?.close();
        resolve(1);
        return;
      }
      stopping = true;
      notifySystemd('STOPPING=1', log);
      if (statsTimer) clearInterval(statsTimer);
      log.info({ signal }, `${signal}: draining ${config.processes} processes (up to ${duration(drainMs)})`);
      void primary.drain().then(async (clean) => {
        await metrics?.close();
        if (clean) log.info({}, 'stopped');
        else log.warn({}, 'stopped; a process did not drain cleanly');
        resolve(clean ? 0 : 1);
      });
    };
    if (early !== undefined) onSignal(early);
  });
}

/** `argv` without `--processes N` / `--processes=N`: each server process is one. */
function withoutProcesses(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '--processes') i++;
    else if (!arg.startsWith('--processes=')) out.push(arg);
  }
  return out;
}
