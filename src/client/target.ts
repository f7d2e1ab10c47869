import { OptionsError } from '../core/errors.js';

/** Where a client connects: a Unix socket path, or a TCP host and port. */
export type ClientTarget = { readonly unix: string } | { readonly host: string; readonly port: number };

/**
 * Reads a target string: `unix:/path`, `/path` or `./x.sock` (anything with a
 * slash or ending in `.sock`) is a Unix socket; `tcp://host:port`, `host:port`,
 * `[::1]:port` or a bare `port` (on 127.0.0.1) is TCP.
 *
 * @example
 * ```ts
 * parseTarget('tcp://127.0.0.1:7070'); // { host: '127.0.0.1', port: 7070 }
 * parseTarget('./ringwire.sock');      // { unix: './ringwire.sock' }
 * ```
 * @throws OptionsError for anything else.
 */
export function parseTarget(target: string | ClientTarget): ClientTarget {
  if (typeof target !== 'string') return checkObject(target);
  if (target.startsWith('unix:')) return { unix: target.slice('unix:'.length).replace(/^\/\/(?=\/)/, '') };
  const tcp = target.startsWith('tcp://') ? target.slice('tcp://'.length) : target;
  if (target.startsWith('tcp://') || /^(\[[0-9a-fA-F:.]+\]|[^/:\s]+):\d+$/.test(tcp) || /^\d+$/.test(tcp)) {
    return hostPort(tcp, target);
  }
  if (target.includes('/') || target.endsWith('.sock')) return { unix: target };
  throw new OptionsError(`cannot read target ${JSON.stringify(target)}: use unix:/path, ./x.sock, tcp://host:port or host:port`);
}

/** How a target is written in messages: `unix:/path` or `tcp:host:port`. */
export function formatTarget(target: ClientTarget): string {
  if ('unix' in target) return `unix:${target.unix}`;
  return target.host.includes(':') ? `tcp:[${target.host}]:${target.port}` : `tcp:${target.host}:${target.port}`;
}

function hostPort(text: string, original: string): ClientTarget {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^/:\s]*)):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, undefined, '', text] : null);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new OptionsError(`cannot read TCP target ${JSON.stringify(original)}: expected host:port with a port 1-65535`);
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

function checkObject(target: ClientTarget): ClientTarget {
  if ('unix' in target && typeof target.unix === 'string' && target.unix !== '') return target;
  if ('port' in target && Number.isInteger(target.port) && typeof target.host === 'string') return target;
  throw new OptionsError('target must be { unix: path } or { host, port }');
}
