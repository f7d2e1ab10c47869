import { Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { type Connection, PauseReason } from '../src/core/connection.js';
import { OptionsError } from '../src/core/errors.js';
import type { PipelineRecord } from '../src/core/records.js';
import { Relay } from '../src/core/relay.js';
import { InFlightCount } from './inFlightCount.js';
import { chainSpec, fusable, type Sink, type StageSpec, specsOf, stage } from './internal/fusion.js';
import { hop } from './internal/hop.js';

/** Options of {@link backpressure}. */
export interface BackpressureOptions {
  /** Requests in flight on one connection at which its reading pauses. Default 256 (PROTOCOL.md `maxInFlight`). */
  readonly highWater?: number;
  /** In-flight count at or below which reading resumes. Default `highWater / 2`, rounded down. */
  readonly lowWater?: number;
  /**
   * The count to keep, so that it can be read from outside (the server's drain
   * reads it). Default: a count of its own. Cleared when the subscription ends.
   */
  readonly count?: InFlightCount;
}

/**
 * Wraps the request-handling stages (`inner`, usually `pipe(route(handlers),
 * handle())`) and steers each connection's read demand by its requests in flight:
 * it counts RequestRecords (and `final` replies made upstream) going into `inner`
 * and `final` ReplyRecords coming out, per connection; at `highWater` it calls
 * `connection.pause(PauseReason.InFlight)`, and once the count is back at or
 * below `lowWater`, `connection.resume(PauseReason.InFlight)`. The kernel's socket
 * buffer and TCP window then hold the client back (PROTOCOL.md 4: backpressure,
 * never an error).
 *
 * Lossless: backpressure() itself never drops, delays or alters a record; every
 * record goes into `inner` and whatever `inner` emits comes out, in order. Only
 * read demand changes. Output the peer has not read yet
 * is not counted here: the transport pauses reading for that itself
 * (`PauseReason.Write`, over `writeHighWaterBytes`), and each reason is its own bit,
 * so the two never undo each other. A connection's `end` record forgets its count
 * (no more requests can come) and lifts this pause if it was held.
 *
 * Like RxJS's `connect`, the source is subscribed once and shared with `inner`.
 *
 * ```
 * in:    -a-b-c-----------|     requests on connection k; highWater 2, lowWater 1
 * backpressure(inner)
 * out:   --------x--y--z--|     x, y, z = their final replies
 * k:     ---P-------R           P = k.pause(InFlight) as b arrives; R = k.resume(InFlight) after y
 * ```
 *
 * @example
 * ```ts
 * frames$.pipe(
 *   decodeJsonRpc(),
 *   backpressure(pipe(route(handlers), handle()), { highWater: 256 }),
 *   encodeJsonRpc(),
 * );
 * ```
 * @param inner The stages between a request and its final reply.
 * @param options See {@link BackpressureOptions}.
 * @return An operator that behaves as `inner` and drives read demand.
 */
export function backpressure(
  inner: OperatorFunction<PipelineRecord, PipelineRecord>,
  options: BackpressureOptions = {},
): OperatorFunction<PipelineRecord, PipelineRecord> {
  const highWater = options.highWater ?? 256;
  const lowWater = options.lowWater ?? Math.floor(highWater / 2);
  if (!(highWater >= 1)) throw new OptionsError(`backpressure(): highWater must be at least 1, got ${highWater}`);
  if (!(lowWater >= 0 && lowWater < highWater)) {
    throw new OptionsError(`backpressure(): lowWater must be in [0, highWater), got ${lowWater}`);
  }
  const marks = { highWater, lowWater, given: options.count };
  // ringwire's own stages inside (route, handle) fuse with the counting around them;
  // any other operator gets the source shared with it through a Relay.
  const specs = specsOf(inner);
  if (specs !== undefined) return fusable(fusedSpec(chainSpec(specs), marks));
  return (source) => new Observable<PipelineRecord>((subscriber) => shareWithInner(source, subscriber, inner, marks));
}

interface Marks {
  readonly highWater: number;
  readonly lowWater: number;
  readonly given: InFlightCount | undefined;
}

/** Counting in, the inner stages, counting out: one stage. */
function fusedSpec(inner: StageSpec, marks: Marks): StageSpec {
  return {
    create: (out, chain) => {
      const count = marks.given ?? new InFlightCount();
      const after = stage(out, (record) => countOut(record, out, count, marks.lowWater));
      const middle = inner.create(after, chain);
      return stage(out, (record) => countIn(record, middle, count, marks.highWater), {
        complete: () => middle.complete(),
        error: (error) => middle.error(error),
        dispose: () => {
          middle.dispose();
          count.clear();
        },
      });
    },
  };
}

function shareWithInner(
  source: Observable<PipelineRecord>,
  subscriber: Subscriber<PipelineRecord>,
  inner: OperatorFunction<PipelineRecord, PipelineRecord>,
  marks: Marks,
): () => void {
  const count = marks.given ?? new InFlightCount();
  // Not a Subject: one is passed every request and reply (see Relay).
  const shared = new Relay<PipelineRecord>();
  const sharedSink: Sink = { next: (r) => shared.next(r), error: (e) => shared.error(e), complete: () => shared.complete() };
  const output = hop(inner(shared.observable), subscriber, (record) => countOut(record, subscriber, count, marks.lowWater));
  const input = hop(
    source,
    subscriber,
    (record) => countIn(record, sharedSink, count, marks.highWater),
    () => shared.complete(),
    (err) => shared.error(err),
  );
  return () => {
    input.unsubscribe();
    output.unsubscribe();
    count.clear();
  };
}

/** A record on its way into the inner stages. */
function countIn(record: PipelineRecord, into: Sink, count: InFlightCount, highWater: number): void {
  // A final reply made upstream (an auth stage's refusal) passes through inner and
  // is counted out below like any answer: count it in too, or it would undercount.
  if (record.type === 'request' || (record.type === 'reply' && record.final === true)) {
    const n = count.add(record.connection);
    // Only a request adds work; a reply is on its way out at once.
    if (record.type === 'request' && n >= highWater && (record.connection.pausedBy & PauseReason.InFlight) === 0) {
      record.connection.pause(PauseReason.InFlight);
    }
  } else if (record.type === 'end') {
    // No more requests can come: nothing to hold back. Answers still to come are
    // counted out as they leave; a closed connection's never will.
    if (record.connection.closed) count.forget(record.connection);
    liftPause(record.connection);
  }
  into.next(record);
}

/** A record leaving the inner stages: passed on first, so that its answer is written before it counts out. */
function countOut(record: PipelineRecord, out: Sink, count: InFlightCount, lowWater: number): void {
  out.next(record);
  if (record.type !== 'reply' || !record.final) return;
  const left = count.remove(record.connection);
  if (left >= 0 && left <= lowWater) liftPause(record.connection);
}

function liftPause(connection: Connection): void {
  if ((connection.pausedBy & PauseReason.InFlight) !== 0) connection.resume(PauseReason.InFlight);
}
