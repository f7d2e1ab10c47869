import type { RpcErrorObject, RpcId } from '../core/records.js';

/** A message from the server, as the client needs it. */
export type Incoming =
  | { readonly kind: 'result'; readonly id: RpcId; readonly value: unknown }
  | { readonly kind: 'error'; readonly id: RpcId; readonly error: RpcErrorObject }
  | { readonly kind: 'item'; readonly id: RpcId; readonly value: unknown }
  | { readonly kind: 'pong'; readonly id: RpcId };

/** The wire format of one client protocol: what to write, and how to read answers. */
export interface ClientCodec {
  request(id: number, method: string, params: unknown): Uint8Array;
  notification(method: string, params: unknown): Uint8Array;
  cancel(id: number): Uint8Array;
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

/** A JSON-RPC response object (or each member of a batch array) as an Incoming. */
export function responseOf(value: unknown): Incoming[] {
  if (Array.isArray(value)) return value.flatMap(responseOf);
  if (value === null || typeof value !== 'object') throw new TypeError('the server sent a JSON value that is not a response');
  const message = value as { id?: RpcId; result?: unknown; error?: RpcErrorObject };
  const id = message.id ?? null;
  if (message.error !== undefined) return [{ kind: 'error', id, error: message.error }];
  if ('result' in message) return [{ kind: 'result', id, value: message.result }];
  // A request or notification from the server: ringwire servers send none; ignore.
  return [];
}
