import type { TransportKind } from '../../src/transport/types.js';

const KINDS: readonly TransportKind[] = ['native', 'net'];

/**
 * The transports every transport spec runs against: `RINGWIRE_TRANSPORTS`
 * (comma-separated, e.g. `net` while the addon is not built), default both.
 */
export function transports(): TransportKind[] {
  const names = (process.env.RINGWIRE_TRANSPORTS ?? 'native,net')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (!KINDS.includes(name as TransportKind)) {
      throw new Error(`RINGWIRE_TRANSPORTS: unknown transport "${name}" (expected ${KINDS.join(', ')})`);
    }
  }
  return names as TransportKind[];
}

/** The listener kinds a behaviour is checked on. */
export type SocketKind = 'unix' | 'tcp';
export const SOCKET_KINDS: readonly SocketKind[] = ['unix', 'tcp'];
