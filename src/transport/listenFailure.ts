/**
 * Why a listener could not be opened, in plain words, the same on both transports:
 * what the errno means where the system's own text says less, and what is wrong
 * with a Unix socket's directory (libuv reports a missing directory as EACCES).
 * @module
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ListenError } from '../core/errors.js';
import { errnoOf } from './unixPath.js';

/** errnos whose system text ("listen EADDRINUSE: address already in use 127.0.0.1:7070") says less than this. */
const PLAIN: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'this machine has no such address',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** errnos a Unix socket's directory may be behind. */
const DIRECTORY_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EACCES']);

/**
 * The ListenError for listener `name` (`unix:/path` or `tcp:host:port`) that
 * failed with `errno`; `detail` is the system's own text, said where no plainer
 * words fit. `unixPath` is the socket's path, for a look at its directory.
 */
export async function listenFailure(name: string, errno: string, detail: string, unixPath?: string): Promise<ListenError> {
  if (unixPath !== undefined && DIRECTORY_ERRNOS.has(errno)) {
    const found = await directoryProblem(dirname(unixPath), errno);
    if (found !== undefined) return new ListenError(name, found.errno, found.why);
  }
  const plain = PLAIN[errno];
  return new ListenError(name, errno, plain === undefined ? detail : `${plain} (${errno})`);
}

/** What is wrong with the socket's directory, with the errno that names it (not libuv's EACCES for a missing one). */
async function directoryProblem(dir: string, errno: string): Promise<{ errno: string; why: string } | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return { errno: 'ENOTDIR', why: `${dir} is not a directory` };
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { errno: 'ENOENT', why: `directory ${dir} does not exist` };
    if (errnoOf(error) === 'ENOTDIR') return { errno: 'ENOTDIR', why: `${dir} is not a directory` };
    return undefined;
  }
  return errno === 'EACCES' ? { errno, why: `no permission to create a socket in ${dir} (EACCES)` } : undefined;
}
