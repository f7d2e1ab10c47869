/**
 * Says why a listener could not be opened in the command line's terms: what the
 * errno means, or what is wrong with a Unix socket's directory, once.
 * @module
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ListenError } from '../errors.js';
import type { ListenTarget } from '../transport/types.js';
import { errnoOf } from '../transport/unixPath.js';

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
 * A {@link ListenError} with a plain reason. The native transport's message
 * already starts "cannot listen on X" and ListenError prefixes it again
 * (src/transport/native.ts, listenError()): the inner prefix is dropped here.
 */
export async function explainListenError(error: ListenError, targets: readonly ListenTarget[]): Promise<ListenError> {
  const found = locate(error.message, targets);
  if (found === undefined) return error;
  if (found.unix !== undefined && DIRECTORY_ERRNOS.has(error.errno)) {
    const why = await directoryProblem(dirname(found.unix), error.errno);
    if (why !== undefined) return new ListenError(found.unix, error.errno, why);
  }
  const plain = PLAIN[error.errno];
  const inner = found.inner.startsWith('cannot listen on ') ? found.inner.replace(/^cannot listen on .*: /s, '') : found.inner;
  return new ListenError(found.unix ?? found.name, error.errno, plain === undefined ? inner : `${plain} (${error.errno})`);
}

/** Which listener a message is about, and the reason after its name. */
function locate(message: string, targets: readonly ListenTarget[]): { name: string; unix?: string; inner: string } | undefined {
  for (const target of targets) {
    if (!('unix' in target)) continue;
    const prefix = `cannot listen on unix:${target.unix}: `;
    if (message.startsWith(prefix)) return { name: `unix:${target.unix}`, unix: target.unix, inner: message.slice(prefix.length) };
  }
  // The shortest name ending in :PORT: an IPv6 host may come bracketed (net) or bare (native).
  const tcp = /^cannot listen on (tcp:\S*?:\d+): (.*)$/s.exec(message);
  return tcp ? { name: bracketed(tcp[1]!), inner: tcp[2]! } : undefined;
}

/** `tcp:::1:7070` as the listening lines write it: `tcp:[::1]:7070`. */
function bracketed(name: string): string {
  const [, host, port] = /^tcp:(.*):(\d+)$/.exec(name)!;
  return host!.includes(':') && !host!.startsWith('[') ? `tcp:[${host}]:${port}` : name;
}

async function directoryProblem(dir: string, errno: string): Promise<string | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return `${dir} is not a directory`;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return `directory ${dir} does not exist`;
    if (errnoOf(error) === 'ENOTDIR') return `${dir} is not a directory`;
    return undefined;
  }
  return errno === 'EACCES' ? `no permission to create a socket in ${dir} (EACCES)` : undefined;
}
