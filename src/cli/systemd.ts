/**
 * systemd's two protocols a service speaks, without libsystemd: socket activation
 * (sd_listen_fds: `LISTEN_PID`, `LISTEN_FDS`, fds from 3) and readiness
 * notification (sd_notify: one datagram to `NOTIFY_SOCKET`).
 * @module
 */
import { loadAddon } from '../transport/addon.js';
import type { FdListen } from '../transport/types.js';
import { UsageError } from './errors.js';

/** sd_listen_fds(3): passed sockets start at this fd. */
const LISTEN_FDS_START = 3;

/**
 * The sockets systemd (or systemd-socket-activate) passed this process, or
 * undefined when none were. As sd_listen_fds(3): only when `LISTEN_PID` names this
 * process (and is set), so a child that inherited the environment does not take
 * them too; the variables are then removed for the same reason.
 *
 * @example
 * ```ts
 * const fds = activatedSockets(process.env, process.pid); // [{ fd: 3 }, { fd: 4 }] under systemd
 * ```
 */
export function activatedSockets(env: NodeJS.ProcessEnv, pid: number): FdListen[] | undefined {
  const count = env.LISTEN_FDS;
  if (count === undefined) return undefined;
  if (env.LISTEN_PID !== String(pid)) return undefined;
  const n = Number(count);
  if (!Number.isInteger(n) || n < 0 || n > 4096) throw new UsageError(`LISTEN_FDS must be a count of file descriptors (got ${count})`);
  for (const name of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete env[name];
  return n === 0 ? undefined : Array.from({ length: n }, (_, i) => ({ fd: LISTEN_FDS_START + i }));
}

/**
 * sd_notify(3): tells the service manager `state` (`READY=1`, `STOPPING=1`,
 * `STATUS=…`) when `NOTIFY_SOCKET` is set; does nothing otherwise. Returns why it
 * could not, for the caller to log: the datagram needs the native addon.
 *
 * @example
 * ```ts
 * const failed = sdNotify(process.env, 'READY=1');
 * if (failed) console.error(failed);
 * ```
 */
export function sdNotify(env: NodeJS.ProcessEnv, state: string): string | undefined {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') return undefined;
  const addon = loadAddon();
  if (addon instanceof Error) return `cannot notify systemd (${state}): ${addon.message}`;
  try {
    addon.sendDatagram(socket, state);
    return undefined;
  } catch (error) {
    return `cannot notify systemd (${state}): ${(error as Error).message}`;
  }
}

/** sd_notify for the command line: a failure is logged as a warning, never fatal. */
export function notifySystemd(state: string, log: { warn(fields: object, message: string): void }): void {
  const failed = sdNotify(process.env, state);
  if (failed !== undefined) log.warn({ state }, failed);
}
