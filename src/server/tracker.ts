import { Observable } from 'rxjs';
import { hop } from '../../operators/internal/hop.js';
import { type Connection, PauseReason } from '../core/connection.js';
import type { PipelineRecord, Protocol } from '../core/records.js';
import { ConnectionMap, reserveSlot } from '../core/slots.js';
import type { Stage } from './stages.js';
import type { StatsCollector } from './stats.js';

/** Where each connection keeps its {@link ConnState}. */
const SLOT = reserveSlot();

/** What the server keeps per connection: three plain fields. */
interface ConnState {
  protocol: Protocol | undefined;
  inFlight: number;
  /** The peer finished sending: end our side once nothing is in flight. */
  ended: boolean;
}

/**
 * Counts requests in flight per connection around the `handle` stage, feeds the
 * stats, and ends connections whose peer has finished (or the server is draining)
 * once their last answer is written. One Map for all connections; an entry lives
 * from the connection's first decided byte to its close.
 */
export class ConnectionTracker {
  private readonly states = new ConnectionMap<ConnState>(SLOT);
  private draining = false;
  /** Connections ended by the drain (reading again, input dropped by `gate`). */
  private readonly ending = new WeakSet<Connection>();
  private idle: Array<() => void> = [];

  constructor(private readonly stats: StatsCollector) {}

  /**
   * First stage: while draining, drops the input of connections the server has
   * ended. Their reading resumes only so that the peer's FIN is seen; what they
   * send after that cannot be answered, and their FIN already told them so.
   */
  readonly gate: Stage = (source) =>
    new Observable<PipelineRecord>((subscriber) =>
      hop(source, subscriber, (r) => {
        if (r.type === 'data' && this.draining && this.ending.has(r.connection)) return;
        subscriber.next(r);
      }),
    );

  /** After `detectProtocol`: counts each connection's protocol once. */
  readonly afterDetect: Stage = (source) =>
    passThrough(source, (r) => {
      if (r.type === 'data' && r.protocol !== undefined) this.track(r.connection, r.protocol);
    });

  /** Right before `handle`: requests enter flight. */
  readonly beforeHandle: Stage = (source) =>
    passThrough(source, (r) => {
      if (r.type === 'request') {
        this.stats.messagesIn++;
        this.enter(r.connection, r.protocol);
      } else if (r.type === 'cancel') {
        this.stats.messagesIn++;
      } else if (r.type === 'reply') {
        // Made upstream (a pong, a decode error): an incoming message was answered.
        this.stats.messagesIn++;
        // A final reply from upstream also passes handle's output; count it in so that counting it out balances.
        if (r.final) this.enter(r.connection, r.protocol);
      }
    });

  /**
   * Right after `handle`: the record is passed on FIRST, so the encoders and the
   * sink have written it before a connection is ended here.
   */
  readonly afterHandle: Stage = (source) =>
    new Observable<PipelineRecord>((subscriber) =>
      hop(source, subscriber, (r) => {
        subscriber.next(r);
        this.account(r);
      }),
    );

  /** The transport closed `connection`: forget it. */
  closed(connection: Connection): void {
    const st = this.states.get(connection);
    this.stats.closed(connection.listener.name, st?.protocol);
    if (!st) return;
    this.states.delete(connection);
    this.stats.requestsInFlight -= st.inFlight;
    this.notifyIdle();
  }

  /** Requests in flight on `connection`. */
  inFlight(connection: Connection): number {
    return this.states.get(connection)?.inFlight ?? 0;
  }

  /**
   * Starts draining: stops reading every connection (no new request starts), and
   * from now on ends each one as soon as nothing is in flight on it.
   */
  drain(connections: Iterable<Connection>): void {
    this.draining = true;
    for (const conn of connections) {
      conn.pause(PauseReason.User);
      if (this.inFlight(conn) === 0) this.endDrained(conn);
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
    if (this.stats.requestsInFlight <= 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private account(r: PipelineRecord): void {
    if (r.type === 'reply') {
      if (!r.silent) this.stats.messagesOut++;
      if (r.kind === 'error' && r.error) this.stats.error(r.error.code);
      if (r.final) this.answered(r.connection);
    } else if (r.type === 'violation') {
      this.stats.violation(r.reason);
      if (r.error) {
        this.stats.error(r.error.code);
        this.stats.messagesOut++;
      }
    } else if (r.type === 'end') {
      const st = this.states.get(r.connection);
      if (st) st.ended = true;
      if (!st || st.inFlight === 0) r.connection.end();
    }
  }

  private answered(connection: Connection): void {
    const st = this.states.get(connection);
    // Gone (closed while its handlers ran) or never counted: nothing to balance.
    if (!st || st.inFlight === 0) return;
    st.inFlight--;
    this.stats.requestsInFlight--;
    if (st.inFlight === 0) {
      if (this.draining) this.endDrained(connection);
      else if (st.ended) connection.end();
    }
    this.notifyIdle();
  }

  private enter(connection: Connection, protocol: Protocol): void {
    const st = this.track(connection, protocol);
    if (st === undefined) return;
    st.inFlight++;
    this.stats.requestsInFlight++;
  }

  /** The connection's state, made on first sight; undefined once it is closed. */
  private track(connection: Connection, protocol: Protocol): ConnState | undefined {
    let st = this.states.get(connection);
    if (st === undefined) {
      if (connection.closed) return undefined;
      st = { protocol: undefined, inFlight: 0, ended: false };
      this.states.set(connection, st);
    }
    if (st.protocol === undefined) {
      st.protocol = protocol;
      this.stats.detected(protocol);
    }
    return st;
  }

  private notifyIdle(): void {
    if (this.stats.requestsInFlight > 0 || this.idle.length === 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}

function passThrough(source: Observable<PipelineRecord>, look: (r: PipelineRecord) => void): Observable<PipelineRecord> {
  return new Observable<PipelineRecord>((subscriber) =>
    hop(source, subscriber, (r) => {
      look(r);
      subscriber.next(r);
    }),
  );
}
