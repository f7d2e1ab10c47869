import { Observable, type OperatorFunction } from 'rxjs';
import { PauseReason } from '../src/core/connection.js';
import { OptionsError } from '../src/core/errors.js';
import type { PipelineRecord } from '../src/core/records.js';
import { Relay } from '../src/core/relay.js';
import { ConnectionMap, reserveSlot } from '../src/core/slots.js';
import { hop } from './internal/hop.js';

/** Where each connection keeps its count of requests in flight. */
const SLOT = reserveSlot();

/** Options of {@link backpressure}. */
export interface BackpressureOptions {
  /** Requests in flight on one connection at which its reading pauses. Default 256 (PROTOCOL.md `maxInFlight`). */
  readonly highWater?: number;
  /** In-flight count at or below which reading resumes. Default `highWater / 2`, rounded down. */
  readonly lowWater?: number;
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
  return (source) =>
    new Observable<PipelineRecord>((subscriber) => {
      const inFlight = new ConnectionMap<number>(SLOT);
      // Not a Subject: one is passed every request and reply (see Relay).
      const shared = new Relay<PipelineRecord>();
      const output = hop(inner(shared.observable), subscriber, (record) => {
        if (record.type === 'reply' && record.final) {
          const count = inFlight.get(record.connection);
          // Unknown: its connection's `end` already came, and that forgot it.
          if (count !== undefined) {
            if (count <= 1) inFlight.delete(record.connection);
            else inFlight.set(record.connection, count - 1);
            if (count - 1 <= lowWater && (record.connection.pausedBy & PauseReason.InFlight) !== 0) {
              record.connection.resume(PauseReason.InFlight);
            }
          }
        }
        subscriber.next(record);
      });
      const input = hop(
        source,
        subscriber,
        (record) => {
          // A final reply made upstream (an auth stage's refusal) passes through inner and
          // is counted out below like any answer: count it in too, or it would undercount.
          if (record.type === 'request' || (record.type === 'reply' && record.final === true)) {
            const count = (inFlight.get(record.connection) ?? 0) + 1;
            inFlight.set(record.connection, count);
            // Only a request adds work; a reply is on its way out at once.
            if (record.type === 'request' && count >= highWater && (record.connection.pausedBy & PauseReason.InFlight) === 0) {
              record.connection.pause(PauseReason.InFlight);
            }
          } else if (record.type === 'end') {
            inFlight.delete(record.connection);
            if ((record.connection.pausedBy & PauseReason.InFlight) !== 0) record.connection.resume(PauseReason.InFlight);
          }
          shared.next(record);
        },
        () => shared.complete(),
        (err) => shared.error(err),
      );
      return () => {
        input.unsubscribe();
        output.unsubscribe();
      };
    });
}
