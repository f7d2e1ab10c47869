import { fileURLToPath } from 'node:url';
import { Primary } from '../processes/primary.js';
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
export async function servePrimary(config: ServeConfig, argv: readonly string[]): Promise<number> {
  const native = config.transport === 'native' || (config.transport === 'auto' && nativeLoadError() === undefined);
  const drainMs = config.limits.drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs;
  const primary = await Primary.start({
    processes: config.processes,
    listen: config.listen,
    reusePort: native || netReusePort(),
    script: BIN,
    args: ['serve', ...withoutProcesses(argv)],
    log: (level, message) => (level === 'info' ? process.stdout : process.stderr).write(`ringwire: ${message}\n`),
    drainTimeoutMs: drainMs + DRAIN_MARGIN_MS,
  });
  const kind = native ? 'native' : 'net';
  const passed = config.activated ? ', socket from systemd' : '';
  const count = `${config.processes} processes`;
  for (const listener of primary.listeners) process.stdout.write(`ringwire: listening on ${listener.name} (${kind}, ${count}${passed})\n`);
  process.stdout.write(`ringwire: processes ${primary.pids.join(', ')}\n`);
  notifySystemd('READY=1');
  const statsTimer =
    config.statsEverySeconds === undefined
      ? undefined
      : setInterval(
          () => void primary.stats().then((s) => process.stdout.write(`ringwire: stats: ${formatStatsLine(s)}\n`)),
          config.statsEverySeconds * 1000,
        );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`ringwire: ${signal} again, stopping every process at once\n`);
        primary.stopNow();
        resolve(1);
        return;
      }
      stopping = true;
      notifySystemd('STOPPING=1');
      if (statsTimer) clearInterval(statsTimer);
      process.stderr.write(`ringwire: ${signal}: draining ${config.processes} processes (up to ${duration(drainMs)})\n`);
      void primary.drain().then((clean) => {
        process.stderr.write(clean ? 'ringwire: stopped\n' : 'ringwire: stopped; a process did not drain cleanly\n');
        resolve(clean ? 0 : 1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
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
