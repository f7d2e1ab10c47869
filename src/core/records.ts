/**
 * The records that flow through ringwire's ONE pipeline. Every record carries its
 * connection; operators pass through the record types they do not handle, so any
 * stage can be swapped or added without the others noticing.
 *
 * ```
 * Slice (open | data | end)
 *   → detectProtocol()          data records gain `protocol`; unknown → Violation
 *   → mcp1Frames() / jsonFrames() / contentLengthFrames()   data → FrameRecord
 *   → decodeMcp1() / decodeJsonRpc()     FrameRecord → RequestRecord | CancelRecord | ReplyRecord (errors, pong)
 *   → route(handlers)            RequestRecord gains `handler`, or becomes a -32601 ReplyRecord
 *   → handle()                   RequestRecord → ReplyRecord(s); the last one `final`
 *   → encodeMcp1() / encodeJsonRpc()     ReplyRecord | Violation → OutboundRecord
 * ```
 * @module
 */
import type { Connection, PeerInfo, ProxiedAddress } from './connection.js';

/** The protocol a connection speaks, decided once by its first bytes. */
export type Protocol = 'mcp1' | 'jsonrpc' | 'lsp';

/** A JSON-RPC / MCP1 request id. MCP1 ids are unsigned 32-bit integers. */
export type RpcId = string | number | null;

/** A JSON-RPC error object, as written on the wire. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** A connection was accepted. Always the first record of a connection. */
export interface OpenRecord {
  readonly type: 'open';
  readonly connection: Connection;
}

/**
 * Bytes read from a connection. `bytes` may be a view into the transport's read
 * buffer, valid only until the emission returns: copy what you keep.
 * `protocol` is set once `detectProtocol()` has decided it.
 */
export interface DataRecord {
  readonly type: 'data';
  readonly connection: Connection;
  readonly bytes: Uint8Array;
  readonly protocol?: Protocol;
}

/** The connection's input is over (peer FIN, reset or close). Always its last record. */
export interface EndRecord {
  readonly type: 'end';
  readonly connection: Connection;
}

/** What a transport emits. */
export type Slice = OpenRecord | DataRecord | EndRecord;

/** The parsed 16-byte MCP1 header of a frame. */
export interface Mcp1Header {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly length: number;
}

/**
 * One complete message. `bytes` may view the transport's buffer (valid until the
 * emission returns) or a copy that framing made across a slice boundary.
 * For MCP1, `bytes` is the payload alone and `header` its parsed header.
 * The bytes are read-only: a stage that changes a message emits a new record
 * with new bytes.
 */
export interface FrameRecord {
  readonly type: 'frame';
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly bytes: Uint8Array;
  readonly header?: Mcp1Header;
}

/**
 * Collects the replies of one JSON-RPC batch, so that encodeJsonRpc() writes them
 * as one array. `pending` counts members that have not yet had their final reply.
 */
export interface Batch {
  pending: number;
  readonly replies: RpcReplyBody[];
}

/** A request or notification, decoded. */
export interface RequestRecord {
  readonly type: 'request';
  readonly connection: Connection;
  readonly protocol: Protocol;
  /** The id as sent (MCP1: the header's id). `null` is a valid JSON-RPC id. */
  readonly id: RpcId;
  /** True for notifications: the handler runs, nothing is written. */
  readonly notification: boolean;
  readonly method: string;
  /** Array, object, or undefined when absent. */
  readonly params: unknown;
  /** Set on members of a JSON-RPC batch. */
  readonly batch?: Batch;
  /** MCP1: answer with JSON payloads (flag bit 0) instead of MessagePack. */
  readonly json?: boolean;
  /** Set by route(). */
  readonly handler?: Handler;
}

/** A client cancelled its in-flight request `id` (MCP1 type 7, or `$/cancelRequest` on any JSON-RPC connection). */
export interface CancelRecord {
  readonly type: 'cancel';
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly id: RpcId;
}

/** The body of a JSON-RPC response object (what a batch array holds). */
export interface RpcReplyBody {
  readonly id: RpcId;
  readonly result?: unknown;
  readonly error?: RpcErrorObject;
  /** The method answered, where known: named when the body cannot be encoded. */
  readonly method?: string;
}

/**
 * Something to write back: a result, an error, one stream item, or a pong.
 * `final` marks the one reply that ends a request handle() took in (for a
 * notification, a `silent` final reply that encoders write nothing for): the
 * backpressure() operator counts these.
 */
export interface ReplyRecord {
  readonly type: 'reply';
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly id: RpcId;
  readonly kind: 'result' | 'error' | 'item' | 'pong';
  readonly result?: unknown;
  readonly error?: RpcErrorObject;
  readonly final?: boolean;
  /** Nothing is written (a notification's completion). */
  readonly silent?: boolean;
  readonly batch?: Batch;
  readonly json?: boolean;
  /**
   * The method of the request answered, so that an encoder can name it when the
   * answer cannot be encoded: set by handle() when it reports failures (its
   * `onFailure` option, as in the server's pipeline), unset otherwise.
   */
  readonly method?: string;
}

/**
 * A protocol violation that ends the connection: unknown protocol, an oversized
 * message, a broken MCP1 header, a timeout. Encoders write `error` (when set) the
 * way the protocol requires, then the connection is closed.
 */
