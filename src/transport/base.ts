import { Observable, Subject } from 'rxjs';
import { type Connection, type ListenerInfo, PauseReason, type PeerInfo, type ProxiedAddress } from '../core/connection.js';
import type { DataRecord, Slice } from '../core/records.js';
import { Relay } from '../core/relay.js';
import { newSlots } from '../core/slots.js';
import type { ConnectionEvent, TransportKind, TransportServer, TransportStats } from './types.js';

/** Internal pause reason: nobody subscribes to this connection's records yet. */
export const PAUSE_INACTIVE = 1 << 16;

/**
 * After end(), how long a peer that keeps sending may hold the connection before it
 * is closed outright. Half-closing first lets the peer read what we wrote before it
 * sees the close (a close with unread input would send RST and could destroy it).
 */
export const LINGER_MS = 2000;

/**
 * The I/O a transport implements; everything else (pause reasons, write
 * backpressure, the merged and per-connection streams, counters) is shared here.
 */
export interface TransportIo<C> {
  setReading(conn: C, on: boolean): void;
  /** Queues bytes; returns the connection's unsent byte count after queueing. */
  write(conn: C, bytes: Uint8Array): number;
  writableLength(conn: C): number;
  end(conn: C): void;
  close(conn: C): void;
  peer(conn: C): PeerInfo;
}

/** A connection of either transport. Plain fields only: no closures, no subscriptions. */
export class TransportConnection implements Connection {
  proxied?: ProxiedAddress;
  closed = false;
  inputEnded = false;
  ending = false;
  pausedBy = 0;
  readonly slots: unknown[] = newSlots();
  /** This connection's own stream, only while someone subscribes to `slices$`. */
  subject: Subject<Slice> | undefined = undefined;
  private peerInfo: PeerInfo | undefined = undefined;

  constructor(
    readonly transport: BaseTransport<TransportConnection>,
    readonly id: number,
    readonly listener: ListenerInfo,
    /** The transport's own handle (native slot number, or net.Socket). */
    readonly handle: unknown,
  ) {}

  get peer(): PeerInfo {
    return (this.peerInfo ??= this.transport.io.peer(this));
  }

  get writableLength(): number {
    return this.closed ? 0 : this.transport.io.writableLength(this);
  }

  write(bytes: Uint8Array): boolean {
    // After end() the output side is closing: nothing more may be queued.
    if (this.closed || this.ending) return false;
    const transport = this.transport;
    const unsent = transport.io.write(this, bytes);
    transport.bytesOut += bytes.length;
    if (unsent > transport.writeHighWaterBytes) {
      this.pause(PauseReason.Write);
      return false;
    }
    return true;
  }

  pause(reason: number = PauseReason.User): void {
    const was = this.pausedBy;
    this.pausedBy = was | reason;
    if (was === 0 && this.pausedBy !== 0 && !this.closed) this.transport.io.setReading(this, false);
  }

  resume(reason: number = PauseReason.User): void {
    if ((this.pausedBy & reason) === 0) return;
    this.pausedBy &= ~reason;
    if (this.pausedBy === 0 && !this.closed && !this.inputEnded) this.transport.io.setReading(this, true);
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.transport.io.end(this);
    if (!this.closed) this.transport.linger(this);
  }

  close(): void {
    if (!this.closed) this.transport.io.close(this);
  }

  get slices$(): Observable<Slice> {
    return new Observable<Slice>((subscriber) => {
      if (this.inputEnded) {
        subscriber.next({ type: 'end', connection: this });
        subscriber.complete();
        return undefined;
      }
      const subject = (this.subject ??= new Subject<Slice>());
      const subscription = subject.subscribe(subscriber);
      this.resume(PAUSE_INACTIVE);
      return () => {
        subscription.unsubscribe();
        if (!subject.observed && this.subject === subject) {
          this.subject = undefined;
          if (!this.transport.active) this.pause(PAUSE_INACTIVE);
        }
      };
    });
  }
}

/**
 * Shared half of both transports. Subclasses call `opened`, `data`, `inputEnd`,
 * `closed` and `drained` from their I/O callbacks.
 */
