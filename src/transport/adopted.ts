import type { ListenerInfo } from '../core/connection.js';
import type { FdListen } from './types.js';

/** What a listener adopted from `target.fd` is called, from its own address. */
export function adoptedListener(index: number, target: FdListen, family: string, address: string, port: number): ListenerInfo {
  const proxyProtocol = target.proxyProtocol ?? false;
  if (family === 'unix') return { index, kind: 'unix', name: `unix:${address || `fd${target.fd}`}`, address, port: 0, proxyProtocol };
  const shown = family === 'IPv6' ? `[${address}]` : address;
  return { index, kind: 'tcp', name: `tcp:${shown}:${port}`, address, port, proxyProtocol };
}
