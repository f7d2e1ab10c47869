import type { RpcErrorObject, RpcId } from '../core/records.js';
import { INVALID_REQUEST } from '../core/wire/jsonrpc.js';

/** A message from the server, as the client needs it. */
export type Incoming =
  | { readonly kind: 'result'; readonly id: RpcId; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: RpcId; readonly error: RpcErrorObject }
  | { readonly kind: 'item'; readonly id: RpcId; readonly value: unknown }
  | { readonly kind: 'pong'; readonly id: RpcId }
  /** The server's own request (PROTOCOL.md 6): answer it with `result()` or `error()` and its id. */
  | { readonly kind: 'request'; readonly id: RpcId; readonly method: string; readonly params: unknown }
  | { readonly kind: 'notification'; readonly method: string; readonly params: unknown }
  /** The server gave up on its request `id` (MCP1 type 7, `$/cancelRequest`): answer nothing more for it. */
  | { readonly kind: 'cancel'; readonly id: RpcId }
  /** A server request that could not be read, but whose id could: answer it with `error`. */
  | { readonly kind: 'invalid'; readonly id: RpcId; readonly error: RpcErrorObject };

/** The wire format of one client protocol: what to write, and how to read what the server sends. */
export interface ClientCodec {
  request(id: number, method: string, params: unknown): Uint8Array;
  notification(method: string, params: unknown): Uint8Array;
  cancel(id: number): Uint8Array;
  /** Answers the server's request `id` with `value`. Throws when `value` cannot be encoded. */
  result(id: RpcId, value: unknown): Uint8Array;
  /** Answers the server's request `id` with an error. Throws when `error.data` cannot be encoded. */
  error(id: RpcId, error: RpcErrorObject): Uint8Array;
  /** Whether a streaming call arrives as items (MCP1) or as one array result (JSON-RPC). */
  readonly streamsItems: boolean;
  /** Takes received bytes; returns the messages they complete. Throws on bytes that cannot be read. */
  read(chunk: Uint8Array): Incoming[];
}

/** Joins a partial message kept from the previous read with the next chunk (copies only then). */
export class ReadBuffer {
  private rest: Buffer | undefined;

  /** The bytes to parse: the kept rest followed by `chunk`. */
  with(chunk: Uint8Array): Buffer {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    return this.rest ? Buffer.concat([this.rest, bytes]) : bytes;
  }

  /** Keeps `bytes[from..]` for the next read (copied: the socket may reuse its buffer). */
  keep(bytes: Buffer, from: number): void {
    this.rest = from < bytes.length ? Buffer.from(bytes.subarray(from)) : undefined;
  }
}

/** LSP's cancellation notification, which both ends of a JSON-RPC connection may send. */
export const CANCEL_METHOD = '$/cancelRequest';

/**
 * A JSON-RPC value from the server (or each member of a batch array) as Incoming
 * messages. PROTOCOL.md 6.1: a `method` member makes it the server's own request
 * (with an `id`) or notification; anything else is a response to one of ours.
 */
export function incomingOf(value: unknown): Incoming[] {
  if (Array.isArray(value)) return value.flatMap(incomingOf);
  if (value === null || typeof value !== 'object') throw new TypeError('the server sent a JSON value that is not a message');
  const message = value as { id?: RpcId; method?: unknown; params?: unknown; result?: unknown; error?: RpcErrorObject };
  if ('method' in message) return fromServer(message);
  const id = message.id ?? null;
  if (message.error !== undefined) return [{ kind: 'error', id, error: message.error }];
  if ('result' in message) return [{ kind: 'result', id, value: message.result }];
  return [];
}

function fromServer(message: { id?: RpcId; method?: unknown; params?: unknown }): Incoming[] {
  const { method, params } = message;
  if ('id' in message) {
    const id = message.id;
    if (!isId(id)) return []; // no id to answer it with
    // Answered as a server answers a bad request of ours.
    return typeof method === 'string' ? [{ kind: 'request', id, method, params }] : [{ kind: 'invalid', id, error: INVALID_REQUEST }];
  }
  if (typeof method !== 'string') return [];
  if (method === CANCEL_METHOD) {
    const id = (params as { id?: unknown } | null | undefined)?.id;
    return isId(id) ? [{ kind: 'cancel', id }] : [];
  }
  return [{ kind: 'notification', method, params }];
}

function isId(id: unknown): id is RpcId {
  return typeof id === 'string' || typeof id === 'number' || id === null;
}
