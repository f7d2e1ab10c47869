import { EMPTY, type Observable } from 'rxjs';
import type { Connection, ListenerInfo, PeerInfo, ProxiedAddress } from '../core/connection.js';
import type { Slice } from '../core/records.js';
import { newSlots } from '../core/slots.js';

/** Options of {@link testConnection}. */
export interface TestConnectionOptions {
  readonly id?: number;
  readonly peer?: Partial<PeerInfo>;
  readonly listener?: Partial<ListenerInfo>;
}

/**
 * A socket-less {@link Connection} for specs: it records what is written to it and
 * how its reading was paused, so a pipeline can be tested without a server.
 *
 * @example
 * ```ts
 * const conn = testConnection();
 * conn.write(new TextEncoder().encode('hi'));
 * expect(conn.writtenText()).toBe('hi');
 * ```
 */
export class TestConnection implements Connection {
  readonly id: number;
  readonly listener: ListenerInfo;
  readonly peer: PeerInfo;
  proxied?: ProxiedAddress;
  closed = false;
  inputEnded = false;
  pausedBy = 0;
  readonly slots: unknown[] = newSlots();
  /** Set once `end()` was called. */
  ended = false;
  /** Every chunk passed to `write()`, copied. */
  readonly written: Uint8Array[] = [];
  /** What `writableLength` reports (set it to simulate a slow peer). */
  unsent = 0;
  /** Every pause/resume call, in order: `['pause', reason]`. */
  readonly demandLog: Array<['pause' | 'resume', number]> = [];
  readonly slices$: Observable<Slice> = EMPTY;

  constructor(options: TestConnectionOptions = {}) {
    this.id = options.id ?? nextTestId++;
    this.listener = {
      index: 0,
      kind: 'tcp',
      name: 'tcp:127.0.0.1:0',
      address: '127.0.0.1',
      port: 0,
      proxyProtocol: false,
      ...options.listener,
    };
    this.peer = { family: 'IPv4', address: '127.0.0.1', port: 40000 + this.id, ...options.peer };
  }

  get writableLength(): number {
    return this.unsent;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.written.push(bytes.slice());
    return true;
  }

  pause(reason = 1): void {
    this.demandLog.push(['pause', reason]);
    this.pausedBy |= reason;
  }

  resume(reason = 1): void {
    this.demandLog.push(['resume', reason]);
    this.pausedBy &= ~reason;
  }

  end(): void {
    this.ended = true;
    this.closed = true;
  }

  close(): void {
    this.closed = true;
  }

  /** All written bytes, concatenated. */
  writtenBytes(): Uint8Array {
    const total = this.written.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const chunk of this.written) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** All written bytes as UTF-8 text. */
  writtenText(): string {
    return new TextDecoder().decode(this.writtenBytes());
  }
}

let nextTestId = 1;

/** Creates a {@link TestConnection}. */
export function testConnection(options?: TestConnectionOptions): TestConnection {
  return new TestConnection(options);
}
