/**
 * The Connection interface and what it names (its listener, peer, PROXY address, pause reasons): what operators see of a transport.
 * @module
 */
import type { Observable } from 'rxjs';
import type { Slice } from './records.js';

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
