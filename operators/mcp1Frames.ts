import type { OperatorFunction } from 'rxjs';
import type { Connection } from '../src/core/connection.js';
import type { Mcp1Header, PipelineRecord } from '../src/core/records.js';
import { ErrorCode } from '../src/core/wire/jsonrpc.js';
import { MCP1_HEADER_BYTES } from '../src/core/wire/mcp1.js';
import { DecodeMcp1Spec, decodeMcp1Frame, decodingMcp1 } from './decodeMcp1.js';
import { append, startBuffer } from './internal/bytes.js';
import { FramerContext, framerStage, type PartialState } from './internal/framer.js';
import { type Chain, fusable, type Sink } from './internal/fusion.js';
import { type FramingOptions, type ResolvedFraming, resolveFraming } from './internal/options.js';

/** Options of {@link mcp1Frames}. */
export type Mcp1FramesOptions = FramingOptions;

/** A frame split across slices: first its header (at most 16 copied bytes), then its payload. */
interface Mcp1Partial extends PartialState {
  head: Uint8Array | undefined;
  headLen: number;
  header: Mcp1Header | undefined;
  buf: Uint8Array | undefined;
  len: number;
}

const HEADER_BYTES = MCP1_HEADER_BYTES;
const TOO_LARGE = 'Frame too large';
/**
 * By type: 0 unknown, 1 sent by clients, 2 server-only (PROTOCOL.md 3). Responses
 * and errors (2, 3) come from clients too, answering the server's requests (6.2):
 * handle() decides whether one answers anything.
 */
const SENDER = [0, 1, 1, 1, 1, 1, 2, 1, 2];

/**
 * Splits each `'mcp1'` connection's bytes into MCP1 frames (PROTOCOL.md 3): a
 * 16-byte big-endian header (magic `MCP1`, type, flags, reserved, id, length), then
 * `length` bytes of payload. Emits a frame record per frame, with the parsed
 * `header` and the payload as `bytes`: a view of the slice when it lies within one,
 * a copy only across slices.
 *
 * Every header is checked before its payload is read: a wrong magic, reserved flag
 * bits or field set, an unknown type or a server-only type (2, 3, 6, 8) is a
 * `'bad-header'` violation, a length over `maxMessageBytes` a `'too-large'` one,
 * each with a -32600 error naming it; a frame begun and unfinished after
 * `messageTimeoutMs` a silent `'message-timeout'`. The connection's later data is
 * then dropped. Other records pass unchanged; `end` discards a partial frame.
 *
 * ```
 * source:   a----b---e|     a = header(type 1, id 7, length 5) + 'ab', b = 'cde'
 * mcp1Frames()
 * result:   -----f---e|     f = { header: { type: 1, flags: 0, id: 7, length: 5 }, bytes: 'abcde' }
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(detectProtocol(), mcp1Frames({ maxMessageBytes: 256 * 1024 }), decodeMcp1());
 * ```
 * @param options Size limit, message timeout and scheduler.
 * @return An operator that turns `'mcp1'` data records into frame records.
 */
export function mcp1Frames(options?: Mcp1FramesOptions): OperatorFunction<PipelineRecord, PipelineRecord> {
  const framing = resolveFraming('mcp1Frames', options);
  return fusable({
    create: (out, chain) => framerStage(new FramerContext<Mcp1Partial>(out, chain, 'mcp1', framing), onData),
    // Right before decodeMcp1(), each frame is decoded where it is found: no frame record.
    fuse: (next) =>
      next instanceof DecodeMcp1Spec
        ? { create: (out, chain) => framerStage(new Mcp1DecodingContext<Mcp1Partial>(out, chain, framing), onData, decodingMcp1(out)) }
        : undefined,
  });
}

/** mcp1Frames() fused with decodeMcp1(): frames are decoded as they are cut. */
class Mcp1DecodingContext<S extends PartialState> extends FramerContext<S> {
  constructor(out: Sink, chain: Chain, options: ResolvedFraming) {
    super(out, chain, 'mcp1', options);
  }

  override frameWith(connection: Connection, bytes: Uint8Array, header: Mcp1Header): boolean {
    decodeMcp1Frame(connection, header, bytes, this.out);
    return this.going;
  }
}

