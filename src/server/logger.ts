/**
 * What the server needs of a logger: the part of pino's `Logger` it calls, so a
 * pino logger (or a child of one) fits as it is, and anything else that has these
 * methods does too.
 * @module
 */
import type { PeerInfo } from '../core/connection.js';

/** A structured log call: fields first, then the message (pino's order). */
export type LogMethod = (fields: Readonly<Record<string, unknown>>, message: string) => void;

/**
 * The logger `createServer({ logger })` writes to. A pino `Logger` satisfies it.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const server = await createServer({ listen: [{ port: 7070 }], handlers, logger: pino({ level: 'debug' }) });
 * ```
 */
export interface ServerLogger {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** Read once, when the server starts: debug logging costs nothing when it is off. */
  isLevelEnabled(level: string): boolean;
}

/** A peer in a log line: `127.0.0.1:50412`, `[::1]:50412`, or `unix` (with the pid where the transport knows it). */
export function describePeer(peer: PeerInfo): string {
  if (peer.family === 'unix') return peer.pid === undefined ? 'unix' : `unix pid ${peer.pid}`;
  return peer.family === 'IPv6' ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
}

/** `10 s` or `300 ms`, as the CLI's flags are read. */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
