import type { OperatorFunction } from 'rxjs';
import type { PipelineRecord } from '../src/core/records.js';
import { JsonRpcDecoder } from './codec/jsonRpcDecoder.js';
import { type Chain, fusable, type Sink, type Stage, type StageSpec, stage } from './internal/fusion.js';

/** Options of {@link decodeJsonRpc}. */
export interface DecodeJsonRpcOptions {
  /**
   * The notification that cancels a request (`params: {id}`), turned into a
   * `CancelRecord` on every JSON-RPC connection (NDJSON, concatenated JSON and
   * `lsp`). Default `'$/cancelRequest'`, LSP's name, which ringwire's own client
   * sends on every JSON-RPC framing; `null` passes it to the handlers like any
   * other notification.
   */
  readonly cancelMethod?: string | null;
}

/**
 * Decodes JSON-RPC 2.0 frames (`protocol` `'jsonrpc'` or `'lsp'`) into requests,
 * exactly as the specification says (PROTOCOL.md 2.2):
 *
 * - bytes that are not UTF-8 JSON: an error reply -32700 "Parse error", id null;
 * - a value that is not a request object (`jsonrpc` not `"2.0"`, `method` not a
 *   string, `params` not an array or object, `id` not a string, number or null):
 *   -32600 "Invalid Request", with the request's id where that id is valid;
 * - no `id` member: a notification (`notification: true`, id null);
 * - a batch array: one record per member, each carrying the same `Batch`, so that
 *   encodeJsonRpc() writes their answers as one array (`[]` is one -32600 error);
 * - the `$/cancelRequest` notification (`params: {id}`, a string or number id): a
 *   `CancelRecord`, on `jsonrpc` and `lsp` connections alike, which handle() turns
 *   into an abort of that request and a -32800 "Request cancelled" answer (unless
 *   the request was already answered; PROTOCOL.md 3 says the same of MCP1 cancel).
 *
 * Its error replies are not `final`: no request entered handle() for them. Other
 * records pass through in order. `params` is JSON.parse's own object: a
 * `"__proto__"` key is an own property, never a prototype.
 *
 * ```
 * frame:  --f--g--c--|   f = {"jsonrpc":"2.0","id":1,"method":"sum","params":[1,2]}
 *                        g = {oops
 *                        c = {"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}
 * decodeJsonRpc()
 * out:    --r--e--x--|   r = request id 1 "sum" [1,2];  e = error -32700, id null;  x = cancel id 1
 * ```
 *
 * @example
 * ```ts
 * server.slices$.pipe(
 *   detectProtocol(), jsonFrames(), contentLengthFrames(),
 *   decodeJsonRpc(),
 *   route(handlers), handle(), encodeJsonRpc(),
 * ).subscribe((r) => r.type === 'out' && r.connection.write(r.bytes));
 * ```
 * @param options See {@link DecodeJsonRpcOptions}.
 * @return An operator: FrameRecord (JSON-RPC) → RequestRecord | CancelRecord | ReplyRecord.
 */
export function decodeJsonRpc(options: DecodeJsonRpcOptions = {}): OperatorFunction<PipelineRecord, PipelineRecord> {
  return fusable(new DecodeJsonRpcSpec(options.cancelMethod === undefined ? '$/cancelRequest' : options.cancelMethod));
}

/** decodeJsonRpc() as a stage spec: jsonFrames() right before it fuses with it (jsonFrames.ts). */
export class DecodeJsonRpcSpec implements StageSpec {
  constructor(private readonly cancelMethod: string | null) {}

  /** A decoder of this spec's options, for one subscription. */
  decoder(): JsonRpcDecoder {
    return new JsonRpcDecoder(this.cancelMethod);
  }

  create(out: Sink, _chain: Chain): Stage {
    return stage(out, decodingNext(this.decoder(), out));
  }
}

/** What decodeJsonRpc() does with each record: JSON-RPC and LSP frames are decoded, the rest passes. */
export function decodingNext(decoder: JsonRpcDecoder, out: Sink): (record: PipelineRecord) => void {
  return (record) => {
    if (record.type === 'frame' && (record.protocol === 'jsonrpc' || record.protocol === 'lsp')) {
      decoder.decodeBytes(record.bytes, record.connection, record.protocol, out);
    } else {
      out.next(record);
    }
  };
}
