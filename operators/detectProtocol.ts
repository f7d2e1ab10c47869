import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { DataRecord, PipelineRecord, Protocol } from '../src/core/records.js';
import { ConnectionMap, reserveSlot } from '../src/core/slots.js';
import { ErrorCode } from '../src/core/wire/jsonrpc.js';
import { classify, DETECT_BYTES, NEED_MORE, UNKNOWN } from './internal/classify.js';
import { DeadlineRing } from './internal/deadlines.js';
import { fusable, stage } from './internal/fusion.js';
import { DEFAULT_DETECT_TIMEOUT_MS, timeout, violation } from './internal/options.js';

/** Options of {@link detectProtocol}. */
export interface DetectProtocolOptions {
  /** A connection undecided this long after its `open` (or first bytes) is closed silently. Default 5000. */
  readonly timeoutMs?: number;
  /** Clock and timers (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/** A connection whose first read did not decide: the bytes so far, copied (reads are views). */
interface Pending {
  /** At most 16 bytes; allocated only for a connection whose first read is undecided. */
  readonly buf: Uint8Array;
  len: number;
  /** Its detection deadline's token. */
  readonly token: number;
}

/**
 * Per connection: the decided protocol; a deadline token (a number) while it has
 * opened and sent nothing; `Pending` while its bytes so far are undecided; `null`
 * once rejected (data dropped until `end`). No allocation until a read is undecided.
 */
type Slot = Protocol | number | Pending | null;

/** Where each connection keeps its {@link Slot}. */
const SLOT = reserveSlot();

const UNRECOGNIZED = Object.freeze({ code: ErrorCode.ParseError, message: 'Unrecognized protocol' });

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
  return fusable({
    create: (out, chain) => {
      const slots = new ConnectionMap<Slot>(SLOT);
      const deadlines = new DeadlineRing<Connection>(scheduler, timeoutMs, (connection, token) => {
        // Still the same undecided life that registered this deadline? (An ended one is absent.)
        const slot = slots.get(connection);
        if (slot !== token && (slot == null || typeof slot !== 'object' || slot.token !== token)) return;
        slots.set(connection, null);
        try {
          out.next(violation(connection, 'detect-timeout'));
        } catch (error) {
          chain.error(error);
        }
      });

      const onData = (record: DataRecord): void => {
        const { connection, bytes } = record;
        const slot = slots.get(connection);
        if (typeof slot === 'string') {
          out.next({ type: 'data', connection, bytes, protocol: slot });
          return;
        }
        if (slot === null || record.protocol !== undefined) {
          // Rejected: dropped. Already tagged (detection ran upstream): unchanged.
          if (slot !== null) out.next(record);
          return;
        }
        let decision: ReturnType<typeof classify>;
        let token: number;
        if (typeof slot === 'object') {
          const had = slot.len;
          const take = DETECT_BYTES - had < bytes.length ? DETECT_BYTES - had : bytes.length;
          copySmall(bytes, 0, slot.buf, had, take);
          decision = classify(slot.buf, had + take);
          if (decision === NEED_MORE) {
            // Only reached with fewer than 16 bytes in all, so they fit the buffer.
            slot.len = had + take;
            return;
          }
          token = slot.token;
        } else {
          decision = classify(bytes, bytes.length < DETECT_BYTES ? bytes.length : DETECT_BYTES);
          // The first bytes of a connection whose `open` was not seen start its clock.
          token = slot === undefined ? -1 : slot;
          if (decision === NEED_MORE) {
            const buf = new Uint8Array(DETECT_BYTES);
            copySmall(bytes, 0, buf, 0, bytes.length);
            if (slot === undefined) token = deadlines.add(connection);
            slots.set(connection, { buf, len: bytes.length, token });
            return;
          }
        }
        deadlines.clear(token);
        if (decision === UNKNOWN) {
          slots.set(connection, null);
          out.next(violation(connection, 'unknown-protocol', undefined, UNRECOGNIZED));
          return;
        }
        slots.set(connection, decision);
        let joined = bytes;
        if (typeof slot === 'object') {
          joined = new Uint8Array(slot.len + bytes.length);
          copySmall(slot.buf, 0, joined, 0, slot.len);
          joined.set(bytes, slot.len);
        }
        out.next({ type: 'data', connection, bytes: joined, protocol: decision });
      };

      return stage(
        out,
        (record) => {
          if (record.type === 'data') return onData(record);
          if (record.type === 'open') {
            const connection = record.connection;
            if (!slots.has(connection)) slots.set(connection, deadlines.add(connection));
          } else if (record.type === 'end') {
            // An undecided connection's deadline stays queued: expiry finds it gone and skips it.
            slots.delete(record.connection);
          }
          out.next(record);
        },
        {
          dispose: () => {
            deadlines.dispose();
            slots.clear();
          },
        },
      );
    },
  });
}

/**
 * Copies at most 16 bytes. A loop, not `set(subarray())`: the held-back buffer is
 * small enough for V8 to keep on its heap, and a view of it (`subarray`) would move
 * it off-heap, an allocation that costs more than all of detection.
 */
function copySmall(from: Uint8Array, at: number, to: Uint8Array, offset: number, count: number): void {
  for (let i = 0; i < count; i++) to[offset + i] = from[at + i]!;
}