function onData(ctx: FramerContext<Mcp1Partial>, connection: Connection, b: Uint8Array, st: Mcp1Partial | undefined): void {
  const n = b.length;
  let i = 0;
  if (st !== undefined) {
    i = resume(ctx, connection, b, st);
    if (i < 0) return;
  }
  const limit = ctx.options.maxMessageBytes;
  while (n - i >= HEADER_BYTES) {
    const problem = check(b, i, limit);
    if (problem !== undefined) {
      fail(ctx, connection, undefined, problem);
      return;
    }
    const length = readU32(b, i + 12);
    const payload = i + HEADER_BYTES;
    const header: Mcp1Header = { type: b[i + 4]!, flags: b[i + 5]!, id: readU32(b, i + 8), length };
    if (n - payload < length) {
      return ctx.begin(connection, {
        head: undefined,
        headLen: HEADER_BYTES,
        header,
        buf: startBuffer(b, payload, n, length),
        len: n - payload,
        deadline: undefined,
      });
    }
    i = payload + length;
    if (!emit(ctx, connection, header, ctx.view(b, payload, i))) return;
  }
  if (i < n) {
    const head = new Uint8Array(HEADER_BYTES);
    head.set(b.subarray(i));
    ctx.begin(connection, { head, headLen: n - i, header: undefined, buf: undefined, len: 0, deadline: undefined });
  }
}

/** Continues the frame in progress; returns where framing goes on in `b`, or -1. */
function resume(ctx: FramerContext<Mcp1Partial>, connection: Connection, b: Uint8Array, st: Mcp1Partial): number {
  const n = b.length;
  let i = 0;
  let header = st.header;
  if (header === undefined) {
    const head = st.head!;
    i = Math.min(HEADER_BYTES - st.headLen, n);
    head.set(b.subarray(0, i), st.headLen);
    st.headLen += i;
    if (st.headLen < HEADER_BYTES) return -1;
    const problem = check(head, 0, ctx.options.maxMessageBytes);
    if (problem !== undefined) return fail(ctx, connection, st, problem);
    header = { type: head[4]!, flags: head[5]!, id: readU32(head, 8), length: readU32(head, 12) };
    if (n - i >= header.length) {
      // The payload lies within this slice: a view, no copy.
      ctx.done(connection, st);
      const end = i + header.length;
      return emit(ctx, connection, header, ctx.view(b, i, end)) ? end : -1;
    }
    st.header = header;
    st.head = undefined;
    st.buf = startBuffer(b, i, n, header.length);
    st.len = n - i;
    return -1;
  }
  const need = header.length - st.len;
  if (n < need) {
    st.buf = append(st.buf!, st.len, b, 0, n, header.length);
    st.len += n;
    return -1;
  }
  const buf = append(st.buf!, st.len, b, 0, need, header.length);
  ctx.done(connection, st);
  return emit(ctx, connection, header, buf.length === header.length ? buf : buf.subarray(0, header.length)) ? need : -1;
}

function emit(ctx: FramerContext<Mcp1Partial>, connection: Connection, header: Mcp1Header, bytes: Uint8Array): boolean {
  return ctx.frameWith(connection, bytes, header);
}

/** What is wrong with the header at `b[at]`, or undefined. Reads bytes directly: no DataView. */
function check(b: Uint8Array, at: number, limit: number): string | undefined {
  // MCP1_MAGIC, byte by byte; flag bits other than MCP1_FLAG_JSON are reserved.
  if (b[at] !== 0x4d || b[at + 1] !== 0x43 || b[at + 2] !== 0x50 || b[at + 3] !== 0x31) return 'Bad magic';
  const type = b[at + 4]!;
  if ((b[at + 5]! & 0xfe) !== 0) return 'Reserved flag bits set';
  if ((b[at + 6]! | b[at + 7]!) !== 0) return 'Reserved field set';
  const sender = type < SENDER.length ? SENDER[type] : 0;
  if (sender === 0) return `Unknown frame type ${type}`;
  if (sender === 2) return `Frame type ${type} is server-only`;
  if (readU32(b, at + 12) > limit) return TOO_LARGE;
  return undefined;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function fail(ctx: FramerContext<Mcp1Partial>, connection: Connection, st: Mcp1Partial | undefined, problem: string): -1 {
  ctx.fail(connection, st, problem === TOO_LARGE ? 'too-large' : 'bad-header', { code: ErrorCode.InvalidRequest, message: problem });
  return -1;
}
