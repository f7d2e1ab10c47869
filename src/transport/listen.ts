import { NativeUnavailableError } from '../core/errors.js';
import { listenNative, nativeLoadError } from './native.js';
import { listenNet } from './net.js';
import type { ListenOptions, TransportServer } from './types.js';

let warned = false;

/**
 * Opens listeners and gives ONE stream of byte slices for all their connections.
 *
 * @example
 * ```ts
 * const server = await listen({ listen: [{ unix: '/tmp/echo.sock' }, { port: 7070 }] });
 * server.slices$.subscribe((r) => { if (r.type === 'data') r.connection.write(r.bytes); });
 * ```
 */
export async function listen(options: ListenOptions): Promise<TransportServer> {
  const kind = options.transport ?? 'auto';
  if (kind === 'net') return listenNet(options);
  if (kind === 'native') return listenNative(options);
  const why = nativeLoadError();
  if (why === undefined) return listenNative(options);
  if (!warned) {
    warned = true;
    process.emitWarning(new NativeUnavailableError(`${why.message}; using node:net`).message, 'RingwireWarning');
  }
  return listenNet(options);
}
