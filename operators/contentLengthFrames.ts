import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { PipelineRecord } from '../src/core/records.js';
import { PARSE_ERROR } from '../src/core/wire/jsonrpc.js';
import { BAD_LENGTH, contentLength, headerEnd, MAX_HEADER_BYTES, OVER_LIMIT } from '../src/core/wire/lspHeader.js';
import { append, startBuffer } from './internal/bytes.js';
import { type FramerContext, framer, type PartialState } from './internal/framer.js';
import { type FramingOptions, resolveFraming, TOO_LARGE } from './internal/options.js';

/** Options of {@link contentLengthFrames}. */
export type ContentLengthFramesOptions = FramingOptions;

/** A message split across slices: its header block (copied, at most 8 KiB), then its body. */
interface LspPartial extends PartialState {
  /** Header bytes so far, while the blank line has not come. */
  head: Uint8Array | undefined;
  headLen: number;
  /** The body's length once the header is parsed, else -1. */
  bodyLength: number;
  buf: Uint8Array | undefined;
  len: number;
}

/**
 * Splits each `'lsp'` connection's bytes into messages of the LSP base protocol
 * (PROTOCOL.md 2.3): header lines `Name: value\r\n`, a blank line, then exactly
 * `Content-Length` bytes of body, which the frame record carries (a view of the
 * slice when within one, a copy across slices). The header name is matched in any
 * case; other headers are ignored.
 *
 * A missing, malformed or conflicting Content-Length, a header line without a colon,
 * or a header block over 8 KiB is a `'bad-content-length'` violation (-32700 Parse
 * error); a length over `maxMessageBytes` a `'too-large'` one (-32600), decided from
 * the header before any body is buffered; a message begun and unfinished after
 * `messageTimeoutMs` a silent `'message-timeout'`. The connection's later data is
 * then dropped. Other records pass unchanged; `end` discards a partial message.
 *
 * ```
 * source:   a------b---e|     a = 'Content-Length: 7\r\n\r\n{"a"', b = ':1}'
 * contentLengthFrames()
 * result:   -------f---e|     f = '{"a":1}'
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(detectProtocol(), contentLengthFrames(), decodeJsonRpc());
 * ```
 * @param options Size limit, message timeout and scheduler.
 * @return An operator that turns `'lsp'` data records into frame records.
 */
export function contentLengthFrames(options?: ContentLengthFramesOptions): OperatorFunction<PipelineRecord, PipelineRecord> {
  return framer<LspPartial>('lsp', resolveFraming('contentLengthFrames', options), onData);
}

function onData(ctx: FramerContext<LspPartial>, connection: Connection, b: Uint8Array, st: LspPartial | undefined): void {
  const n = b.length;
  let i = 0;
  if (st !== undefined) {
    i = resume(ctx, connection, b, st);
    if (i < 0) return;
  }
  const limit = ctx.options.maxMessageBytes;
  while (i < n) {
    const start = i;
    const bound = n - start > MAX_HEADER_BYTES ? start + MAX_HEADER_BYTES : n;
    const body = headerEnd(b, start, bound);
    if (body < 0) {
      if (bound < n) return ctx.fail(connection, undefined, 'bad-content-length', PARSE_ERROR);
      const head = startBuffer(b, start, n, MAX_HEADER_BYTES);
      return ctx.begin(connection, { head, headLen: n - start, bodyLength: -1, buf: undefined, len: 0, deadline: undefined });
    }
    const length = contentLength(b, start, body, limit);
    if (length < 0) {
      lengthFail(ctx, connection, undefined, length);
      return;
    }
    if (n - body < length) {
      return ctx.begin(connection, {
        head: undefined,
        headLen: 0,
        bodyLength: length,
        buf: startBuffer(b, body, n, length),
        len: n - body,
        deadline: undefined,
      });
    }
    i = body + length;
    if (!ctx.frameIn(connection, b, body, i)) return;
  }
}

/** Continues the message in progress; returns where framing goes on in `b`, or -1. */
function resume(ctx: FramerContext<LspPartial>, connection: Connection, b: Uint8Array, st: LspPartial): number {
  const n = b.length;
  let i = 0;
  if (st.bodyLength < 0) {
    const had = st.headLen;
    const take = Math.min(MAX_HEADER_BYTES - had, n);
    const head = (st.head = append(st.head!, had, b, 0, take, MAX_HEADER_BYTES));
    st.headLen = had + take;
    // The blank line may straddle the boundary: look back 3 bytes.
    const end = headerEnd(head, had > 3 ? had - 3 : 0, st.headLen);
    if (end < 0) {
      if (st.headLen === MAX_HEADER_BYTES) return lengthFail(ctx, connection, st, BAD_LENGTH);
      return -1;
    }
    const length = contentLength(head, 0, end, ctx.options.maxMessageBytes);
    if (length < 0) return lengthFail(ctx, connection, st, length);
    i = end - had;
    if (n - i >= length) {
      ctx.done(connection, st);
      const stop = i + length;
      return ctx.frameIn(connection, b, i, stop) ? stop : -1;
    }
    st.head = undefined;
    st.bodyLength = length;
    st.buf = startBuffer(b, i, n, length);
    st.len = n - i;
    return -1;
  }
  const need = st.bodyLength - st.len;
  if (n < need) {
    st.buf = append(st.buf!, st.len, b, 0, n, st.bodyLength);
    st.len += n;
    return -1;
  }
  const buf = append(st.buf!, st.len, b, 0, need, st.bodyLength);
  ctx.done(connection, st);
  return ctx.frame(connection, buf.length === st.bodyLength ? buf : buf.subarray(0, st.bodyLength)) ? need : -1;
}

function lengthFail(ctx: FramerContext<LspPartial>, connection: Connection, st: LspPartial | undefined, code: number): -1 {
  if (code === OVER_LIMIT) ctx.fail(connection, st, 'too-large', TOO_LARGE);
  else ctx.fail(connection, st, 'bad-content-length', PARSE_ERROR);
  return -1;
}
