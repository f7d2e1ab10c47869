import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { DataRecord, PipelineRecord, Protocol } from '../src/records.js';
import type { Connection } from '../src/transport/types.js';
import { classify, DETECT_BYTES, NEED_MORE, UNKNOWN } from './internal/classify.js';
import { DeadlineQueue, type Deadline } from './internal/deadlines.js';
import { DEFAULT_DETECT_TIMEOUT_MS, timeout, violation } from './internal/options.js';

/** Options of {@link detectProtocol}. */
export interface DetectProtocolOptions {
  /** A connection undecided this long after its `open` (or first bytes) is closed silently. Default 5000. */
  readonly timeoutMs?: number;
  /** Clock and timers (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/** A connection whose first bytes have not decided yet. */
interface Pending {
  /** The few undecided bytes seen so far (at most 16), copied: slices are views. */
  buf: Uint8Array | undefined;
  len: number;
  deadline: Deadline<Connection> | undefined;
}

/** Per connection: decided protocol, still pending, or `null` = rejected (data dropped until `end`). */
type Slot = Protocol | Pending | null;

const UNRECOGNIZED = Object.freeze({ code: -32700, message: 'Unrecognized protocol' });

/**
 * Decides each connection's protocol from its first bytes (PROTOCOL.md 1) and tags
 * its data records with it: `MCP1` → `'mcp1'`; optional whitespace then `{` or `[`
 * → `'jsonrpc'`; `Content-Length:` (any case) → `'lsp'`; anything else is a
 * `'unknown-protocol'` violation, and a connection still undecided `timeoutMs` after
 * it opened is a silent `'detect-timeout'` violation. Either way its later data is
 * dropped; its `end` still passes.
 *
 * Undecided bytes (never more than 16) are held back and come out, in order, in the
 * one record that decides; nothing is lost at the boundary. Other records pass
 * unchanged. One timer serves every connection of a subscription.
 *
 * ```
 * source:   o--a---b---c--e|     a = 'MC', b = 'P1<16-byte header>…', c = more bytes
 * detectProtocol()
 * result:   o------B---C--e|     B = 'MCP1<header>…' as 'mcp1', C = c as 'mcp1'
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(
 *   detectProtocol({ timeoutMs: 5000 }),
 *   mcp1Frames(), jsonFrames(), contentLengthFrames(),
 * );
 * ```
 * @param options Detection timeout and scheduler.
 * @return An operator that tags data records with `protocol`, or turns them into violations.
 */
export function detectProtocol(options: DetectProtocolOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const timeoutMs = timeout('detectProtocol', 'timeoutMs', options.timeoutMs, DEFAULT_DETECT_TIMEOUT_MS);
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<PipelineRecord>((subscriber) => {
      const slots = new Map<Connection, Slot>();
      const deadlines = new DeadlineQueue<Connection>(scheduler, timeoutMs, (connection) => {
        slots.set(connection, null);
        subscriber.next(violation(connection, 'detect-timeout'));
      });

      const startPending = (connection: Connection): Pending => {
        const pending: Pending = { buf: undefined, len: 0, deadline: undefined };
        slots.set(connection, pending);
        pending.deadline = deadlines.add(connection);
        return pending;
      };

      const onData = (record: DataRecord): void => {
        const { connection, bytes } = record;
        const slot = slots.get(connection);
        if (typeof slot === 'string') {
          subscriber.next({ type: 'data', connection, bytes, protocol: slot });
          return;
        }
        if (slot === null || record.protocol !== undefined) {
          // Rejected: dropped. Already tagged (detection ran upstream): unchanged.
          if (slot !== null) subscriber.next(record);
          return;
        }
        let decision: ReturnType<typeof classify>;
        const had = slot === undefined ? 0 : slot.len;
        if (had === 0) {
          decision = classify(bytes, bytes.length < DETECT_BYTES ? bytes.length : DETECT_BYTES);
        } else {
          const pending = slot!;
          const take = Math.min(DETECT_BYTES - had, bytes.length);
          pending.buf!.set(bytes.subarray(0, take), had);
          decision = classify(pending.buf!, had + take);
        }
        if (decision === NEED_MORE) {
          // Only reached with fewer than 16 bytes in all, so they fit the buffer.
          const pending = slot ?? startPending(connection);
          pending.buf ??= new Uint8Array(DETECT_BYTES);
          if (had === 0) pending.buf.set(bytes);
          pending.len = had + bytes.length;
          return;
        }
        if (slot !== undefined) deadlines.cancel(slot.deadline);
        if (decision === UNKNOWN) {
          slots.set(connection, null);
          subscriber.next(violation(connection, 'unknown-protocol', undefined, UNRECOGNIZED));
          return;
        }
        slots.set(connection, decision);
        let out = bytes;
        if (had > 0) {
          out = new Uint8Array(had + bytes.length);
          out.set(slot!.buf!.subarray(0, had));
          out.set(bytes, had);
        }
        subscriber.next({ type: 'data', connection, bytes: out, protocol: decision });
      };

      const subscription = source.subscribe({
        next(record) {
          try {
            if (record.type === 'data') return onData(record);
            if (record.type === 'open') {
              if (!slots.has(record.connection)) startPending(record.connection);
            } else if (record.type === 'end') {
              const slot = slots.get(record.connection);
              if (slot !== undefined && slot !== null && typeof slot !== 'string') deadlines.cancel(slot.deadline);
              slots.delete(record.connection);
            }
            subscriber.next(record);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        deadlines.dispose();
        slots.clear();
      };
    });
}
