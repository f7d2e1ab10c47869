import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Connection, ProxiedAddress } from '../src/core/connection.js';
import type { DataRecord, PipelineRecord } from '../src/core/records.js';
import { ConnectionMap, reserveSlot } from '../src/core/slots.js';
import { type Deadline, DeadlineQueue } from './internal/deadlines.js';
import { fusable, stage } from './internal/fusion.js';
import { DEFAULT_DETECT_TIMEOUT_MS, timeout, violation } from './internal/options.js';
import { HEADER_BUFFER_BYTES, inspectProxyHeader } from './internal/proxyHeader.js';

/**
 * Where each connection keeps its header in progress: reserved by the first
 * proxyProtocol() made, so that servers without PROXY listeners carry no room for it.
 */
let slot: number | undefined;

/** Options of {@link proxyProtocol}. */
export interface ProxyProtocolOptions {
  /** A connection without a complete header this long after it opened is closed silently. Default 5000. */
  readonly timeoutMs?: number;
  /** Clock and timers (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
}

/** A connection whose header is not complete yet. */
interface Pending {
  /** Header bytes so far (copied; slices are views). */
  buf: Uint8Array | undefined;
  len: number;
  /** v2 TLV bytes still to discard once the addresses are parsed. */
  skip: number;
  proxied: ProxiedAddress | undefined;
  deadline: Deadline<Connection> | undefined;
}

/**
 * Reads the HAProxy PROXY protocol header (v1 text or v2 binary) that opens every
 * connection on a listener with `proxyProtocol: true`, sets `connection.proxied` to
 * the client address it carries, and passes the bytes after it on, in order (a view,
 * never a copy). Place it before {@link detectProtocol}.
 *
 * On such a listener a connection that opens with anything else is a silent
 * `'no-proxy-header'` violation, and one without a complete header `timeoutMs` after
 * it opened a silent `'detect-timeout'` violation; its later data is dropped. On
 * other listeners every record passes unchanged: the specification forbids guessing,
 * so there a PROXY header is just unknown bytes. LOCAL commands, `UNKNOWN` and
 * unspecified families set `proxied.family` to `'unknown'`: use the real peer.
 *
 * ```
 * source:   o--a----b--e|     a = 'PROXY TCP4 1.2.3.4 ', b = '5.6.7.8 1000 443\r\n{"jsonrpc"…'
 * proxyProtocol()
 * result:   o-------B--e|     B = '{"jsonrpc"…'; connection.proxied.address = '1.2.3.4'
 * ```
 *
 * @example
 * ```ts
 * const server = await listen({ listen: [{ port: 7070, host: '0.0.0.0', proxyProtocol: true }] });
 * server.slices$.pipe(proxyProtocol(), detectProtocol(), jsonFrames()).subscribe((r) => {
 *   if (r.type === 'frame') console.log('from', r.connection.proxied?.address);
 * });
 * ```
 * @param options Header timeout and scheduler.
 * @return An operator that strips PROXY headers on the listeners that expect them.
 */
export function proxyProtocol(options: ProxyProtocolOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  const timeoutMs = timeout('proxyProtocol', 'timeoutMs', options.timeoutMs, DEFAULT_DETECT_TIMEOUT_MS);
  const scheduler = options.scheduler ?? asyncScheduler;
  const at = (slot ??= reserveSlot());
  return fusable({
    create: (out, chain) => {
      /** Connections mid-header; `null` = rejected. Absent once the header is done. */
      const states = new ConnectionMap<Pending | null>(at);
      const deadlines = new DeadlineQueue<Connection>(scheduler, timeoutMs, (connection) => {
        states.set(connection, null);
        try {
          out.next(violation(connection, 'detect-timeout'));
        } catch (error) {
          chain.error(error);
        }
      });

      const start = (connection: Connection): Pending => {
        const st: Pending = { buf: undefined, len: 0, skip: 0, proxied: undefined, deadline: undefined };
        states.set(connection, st);
        st.deadline = deadlines.add(connection);
        return st;
      };

      /** The header is over: record the address; the rest of `bytes` from `at` is the client's. */
      const finish = (connection: Connection, st: Pending | undefined, proxied: ProxiedAddress, bytes: Uint8Array, at: number): void => {
        if (st !== undefined) {
          deadlines.cancel(st.deadline);
          states.delete(connection);
        }
        connection.proxied = proxied;
        if (at < bytes.length) out.next({ type: 'data', connection, bytes: at === 0 ? bytes : bytes.subarray(at) });
      };

      const onData = (record: DataRecord): void => {
        const { connection, bytes } = record;
        const found = states.get(connection);
        if (found === null) return;
        if (found === undefined && connection.proxied !== undefined) {
          out.next(record);
          return;
        }
        let st = found;
        const n = bytes.length;
        if (st !== undefined && st.skip > 0) {
          const take = st.skip < n ? st.skip : n;
          st.skip -= take;
          if (st.skip === 0) finish(connection, st, st.proxied!, bytes, take);
          return;
        }
        let view = bytes;
        let viewLen = n < HEADER_BUFFER_BYTES ? n : HEADER_BUFFER_BYTES;
        const prev = st === undefined ? 0 : st.len;
        if (prev > 0) {
          const take = Math.min(HEADER_BUFFER_BYTES - prev, n);
          st!.buf!.set(bytes.subarray(0, take), prev);
          view = st!.buf!;
          viewLen = prev + take;
        }
        const result = inspectProxyHeader(view, viewLen);
        if (result.status === 'invalid') {
          if (st !== undefined) deadlines.cancel(st.deadline);
          states.set(connection, null);
          out.next(violation(connection, 'no-proxy-header'));
          return;
        }
        if (result.status === 'more') {
          // The parser decides within HEADER_BUFFER_BYTES, so all of `bytes` fit.
          st ??= start(connection);
          st.buf ??= new Uint8Array(HEADER_BUFFER_BYTES);
          if (prev === 0) st.buf.set(bytes);
          st.len = viewLen;
          return;
        }
        const rest = result.length - prev;
        if (rest > n) {
          st ??= start(connection);
          st.skip = rest - n;
          st.proxied = result.proxied;
          return;
        }
        finish(connection, st, result.proxied, bytes, rest);
      };

      return stage(
        out,
        (record) => {
          if (record.connection.listener.proxyProtocol) {
            if (record.type === 'data') return onData(record);
            if (record.type === 'open') {
              if (!states.has(record.connection) && record.connection.proxied === undefined) start(record.connection);
            } else if (record.type === 'end') {
              const st = states.get(record.connection);
              if (st) deadlines.cancel(st.deadline);
              states.delete(record.connection);
            }
          }
          out.next(record);
        },
        {
          dispose: () => {
            deadlines.dispose();
            states.clear();
          },
        },
      );
    },
  });
}