export abstract class BaseTransport<C extends TransportConnection = TransportConnection> implements TransportServer {
  abstract readonly kind: TransportKind;
  abstract readonly ioBackend: string;
  abstract readonly io: TransportIo<C>;
  abstract readonly listeners: readonly ListenerInfo[];
  readonly connections = new Set<C>();
  readonly connections$ = new Subject<ConnectionEvent>();
  readonly slices$: Observable<Slice>;
  active = false;
  accepted = 0;
  rejected = 0;
  bytesIn = 0;
  bytesOut = 0;
  private nextId = 1;
  /** Every record of every connection, to whoever subscribed to `slices$` (hot path: not a Subject). */
  private readonly relay = new Relay<Slice>((observed) => this.setActive(observed));
  private readonly lingering: Array<{ conn: C; deadline: number }> = [];
  private lingerTimer: NodeJS.Timeout | undefined = undefined;

  constructor(readonly writeHighWaterBytes: number) {
    this.slices$ = this.relay.observable;
  }

  abstract stopAccepting(): Promise<void>;
  abstract close(): Promise<void>;

  stats(): TransportStats {
    return {
      open: this.connections.size,
      accepted: this.accepted,
      rejected: this.rejected,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }

  protected newId(): number {
    return this.nextId++;
  }

  /** Registers a new connection; it reads only once someone subscribes. */
  protected opened(conn: C): void {
    this.accepted++;
    this.connections.add(conn);
    if (!this.active) {
      conn.pausedBy |= PAUSE_INACTIVE;
      this.io.setReading(conn, false);
    }
    this.connections$.next({ type: 'open', connection: conn });
    this.emit({ type: 'open', connection: conn });
  }

  protected data(conn: C, bytes: Uint8Array): void {
    this.bytesIn += bytes.length;
    const record: DataRecord = { type: 'data', connection: conn, bytes };
    this.emit(record);
  }

  /** The peer finished sending; the connection may still be written to. */
  protected inputEnd(conn: C): void {
    if (conn.inputEnded) return;
    conn.inputEnded = true;
    this.emit({ type: 'end', connection: conn });
    const subject = conn.subject;
    if (subject) {
      conn.subject = undefined;
      subject.complete();
    }
  }

  /** The connection is gone. */
  protected closed(conn: C, error?: string): void {
    if (conn.closed) return;
    this.inputEnd(conn);
    conn.closed = true;
    this.connections.delete(conn);
    this.connections$.next(error ? { type: 'close', connection: conn, error } : { type: 'close', connection: conn });
  }

  /** The transport is closed: completes `slices$` and `connections$`. */
  protected finish(): void {
    this.relay.complete();
    this.connections$.complete();
  }

  /** Unsent output drained below the high-water mark. */
  protected drained(conn: C): void {
    conn.resume(PauseReason.Write);
  }

  /** Closes `conn` if it is still open LINGER_MS after end(). */
  linger(conn: C): void {
    this.lingering.push({ conn, deadline: Date.now() + LINGER_MS });
    this.lingerTimer ??= setInterval(() => this.sweepLingering(), LINGER_MS / 4).unref();
  }

  private sweepLingering(): void {
    const now = Date.now();
    let done = 0;
    while (done < this.lingering.length && this.lingering[done]!.deadline <= now) {
      const { conn } = this.lingering[done++]!;
      if (!conn.closed) conn.close();
    }
    this.lingering.splice(0, done);
    if (this.lingering.length === 0 && this.lingerTimer) {
      clearInterval(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }

  private emit(record: Slice): void {
    this.relay.next(record);
    const own = record.connection as C;
    if (own.subject && record.type !== 'open') own.subject.next(record);
  }

  private setActive(on: boolean): void {
    if (this.active === on) return;
    this.active = on;
    for (const conn of this.connections) {
      if (on) conn.resume(PAUSE_INACTIVE);
      else if (!conn.subject) conn.pause(PAUSE_INACTIVE);
    }
  }
}
