import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { PipelineRecord } from '../src/core/records.js';
import { DecodeJsonRpcSpec, decodingNext } from './decodeJsonRpc.js';
import { append, isJsonWhitespace, startBuffer } from './internal/bytes.js';
import { FramerContext, framerStage, type PartialState } from './internal/framer.js';
import { fusable } from './internal/fusion.js';
import { JsonDecodingContext } from './internal/jsonDecodingContext.js';
import { type JsonScanState, scanJson } from './internal/jsonScan.js';
import { type FramingOptions, resolveFraming, TOO_LARGE } from './internal/options.js';

/** Options of {@link jsonFrames}. */
export type JsonFramesOptions = FramingOptions;

/** A JSON value (or a garbage line) split across slices. */
interface JsonPartial extends PartialState, JsonScanState {
  buf: Uint8Array;
  len: number;
  /** Bytes that start no value: the frame runs to the next newline. */
  garbage: boolean;
}

const NEWLINE = 0x0a;
/** Reused for values that start and end within one slice: no allocation per frame. */
const scratch: JsonScanState = { depth: 0, inString: false, escape: false };

/**
 * Splits each `'jsonrpc'` connection's bytes into JSON values (PROTOCOL.md 2.1):
 * values separated by whitespace (NDJSON) or by nothing (`{"a":1}{"b":2}`), with
 * strings and escapes respected when brackets are counted. Bytes that start no
 * value, and a stray `}` or `]`, make one frame running to the next newline, so that
 * decoding answers -32700 and the stream goes on.
 *
 * A frame is a view of the slice when the value lies within it, a copy only when it
 * spans slices. A value over `maxMessageBytes` is a `'too-large'` violation before
 * more than the limit is buffered; one begun and unfinished after `messageTimeoutMs`
 * a silent `'message-timeout'`. After either, the connection's data is dropped.
 * Other records pass unchanged; `end` discards a partial value.
 *
 * ```
 * source:   a---b---e|     a = '{"id":1}\n{"id"', b = ':2}\n'   (protocol 'jsonrpc')
 * jsonFrames()
 * result:   x---y---e|     x = '{"id":1}', y = '{"id":2}'
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(detectProtocol(), jsonFrames({ maxMessageBytes: 64 * 1024 }), decodeJsonRpc());
 * ```
 * @param options Size limit, message timeout and scheduler.
 * @return An operator that turns `'jsonrpc'` data records into frame records.
 */
export function jsonFrames(options?: JsonFramesOptions): OperatorFunction<PipelineRecord, PipelineRecord> {
  const framing = resolveFraming('jsonFrames', options);
  return fusable({
    create: (out, chain) => framerStage(new FramerContext<JsonPartial>(out, chain, 'jsonrpc', framing), onData),
    // Right before decodeJsonRpc(), framing decodes as it goes (internal/jsonDecodingContext.ts).
    fuse: (next) =>
      next instanceof DecodeJsonRpcSpec
        ? {
            create: (out, chain) => {
              const decoder = next.decoder();
              return framerStage(new JsonDecodingContext<JsonPartial>(out, chain, framing, decoder), onData, decodingNext(decoder, out));
            },
          }
        : undefined,
  });
}

function onData(ctx: FramerContext<JsonPartial>, connection: Connection, b: Uint8Array, st: JsonPartial | undefined): void {
  const limit = ctx.options.maxMessageBytes;
  const n = b.length;
  let i = 0;
  if (st !== undefined) {
    i = resume(ctx, connection, b, st);
    if (i < 0) return;
  }
  while (i < n) {
    const c = b[i]!;
    if (isJsonWhitespace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === 0x7b && ctx.takesLines) {
      // A whole line may be one request that a fused decoder takes at once.
      const next = ctx.line(connection, b, start, limit);
      if (next >= 0) {
        if (!ctx.going) return;
        i = next;
        continue;
      }
    }
    if (c === 0x7b || c === 0x5b) {
      // Scan at most `limit` bytes of the value: past that it is too large anyway.
      const bound = n - start > limit ? start + limit : n;
      scratch.depth = 1;
      scratch.inString = false;
      scratch.escape = false;
      const end = scanJson(b, start + 1, bound, scratch);
      if (end >= 0) {
        if (!ctx.frameIn(connection, b, start, end)) return;
        i = end;
        continue;
      }
      if (bound < n) return ctx.fail(connection, undefined, 'too-large', TOO_LARGE);
      return ctx.begin(connection, {
        buf: startBuffer(b, start, n, limit),
        len: n - start,
        depth: scratch.depth,
        inString: scratch.inString,
        escape: scratch.escape,
        garbage: false,
        deadline: undefined,
      });
    }
    const newline = b.indexOf(NEWLINE, start);
    const end = newline < 0 ? n : newline;
    if (end - start > limit) return ctx.fail(connection, undefined, 'too-large', TOO_LARGE);
    if (newline < 0) {
      return ctx.begin(connection, {
        buf: startBuffer(b, start, n, limit),
        len: n - start,
        depth: 0,
        inString: false,
        escape: false,
        garbage: true,
        deadline: undefined,
      });
    }
    if (!ctx.frameIn(connection, b, start, newline)) return;
    i = newline + 1;
  }
}

/**
 * Continues the value in progress with the slice `b`. Returns where framing goes on
 * in `b`, or -1 when `b` is used up (or the connection violated or ended).
 */
function resume(ctx: FramerContext<JsonPartial>, connection: Connection, b: Uint8Array, st: JsonPartial): number {
  const limit = ctx.options.maxMessageBytes;
  const n = b.length;
  const room = limit - st.len;
  let end: number;
  let next: number;
  if (st.garbage) {
    const newline = b.indexOf(NEWLINE);
    end = newline < 0 ? n : newline;
    if (end > room) return fail(ctx, connection, st);
    next = newline + 1;
    if (newline < 0) end = -1;
  } else {
    end = scanJson(b, 0, n < room ? n : room, st);
    if (end < 0 && n > room) return fail(ctx, connection, st);
    next = end;
  }
  if (end < 0) {
    st.buf = append(st.buf, st.len, b, 0, n, limit);
    st.len += n;
    return -1;
  }
  const buf = append(st.buf, st.len, b, 0, end, limit);
  ctx.done(connection, st);
  return ctx.frame(connection, buf.subarray(0, st.len + end)) ? next : -1;
}

function fail(ctx: FramerContext<JsonPartial>, connection: Connection, st: JsonPartial): -1 {
  ctx.fail(connection, st, 'too-large', TOO_LARGE);
  return -1;
}
