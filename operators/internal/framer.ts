import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../../src/core/connection.js';
import type { FrameRecord, Mcp1Header, PipelineRecord, Protocol, RpcErrorObject } from '../../src/core/records.js';
import { ConnectionMap, reserveSlot } from '../../src/core/slots.js';
import { type Deadline, DeadlineQueue } from './deadlines.js';
import { type Chain, fusable, type Sink, type Stage, stage } from './fusion.js';
import { type ResolvedFraming, violation } from './options.js';

/**
 * One slot for every framer: a connection speaks one protocol, so only one framer
 * ever keeps state for it (and if two did, the slot's owner tag sends one to its Map).
 */
const FRAMER_SLOT = reserveSlot();

/** What every framer keeps for a connection with a message in progress. */
export interface PartialState {
  deadline: Deadline<Connection> | undefined;
}

/**
 * One subscription of a framing operator: the connection states, the timeout queue
 * and the output. Framer-specific code (`onData`) only scans bytes and calls these.
 */
export class FramerContext<S extends PartialState> {
  /** Connections with a message in progress; `null` = violated, data dropped until `end`. Idle ones are absent. */
  readonly states: ConnectionMap<S | null>;
  readonly deadlines: DeadlineQueue<Connection>;
  /** The connection whose data is being framed, and whether its `end` arrived meanwhile (re-entrantly). */
  current: Connection | undefined = undefined;
  currentEnded = false;
  /** The slice {@link view} last cut from, and where its bytes lie (read once per slice). */
  private slice: Uint8Array | undefined = undefined;
  private sliceMemory: ArrayBufferLike = new ArrayBuffer(0);
  private sliceOffset = 0;

  constructor(
    readonly out: Sink,
    readonly chain: Chain,
    readonly protocol: Protocol,
    readonly options: ResolvedFraming,
  ) {
    this.states = new ConnectionMap<S | null>(FRAMER_SLOT);
    this.deadlines = new DeadlineQueue(options.scheduler, options.messageTimeoutMs, (connection) => {
      try {
        if (this.states.get(connection)) this.fail(connection, undefined, 'message-timeout');
      } catch (error) {
        chain.error(error);
      }
    });
  }

  /**
   * Emits a complete message. Returns false when framing of this slice must stop:
   * the connection ended while the frame was handled downstream, or nobody listens.
   */
  frame(connection: Connection, bytes: Uint8Array): boolean {
    const record: FrameRecord = { type: 'frame', connection, protocol: this.protocol, bytes };
    this.out.next(record);
    return this.going;
  }

  /** Emits `slice[start, end)` as a message. Returns as {@link frame} does. */
  frameIn(connection: Connection, slice: Uint8Array, start: number, end: number): boolean {
    return this.frame(connection, this.view(slice, start, end));
  }

  /** Whether {@link line} may take lines (then framing looks for them). */
  readonly takesLines: boolean = false;

  /**
   * Handles the NDJSON line that starts at `slice[start]` at once when it can (a
   * framer fused with its decoder can; see jsonFrames.ts), if it ends within the
   * slice and `limit` bytes: returns the index after its newline when it did, -1
   * when it did nothing. Plain framing cannot: -1.
   */
  line(_connection: Connection, _slice: Uint8Array, _start: number, _limit: number): number {
    return -1;
  }

  /** Whether framing of the current slice may go on (the connection did not end, somebody listens). */
  get going(): boolean {
    return !this.currentEnded && !this.chain.closed;
  }

  /** Framing is done with its slice (whose memory may now be read into again). */
  sliceDone(): void {}

  /** `slice.subarray(start, end)`, as a plain Uint8Array. */
  view(slice: Uint8Array, start: number, end: number): Uint8Array {
    if (slice !== this.slice) {
      this.slice = slice;
      this.sliceMemory = slice.buffer;
      this.sliceOffset = slice.byteOffset;
    }
    // The constructor, not subarray(): subarray looks up a species constructor
    // first, which costs twice the view itself (measured: 30 against 16 ns).
    return new Uint8Array(this.sliceMemory, this.sliceOffset + start, end - start);
  }

  /** Emits a frame with its parsed header (MCP1's). Returns as {@link frame} does. */
  frameWith(connection: Connection, bytes: Uint8Array, header: Mcp1Header): boolean {
    const record: FrameRecord = { type: 'frame', connection, protocol: this.protocol, bytes, header };
    this.out.next(record);
    return this.going;
  }

  /** A message is in progress across slices: keep its state and start its timeout. */
  begin(connection: Connection, st: S): void {
    this.states.set(connection, st);
    st.deadline = this.deadlines.add(connection);
  }

  /** The message in progress is complete: the connection is idle again and costs nothing here. */
  done(connection: Connection, st: S): void {
    this.deadlines.cancel(st.deadline);
    this.states.delete(connection);
  }

  /** A violation: the connection's later data is dropped (state first, then emit: `end` may re-enter). */
  fail(connection: Connection, st: S | undefined, reason: string, error?: RpcErrorObject): void {
    if (st !== undefined) this.deadlines.cancel(st.deadline);
    this.states.set(connection, null);
    this.out.next(violation(connection, reason, this.protocol, error));
  }

  ended(connection: Connection): void {
    const st = this.states.get(connection);
    if (st) this.deadlines.cancel(st.deadline);
    this.states.delete(connection);
    if (connection === this.current) this.currentEnded = true;
  }

  dispose(): void {
    this.deadlines.dispose();
    this.states.clear();
  }
}

/**
 * Builds a framing operator: data records of `protocol` go to `onData` with the
 * connection's partial state (undefined when idle); everything else passes in order;
 * `end` drops the state (a partial message is discarded) and passes.
 */
export function framer<S extends PartialState>(
  protocol: Protocol,
  options: ResolvedFraming,
  onData: (ctx: FramerContext<S>, connection: Connection, bytes: Uint8Array, st: S | undefined) => void,
): OperatorFunction<PipelineRecord, PipelineRecord> {
  return fusable({ create: (out, chain) => framerStage(new FramerContext<S>(out, chain, protocol, options), onData) });
}

/** The stage of a framing operator over its context. */
export function framerStage<S extends PartialState>(
  ctx: FramerContext<S>,
  onData: (ctx: FramerContext<S>, connection: Connection, bytes: Uint8Array, st: S | undefined) => void,
  /** What becomes of every other record (a fused decoder decodes other framers' frames). */
  pass: (record: PipelineRecord) => void = (record) => ctx.out.next(record),
): Stage {
  const protocol = ctx.protocol;
  const out = ctx.out;
  return stage(
    out,
    (record) => {
      if (record.type === 'data' && record.protocol === protocol) {
        const connection = record.connection;
        const st = ctx.states.get(connection);
        if (st === null) return;
        const outer = ctx.current;
        const outerEnded = ctx.currentEnded;
        ctx.current = connection;
        ctx.currentEnded = false;
        try {
          onData(ctx, connection, record.bytes, st);
        } finally {
          ctx.sliceDone();
          ctx.currentEnded = outerEnded || (outer === connection && ctx.currentEnded);
          ctx.current = outer;
        }
        return;
      }
      if (record.type === 'end') ctx.ended(record.connection);
      pass(record);
    },
    { dispose: () => ctx.dispose() },
  );
}
