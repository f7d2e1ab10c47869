import type { Observable } from 'rxjs';
import type { Slice } from '../records.js';

/** Which transport implementation carries a server's sockets. */
export type TransportKind = 'native' | 'net';

/**
 * Why a connection's reading is paused. Reading runs only while no reason holds;
 * each stage pauses and resumes with its own bit, so they never undo each other.
 */
export const PauseReason = {
  /** The user called `pause()` without a reason. */
  User: 1,
  /** Too many requests in flight (the `backpressure()` operator). */
  InFlight: 2,
  /** Unsent output over `writeHighWaterBytes` (the transport itself). */
  Write: 4,
  /** The consumer of `for await (… of connection)` has not asked for more. */
  Pull: 8,
} as const;

/** Where a connection came from. */
export interface PeerInfo {
  /** `'unix'` for Unix domain sockets. */
  readonly family: 'IPv4' | 'IPv6' | 'unix';
  /** The peer's IP address; for Unix sockets the listener's path. */
  readonly address: string;
  /** The peer's TCP port; 0 for Unix sockets. */
  readonly port: number;
  /** Unix sockets on the native transport: the peer process's credentials (SO_PEERCRED). */
  readonly uid?: number;
  readonly gid?: number;
  readonly pid?: number;
}

/** The client address a PROXY protocol header carried (set by `proxyProtocol()`). */
export interface ProxiedAddress {
  readonly family: 'IPv4' | 'IPv6' | 'unix' | 'unknown';
  readonly address: string;
  readonly port: number;
  readonly destinationAddress?: string;
  readonly destinationPort?: number;
}

/** One listening socket of a transport server. */
export interface ListenerInfo {
  /** Index of this listener in `ListenOptions.listen`. */
  readonly index: number;
  readonly kind: 'unix' | 'tcp';
  /** `unix:/path/to.sock` or `tcp:127.0.0.1:7070` (`tcp:[::1]:7070` for IPv6). */
  readonly name: string;
  /** Socket path, or the bound host. */
  readonly address: string;
  /** Bound TCP port (the real one when 0 was asked for); 0 for Unix sockets. */
  readonly port: number;
  /** Whether connections on this listener must open with a PROXY protocol header. */
  readonly proxyProtocol: boolean;
}

/**
 * One client connection. A small plain object: the transport keeps no RxJS state
 * per connection (docs/ARCHITECTURE.md, "Per-connection state: slots on the connection"), so an idle
 * connection costs a few
 * hundred bytes.
 *
 * @example
 * ```ts
 * server.slices$.subscribe(({ connection, bytes }) => {
 *   if (!connection.write(bytes)) console.log('peer is slow; reading paused until it drains');
 * });
 * ```
 */
export interface Connection {
  /** Unique per transport server, never reused. */
  readonly id: number;
  readonly listener: ListenerInfo;
  /** Who is on the other end (computed on first use). */
  readonly peer: PeerInfo;
  /** Set by `proxyProtocol()` when the listener sits behind a PROXY-protocol balancer. */
  proxied?: ProxiedAddress;
  /**
   * Where the operators keep their per-connection state (detected protocol, partial
   * frame, in-flight count), so the one pipeline finds it without a lookup. Opaque:
   * create it with `newSlots()`, or leave it out (operators then fall back to a Map).
   */
  readonly slots?: unknown[];
  /** True once the connection is fully closed; writes are then dropped. */
  readonly closed: boolean;
  /** True once the peer has finished sending (FIN, reset or close). */
  readonly inputEnded: boolean;
  /** Bytes queued for this connection and not yet accepted by the kernel. */
  readonly writableLength: number;
  /**
   * Queues bytes; they are flushed once per event-loop turn. The bytes are copied,
   * so the caller may reuse them at once. Returns false once unsent output is over
   * `writeHighWaterBytes`; reading from this connection is then paused (reason
   * `PauseReason.Write`) until the peer reads. Returns false on a closed connection.
   */
  write(bytes: Uint8Array): boolean;
  /** Stops reading from this connection (for `reason`, default `PauseReason.User`). */
  pause(reason?: number): void;
  /** Lifts `reason`; reading resumes once no reason holds. */
  resume(reason?: number): void;
  /** The reasons currently holding reading paused (0 = reading). */
  readonly pausedBy: number;
  /** Flushes queued output, then closes (half-closes first if the peer is still sending). */
  end(): void;
  /** Closes at once, dropping unsent output. */
  close(): void;
  /**
   * This connection's own records (an `open` record is not repeated; `end` completes
   * it). Created only when subscribed: the server's merged `slices$` is the cheap path.
   */
  readonly slices$: Observable<Slice>;
}

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

export type ListenTarget = UnixListen | TcpListen;

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
}
