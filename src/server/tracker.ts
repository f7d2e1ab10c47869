import { backpressure } from '../../operators/backpressure.js';
import { InFlightCount } from '../../operators/inFlightCount.js';
import { fusable, stage } from '../../operators/internal/fusion.js';
import type { Destination } from '../../operators/internal/outbox.js';
import { type Connection, PauseReason } from '../core/connection.js';
import type { Protocol } from '../core/records.js';
import { ConnectionMap, reserveSlot } from '../core/slots.js';
import type { Limits } from './options.js';
import type { Stage } from './stages.js';
import type { StatsCollector } from './stats.js';

/** Where each connection keeps its {@link ConnState}. */
const SLOT = reserveSlot();

/**
 * A connection's protocol (its index in PROTOCOLS; 3 while unknown) and, in bit 2,
 * that its peer finished sending: a small integer, nothing allocated per connection.
 */
type ConnState = number;
const PROTOCOLS: readonly Protocol[] = ['jsonrpc', 'lsp', 'mcp1'];
const UNKNOWN = 3;
const ENDED = 4;
/** MCP1: the connection's requests come with JSON payloads, so what the server sends it does too. */
const JSON_PAYLOADS = 8;

/**
 * The server's own view of its connections, put into the pipeline as probes
 * (`ringwire:` stages): the stats, and ending connections whose peer has finished
 * (or all of them, when draining) once their last answer is written. Requests in
 * flight are counted once, by the backpressure() it wraps around the `handle`
 * stage; the tracker reads that count.
 */
export class ConnectionTracker {
  private readonly states = new ConnectionMap<ConnState>(SLOT);
  /** THE count of requests in flight (backpressure() keeps it). */
  readonly inFlight = new InFlightCount((connection) => this.idle(connection));
  private draining = false;
  /** Connections ended by the drain (reading again, input dropped by `gate`). */
  private readonly ending = new WeakSet<Connection>();
  private waiting: Array<() => void> = [];

  /** @param onViolation told of each protocol violation (for a debug log); absent, nothing is called. */
  constructor(
    private readonly stats: StatsCollector,
    private readonly onViolation?: (connection: Connection, reason: string) => void,
  ) {}

  /**
   * First stage: while draining, drops the input of connections the server has
   * ended. Their reading resumes only so that the peer's FIN is seen; what they
   * send after that cannot be answered, and their FIN already told them so.
   */
  readonly gate: Stage = fusable({
    create: (out) =>
      stage(out, (r) => {
        if (r.type === 'data' && this.draining && this.ending.has(r.connection)) return;
        out.next(r);
      }),
  });

  /** After `detectProtocol`: counts each connection's protocol once. */
  readonly afterDetect: Stage = fusable({
    create: (out) =>
      stage(out, (r) => {
        if (r.type === 'data' && r.protocol !== undefined && this.states.get(r.connection) === undefined && !r.connection.closed) {
          this.states.set(r.connection, PROTOCOLS.indexOf(r.protocol));
          this.stats.detected(r.protocol);
        }
        out.next(r);
      }),
  });

  /** Right before `handle`: messages in. */
  readonly beforeHandle: Stage = fusable({
    create: (out) =>
      stage(out, (r) => {
        // A reply made upstream (a pong, a decode error) answers an incoming message too.
        if (r.type === 'request' || r.type === 'cancel' || r.type === 'reply' || r.type === 'response') this.stats.messagesIn++;
        if (r.type === 'request' && r.json === true) {
          const st = this.states.get(r.connection);
          if (st !== undefined && (st & JSON_PAYLOADS) === 0) this.states.set(r.connection, st | JSON_PAYLOADS);
        }
        out.next(r);
      }),
  });

  /**
   * Right after `handle`: messages out, errors, violations; a peer's FIN ends its
   * connection at once when nothing of it is in flight (else its last answer does,
   * through the count). The record is passed on FIRST, so the encoders and the
   * sink have written it before a connection is ended here.
   */
  readonly afterHandle: Stage = fusable({
    create: (out) =>
      stage(out, (r) => {
        out.next(r);
        if (r.type === 'reply') {
          if (!r.silent) {
            this.stats.messagesOut++;
            if (r.kind === 'result') countResult(this.stats.results, r.protocol);
            else if (r.kind === 'error' && r.error) this.stats.failed(r.protocol, r.error.code);
          }
          if (r.kind === 'error' && r.error) this.stats.error(r.error.code);
        } else if (r.type === 'violation') {
          this.stats.violation(r.reason);
          this.onViolation?.(r.connection, r.reason);
          if (r.error) {
            this.stats.error(r.error.code);
            this.stats.messagesOut++;
          }
        } else if (r.type === 'end') {
          if (this.inFlight.of(r.connection) === 0) r.connection.end();
          else this.states.set(r.connection, (this.states.get(r.connection) ?? UNKNOWN) | ENDED);
        }
      }),
  });

  /** `handle` wrapped in the backpressure() that keeps the count of requests in flight. */
  counted(handle: Stage, limits: Limits): Stage {
    return backpressure(handle, {
      highWater: limits.maxInFlight,
      lowWater: Math.max(0, Math.floor(limits.maxInFlight / 2)),
      count: this.inFlight,
    });
  }

  /** Where to send `connection` messages: its protocol and payload encoding; undefined while its protocol is unknown. */
  destination(connection: Connection): Destination | undefined {
    const st = this.states.get(connection);
    if (st === undefined || (st & 3) === UNKNOWN) return undefined;
    return { connection, protocol: PROTOCOLS[st & 3]!, json: (st & JSON_PAYLOADS) !== 0 };
  }

  /** The transport closed `connection`: forget it. */
  closed(connection: Connection): void {
    const st = this.states.get(connection);
    this.stats.closed(connection.listener.name, st === undefined ? undefined : PROTOCOLS[st & 3]);
    this.states.delete(connection);
    this.inFlight.forget(connection);
    this.notifyIdle();
  }

  /**
   * Starts draining: stops reading every connection (no new request starts), and
   * from now on ends each one as soon as nothing is in flight on it.
   */
  drain(connections: Iterable<Connection>): void {
    this.draining = true;
    for (const conn of connections) {
      conn.pause(PauseReason.User);
      if (this.inFlight.of(conn) === 0) this.endDrained(conn);
    }
  }

  /** Ends `connection` for the drain, and reads on only to see the peer's FIN. */
  endDrained(connection: Connection): void {
    this.ending.add(connection);
    connection.end();
    connection.resume(PauseReason.User);
  }

  /** Resolves once no request is in flight on any connection. */
  whenIdle(): Promise<void> {
    if (this.inFlight.total <= 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The last answer in flight on `connection` was written. */
  private idle(connection: Connection): void {
    if (this.draining) this.endDrained(connection);
    else if (((this.states.get(connection) ?? 0) & ENDED) !== 0) connection.end();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inFlight.total > 0 || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** Named increments, not `results[protocol]++`: a keyed store with varying keys goes megamorphic on the hot path. */
function countResult(results: Record<Protocol, number>, protocol: Protocol): void {
  if (protocol === 'jsonrpc') results.jsonrpc++;
  else if (protocol === 'mcp1') results.mcp1++;
  else results.lsp++;
}
