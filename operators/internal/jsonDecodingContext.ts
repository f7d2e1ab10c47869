import type { Connection } from '../../src/core/connection.js';
import type { JsonRpcDecoder } from '../codec/jsonRpcDecoder.js';
import { decodeUtf8 } from '../codec/utf8.js';
import { FramerContext, type PartialState } from './framer.js';
import type { Chain, Sink } from './fusion.js';
import type { ResolvedFraming } from './options.js';

const NEWLINE = 0x0a;

/**
 * jsonFrames() fused with decodeJsonRpc(): a framing context that decodes each
 * message where it finds it instead of emitting a frame record, and that takes a
 * whole NDJSON line (found by the bytes' native indexOf) as one request when the
 * decoder's envelope fast path can read it exactly, so no JavaScript loop walks
 * the line's bytes (its params go straight to JSON.parse). Lines it cannot take
 * (concatenated values, a value across lines, garbage, batches) are framed value
 * by value as jsonFrames() alone frames them; the output equals the two
 * operators run apart (test/jsonFrames-fused.property.spec.ts).
 *
 * The slice's text is decoded once, the first time a message of it is decoded,
 * and used for every later one; it is exact only for an all-ASCII slice, where
 * byte and string offsets agree (a slice with other bytes is decoded line by line).
 */
export class JsonDecodingContext<S extends PartialState> extends FramerContext<S> {
  /** The slice whose text is held, from which byte, and the text (null: not ASCII, or not UTF-8). */
  private textOf: Uint8Array | undefined = undefined;
  private textFrom = 0;
  private text: string | null = null;
  override readonly takesLines = true;

  constructor(
    out: Sink,
    chain: Chain,
    options: ResolvedFraming,
    readonly decoder: JsonRpcDecoder,
  ) {
    super(out, chain, 'jsonrpc', options);
  }

  override frame(connection: Connection, bytes: Uint8Array): boolean {
    this.decoder.decodeBytes(bytes, connection, 'jsonrpc', this.out);
    return this.going;
  }

  override frameIn(connection: Connection, slice: Uint8Array, start: number, end: number): boolean {
    const text = this.textAt(slice, start);
    if (text === null) return this.frame(connection, this.view(slice, start, end));
    this.decoder.decodeAt(slice, start, end, text, this.textFrom, connection, 'jsonrpc', this.out);
    return this.going;
  }

  override line(connection: Connection, slice: Uint8Array, start: number, limit: number): number {
    const text = this.textAt(slice, start);
    let newline: number;
    if (text !== null) {
      // The string's indexOf: far cheaper here than the bytes' (a typed array's call).
      const at = text.indexOf('\n', start - this.textFrom);
      newline = at < 0 ? -1 : at + this.textFrom;
    } else {
      newline = slice.indexOf(NEWLINE, start);
    }
    if (newline < 0 || newline - start > limit) return -1;
    if (text !== null) {
      return this.decoder.tryAt(slice, start, newline, text, this.textFrom, connection, 'jsonrpc', this.out) ? newline + 1 : -1;
    }
    const bytes = this.view(slice, start, newline);
    let own: string;
    try {
      own = decodeUtf8(bytes);
    } catch {
      return -1; // framed and answered -32700 the plain way
    }
    const taken =
      own.length === bytes.length
        ? this.decoder.tryAt(bytes, 0, bytes.length, own, 0, connection, 'jsonrpc', this.out)
        : this.decoder.tryRequest(own, 0, own.length, connection, 'jsonrpc', this.out);
    return taken ? newline + 1 : -1;
  }

  override sliceDone(): void {
    this.textOf = undefined;
    this.text = null;
  }

  /** The text of `slice` from `start` on (decoded once per slice), or null where offsets would not agree. */
  private textAt(slice: Uint8Array, start: number): string | null {
    if (this.textOf !== slice) {
      this.textOf = slice;
      this.textFrom = start;
      this.text = asciiText(start === 0 ? slice : this.view(slice, start, slice.length));
    }
    return start >= this.textFrom ? this.text : null;
  }
}

function asciiText(bytes: Uint8Array): string | null {
  try {
    const text = decodeUtf8(bytes);
    // UTF-8 of anything but ASCII has more bytes than UTF-16 units.
    return text.length === bytes.length ? text : null;
  } catch {
    return null; // malformed somewhere, or cut mid-character at the end
  }
}