export interface ViolationRecord {
  readonly type: 'violation';
  readonly connection: Connection;
  /** How to phrase the error; undefined: JSON-RPC's NDJSON form. */
  readonly protocol?: Protocol;
  /** Omitted for silent closes (timeouts). */
  readonly error?: RpcErrorObject;
  /** A stable reason, counted in stats: 'unknown-protocol', 'too-large', 'bad-header', 'detect-timeout', 'message-timeout', 'no-proxy-header', 'bad-content-length'. */
  readonly reason: string;
}

/**
 * A client's answer to a request the server sent it (PROTOCOL.md 6): a JSON-RPC
 * response object (no `method`, an `id`, exactly one of `result` and `error`) or an
 * MCP1 type 2 / type 3 frame. handle() settles the server request with that id.
 */
export interface ResponseRecord {
  readonly type: 'response';
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly id: RpcId;
  readonly result?: unknown;
  /** Set for an error answer. */
  readonly error?: RpcErrorObject;
  /** Set on members of a JSON-RPC batch (they are answered with nothing). */
  readonly batch?: Batch;
}

/**
 * A message the server sends a client of its own accord (PROTOCOL.md 6): a
 * notification, a request (with the id the server chose), or the cancel of a
 * request it gave up. Encoders write it framed as the connection's other output.
 */
export interface MessageRecord {
  readonly type: 'message';
  readonly connection: Connection;
  readonly protocol: Protocol;
  readonly kind: 'notification' | 'request' | 'cancel';
  /** A request's (or a cancel's) id: a string on JSON-RPC connections, an unsigned 32-bit integer on MCP1. */
  readonly id?: string | number;
  readonly method?: string;
  /** Array or object; omitted when the message has none. */
  readonly params?: unknown;
  /** MCP1: JSON payloads (flag bit 0) instead of MessagePack. */
  readonly json?: boolean;
}

/** Bytes to write; `close` ends the connection after them. */
export interface OutboundRecord {
  readonly type: 'out';
  readonly connection: Connection;
  readonly bytes: Uint8Array;
  readonly close?: boolean;
}

/** Any record of the pipeline. */
export type PipelineRecord =
  | Slice
  | FrameRecord
  | RequestRecord
  | CancelRecord
  | ReplyRecord
  | ResponseRecord
  | MessageRecord
  | ViolationRecord
  | OutboundRecord;

/** Options of `ctx.request()`. */
export interface ServerRequestOptions {
  /** Aborting rejects the request at once and tells the client (PROTOCOL.md 6.1, 6.2). */
  readonly signal?: AbortSignal;
  /** Give up after this long (default: the server's `serverRequestTimeoutMs`, 30000). */
  readonly timeoutMs?: number;
}

/** What a handler learns about the call, besides its params. */
export interface HandlerContext {
  /** Aborts when the client cancels the request or disconnects. */
  readonly signal: AbortSignal;
  /** Who called (the PROXY-protocol address when the listener has one). */
  readonly peer: PeerInfo & { readonly proxied?: ProxiedAddress };
  /** The name of the listener the call came in on (`unix:/path`, `tcp:127.0.0.1:7070`). */
  readonly listener: string;
  /** The method name. */
  readonly method: string;
  /** True for notifications (nothing will be written). */
  readonly notification: boolean;
  /**
   * Sends the caller a notification, written before this request's answer and after
   * anything sent earlier (PROTOCOL.md 6). Like `request()` it reaches the caller's
   * connection, not this call: it may be used after the handler has answered, until
   * the connection closes. Throws a `WriteBackpressureError` when
   * the caller has not read what it was sent (its unsent output is over
   * `writeHighWaterBytes`): nothing is sent then, so a handler that notifies in a
   * loop cannot fill the server's memory. Throws a `ConnectionClosedError` once
   * the connection is closed.
   */
  notify(method: string, params?: unknown): void;
  /**
   * Sends the caller a request and resolves with its result. Rejects with the
   * caller's error (an `RpcError`: code, message, data), a `ServerRequestTimeoutError`,
   * a `ConnectionClosedError`, a `TooManyServerRequestsError` (at once: nothing sent,
   * past `maxServerRequests`), or the abort reason of `options.signal` or of this
   * handler's own `signal` (the client is then told: PROTOCOL.md 6).
   */
  request(method: string, params?: unknown, options?: ServerRequestOptions): Promise<unknown>;
  /**
   * The caller's connection's own object, for what a handler keeps between requests
   * (who authenticated, what `initialize` negotiated): made on first use, shared by
   * every request of the connection, dropped when it closes.
   */
  readonly session: Record<string, unknown>;
}

/**
 * A handler: returns a value, a Promise, or an Observable (a stream: MCP1 stream
 * items; for JSON-RPC the array of all values). Throw an `RpcError` for a specific
 * error code; anything else thrown becomes -32603 "Internal error".
 */
export type Handler = {
  // Declared as a method so that parameters are checked bivariantly: a handler may
  // annotate its params (`([a, b]: number[]) => a + b`) without a cast, while an
  // unannotated one still sees `unknown`. Validate params you did not annotate.
  handler(params: unknown, ctx: HandlerContext): unknown;
}['handler'];

/** Method name to handler. */
export type Handlers = Readonly<Record<string, Handler>>;
