/**
 * Transport-only types: the listening server, its options and counters (what operators see of a connection is in src/core/connection.ts).
 * @module
 */
import type { Observable } from 'rxjs';
import type { Connection, ListenerInfo } from '../core/connection.js';
import type { Slice } from '../core/records.js';

/** Which transport implementation carries a server's sockets. */
export type TransportKind = 'native' | 'net';

/** Transport-level counters. */
export interface TransportStats {
  readonly open: number;
  readonly accepted: number;
  /** Connections accepted and closed at once (maxConnections, allowUids). */
  readonly rejected: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** A connection's lifecycle event. */
export interface ConnectionEvent {
  readonly type: 'open' | 'close';
  readonly connection: Connection;
  /** On close: the errno name when the connection failed (`ECONNRESET`, …). */
  readonly error?: string;
}

/**
 * A listening transport: ONE stream of byte slices for all of its connections.
 *
 * Bytes are read only while `slices$` has a subscriber; connections accepted before
 * that wait, unread.
 */
export interface TransportServer {
  readonly kind: TransportKind;
  /** What drives the sockets: `io_uring`, `epoll` or `kqueue` (native), `net` (node:net). */
  readonly ioBackend: string;
  /** Why io_uring was not used although `ioBackend` allowed it (native `'auto'` only). */
  readonly ioBackendFallback?: string;
  readonly listeners: readonly ListenerInfo[];
  /**
   * Every connection's records, merged: `open`, then `data` slices, then `end`.
   * A `data` record's `bytes` is a view into the transport's read buffer, valid only
   * until this emission returns: copy it (`bytes.slice()`) to keep it.
   *
   * Hot: a subscriber sees the `open` records of connections accepted while it is
   * subscribed. No byte is read while nobody subscribes, so a late subscriber loses
   * no data, but may see a connection's first `data` without its `open`: operators
   * treat the first record of a connection, whatever its type, as its start.
   * Completes when the transport is closed.
   */
  readonly slices$: Observable<Slice>;
  /** Opens and closes. */
  readonly connections$: Observable<ConnectionEvent>;
  /** Live connections. */
  readonly connections: ReadonlySet<Connection>;
  stats(): TransportStats;
  /** Closes the listeners (and removes Unix socket files); connections stay. */
  stopAccepting(): Promise<void>;
  /** Stops accepting and closes every connection at once. */
  close(): Promise<void>;
}

/** A Unix domain socket listener. */
export interface UnixListen {
  readonly unix: string;
  /** File mode of the socket file, from the moment it exists. Default 0o600. */
  readonly mode?: number;
  readonly proxyProtocol?: boolean;
  /** Refuse peers whose uid (SO_PEERCRED) is not listed, before reading a byte. Native transport only. */
  readonly allowUids?: readonly number[];
  readonly backlog?: number;
}

/** A TCP listener. */
export interface TcpListen {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (see `ListenerInfo.port`). */
  readonly port: number;
  /** SO_REUSEPORT, so several processes share the port. Native transport only. */
  readonly reusePort?: boolean;
  /** For `::`, accept IPv6 only. */
  readonly ipv6Only?: boolean;
  readonly proxyProtocol?: boolean;
  readonly backlog?: number;
}

/**
 * A listening socket someone else opened and passed on: systemd's socket activation
 * (`LISTEN_FDS`), or the primary of `ringwire serve --processes`. Unix or TCP, as
 * the socket is; its name comes from getsockname. The server takes the fd over
 * (closing the server closes it, as node:net's `listen({ fd })` does) but never
 * removes a socket file: that belongs to whoever made it. On the native transport several processes may accept on one such socket:
 * each connection wakes one of them (EPOLLEXCLUSIVE), not all.
 */
export interface FdListen {
  readonly fd: number;
  readonly proxyProtocol?: boolean;
  /** As {@link UnixListen.allowUids}; only for a Unix socket, native transport only. */
  readonly allowUids?: readonly number[];
  readonly backlog?: never;
}

export type ListenTarget = UnixListen | TcpListen | FdListen;

/**
 * How the native transport drives its sockets on Linux: `'io_uring'` (a completion
 * ring: one system call per loop turn for every connection), `'epoll'` (readiness:
 * a read and a write per request; kqueue on macOS and BSD), or `'auto'` (default):
 * io_uring where the kernel allows it, else epoll. The `RINGWIRE_IO_BACKEND`
 * environment variable, when set, overrides the option (e.g. `epoll` to force it).
 */
export type IoBackend = 'auto' | 'io_uring' | 'epoll';

/** Options of `listen()`. */
export interface ListenOptions {
  readonly listen: readonly ListenTarget[];
  /** `'auto'` (default) picks native, and net with one warning where the addon cannot load. */
  readonly transport?: TransportKind | 'auto';
  /** New connections past this are accepted and closed at once (counted as rejected). Default 10000. */
  readonly maxConnections?: number;
  /** Unsent bytes per connection over which reading pauses. Default 1 MiB. */
  readonly writeHighWaterBytes?: number;
  /** Native: size of the shared read buffer one loop turn reads into. Default 1 MiB. */
  readonly readBufferBytes?: number;
  /** Native: the loop's system interface (see {@link IoBackend}). Default `'auto'`. */
  readonly ioBackend?: IoBackend;
}
