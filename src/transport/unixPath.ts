/**
 * The rules both transports follow for a Unix socket path (PROTOCOL.md section 4):
 * a live server is never stolen from, a file that is not a socket is never removed,
 * a stale socket is taken over, and the file has its mode from the moment it exists.
 * @module
 */
import { createHash } from 'node:crypto';
import { lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { AddressInUseError, ListenError, NotASocketError } from '../core/errors.js';

/** How long a probe connection may take before the path counts as in use. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Longest path bind(2) takes: `sun_path` minus its terminating NUL. libuv silently
 * truncates a longer one and binds a file under a different name, which nobody
 * would ever remove, so such a path is refused up front.
 */
export const MAX_UNIX_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

type Probe = 'live' | 'stale' | { readonly errno: string; readonly message: string };

/**
 * Makes `path` ready to be bound: nothing there, or a stale socket (removed here).
 * Throws {@link AddressInUseError} when a server answers on it, {@link NotASocketError}
 * when something else is there (left untouched), and {@link ListenError} for a path
 * too long to bind or a probe that fails for another reason.
 *
 * @example
 * ```ts
 * await prepareUnixPath('/run/app.sock');
 * withUmask(0o600, () => server.listen('/run/app.sock'));
 * ```
 */
/** Held from before a socket path is checked until its listener closes. */
export interface PathLock {
  release(): void;
}

const NO_LOCK: PathLock = { release() {} };

/**
 * Makes "probe, remove if stale, bind" atomic between ringwire processes. On Linux
 * the lock is an abstract-namespace socket named after the path: binding it is
 * atomic, and the kernel frees it when its process dies, even by SIGKILL, so no
 * stale lock file can be left. Elsewhere (no abstract namespace) nothing is locked
 * and the probe alone decides, with the small race that implies.
 */
async function lockPath(path: string): Promise<PathLock> {
  if (process.platform !== 'linux') return NO_LOCK;
  const name = `\0ringwire-lock:${createHash('sha256').update(resolvePath(path)).digest('hex')}`;
  const server: Server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (errnoOf(error) === 'EADDRINUSE') throw new AddressInUseError(path);
    return NO_LOCK; // the lock is a refinement: where it cannot be had, the probe still decides
  }
  server.unref();
  return { release: () => void server.close() };
}

/**
 * Checks a Unix socket path before binding it (PROTOCOL.md 4): nothing there, or a
 * stale socket (removed), may be bound; a live server or a non-socket is an error.
 * Returns a lock to release when the listener closes.
 */
export async function prepareUnixPath(path: string): Promise<PathLock> {
  if (Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw new ListenError(`unix:${path}`, 'ENAMETOOLONG', `socket paths are limited to ${MAX_UNIX_PATH_BYTES} bytes`);
  }
  const lock = await lockPath(path);
  try {
    await checkPath(path);
    return lock;
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function checkPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw new ListenError(`unix:${path}`, errnoOf(error) ?? 'EIO', messageOf(error));
  }
  if (!isSocket) throw new NotASocketError(path);
  const probe = await probeSocket(path);
  if (probe === 'live') throw new AddressInUseError(path);
  if (probe === 'stale') {
    await unlinkIgnoringMissing(path);
    return;
  }
  throw new ListenError(`unix:${path}`, probe.errno, probe.message);
}

/**
 * Runs `fn` (which must bind synchronously) with the process umask set so that
 * files it creates get exactly `mode`, then restores the umask. The umask is
 * process-wide, but `fn` is synchronous, so no other JavaScript runs meanwhile.
 *
 * Worker threads cannot change the umask; there `fn` runs under the current one and
 * the caller's chmod after bind is what sets the mode (a short window in which the
 * umask, usually 022, applies: connecting needs write permission, which 022 withholds).
 *
 * @example
 * ```ts
 * withUmask(0o660, () => server.listen('/run/app.sock'));
 * await chmod('/run/app.sock', 0o660);
 * ```
 */
export function withUmask<T>(mode: number, fn: () => T): T {
  let previous: number;
  try {
    previous = process.umask(~mode & 0o777);
  } catch {
    return fn();
  }
  try {
    return fn();
  } finally {
    process.umask(previous);
  }
}

/**
 * Removes the socket file at `path` at a clean shutdown, only if it is still a socket
 * (and, when `ino` is given, still the very socket that was bound: a server that has
 * since taken the path over keeps its file). Never throws.
 *
 * @example
 * ```ts
 * await removeSocketFile('/run/app.sock');
 * ```
 */
export async function removeSocketFile(path: string, ino?: number): Promise<void> {
  try {
    const stat = await lstat(path);
    if (!stat.isSocket() || (ino !== undefined && stat.ino !== ino)) return;
    await unlink(path);
  } catch {
    // Already gone (libuv unlinks a pipe it closes), or not ours to remove.
  }
}

function probeSocket(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const timer = setTimeout(() => finish('live'), PROBE_TIMEOUT_MS);
    function finish(result: Probe): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
    socket.once('connect', () => finish('live'));
    socket.once('error', (error) => {
      const errno = errnoOf(error);
      if (errno === 'ECONNREFUSED' || errno === 'ENOENT') finish('stale');
      // A full backlog answers EAGAIN: the server is alive, only busy.
      else if (errno === 'EAGAIN') finish('live');
      else finish({ errno: errno ?? 'EIO', message: messageOf(error) });
    });
  });
}

async function unlinkIgnoringMissing(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw new ListenError(`unix:${path}`, errnoOf(error) ?? 'EIO', messageOf(error));
  }
}

/** The errno name (`ENOENT`, …) of a system error, if it is one. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
