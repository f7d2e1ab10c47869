import type { RpcErrorObject, RpcId } from '../core/records.js';
import { JSONRPC_VERSION } from '../core/wire/jsonrpc.js';
import { BAD_LENGTH, contentLength, headerEnd, MAX_HEADER_BYTES } from '../core/wire/lspHeader.js';
import { CANCEL_METHOD, type ClientCodec, type Incoming, incomingOf, ReadBuffer } from './codec.js';

const NEWLINE = 0x0a;

function requestText(id: number | undefined, method: string, params: unknown): string {
  const message: Record<string, unknown> = { jsonrpc: JSONRPC_VERSION, method };
  if (params !== undefined) message.params = params;
  if (id !== undefined) message.id = id;
  return JSON.stringify(message);
}

/** `{"jsonrpc":"2.0","id":…,"result":…}`, members in the order ringwire servers write them. */
function resultText(id: RpcId, value: unknown): string {
  return responseText(id, 'result', value === undefined ? null : value);
}

/** `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…,"data":…}}`, no `data` member when there is none. */
function errorText(id: RpcId, error: RpcErrorObject): string {
  const { code, message, data } = error;
  return responseText(id, 'error', data === undefined ? { code, message } : { code, message, data });
}

function responseText(id: RpcId, member: 'result' | 'error', value: unknown): string {
  const body = JSON.stringify(value);
  // JSON.stringify gives undefined for a function or a symbol: no JSON for it, as for a BigInt (which throws).
  if (body === undefined) throw new TypeError(`a ${typeof value} cannot be written as JSON`);
  return `{"jsonrpc":"${JSONRPC_VERSION}","id":${JSON.stringify(id)},"${member}":${body}}`;
}

/** JSON-RPC 2.0 over NDJSON: one JSON value per line each way. */
export class NdjsonCodec implements ClientCodec {
  readonly streamsItems = false;
  private readonly buffer = new ReadBuffer();

  request(id: number, method: string, params: unknown): Uint8Array {
    return Buffer.from(requestText(id, method, params) + '\n');
  }

  notification(method: string, params: unknown): Uint8Array {
    return Buffer.from(requestText(undefined, method, params) + '\n');
  }

  /**
   * LSP's cancellation notification, which ringwire servers honour on NDJSON too;
   * servers that do not know it ignore it (a notification is never answered).
   */
  cancel(id: number): Uint8Array {
    return this.notification(CANCEL_METHOD, { id });
  }

  result(id: RpcId, value: unknown): Uint8Array {
    return Buffer.from(resultText(id, value) + '\n');
  }

  error(id: RpcId, error: RpcErrorObject): Uint8Array {
    return Buffer.from(errorText(id, error) + '\n');
  }

  read(chunk: Uint8Array): Incoming[] {
    const bytes = this.buffer.with(chunk);
    const out: Incoming[] = [];
    let from = 0;
    for (let nl = bytes.indexOf(NEWLINE, from); nl >= 0; nl = bytes.indexOf(NEWLINE, from)) {
      const line = bytes.toString('utf8', from, nl).trim();
      from = nl + 1;
      if (line !== '') out.push(...incomingOf(JSON.parse(line)));
    }
    this.buffer.keep(bytes, from);
    return out;
  }
}

/** JSON-RPC 2.0 with LSP base-protocol framing: `Content-Length: N\r\n\r\n` then N bytes. */
export class LspCodec implements ClientCodec {
  readonly streamsItems = false;
  private readonly buffer = new ReadBuffer();

  request(id: number, method: string, params: unknown): Uint8Array {
    return frame(requestText(id, method, params));
  }

  notification(method: string, params: unknown): Uint8Array {
    return frame(requestText(undefined, method, params));
  }

  cancel(id: number): Uint8Array {
    return this.notification(CANCEL_METHOD, { id });
  }

  result(id: RpcId, value: unknown): Uint8Array {
    return frame(resultText(id, value));
  }

  error(id: RpcId, error: RpcErrorObject): Uint8Array {
    return frame(errorText(id, error));
  }

  read(chunk: Uint8Array): Incoming[] {
    const bytes = this.buffer.with(chunk);
    const out: Incoming[] = [];
    let from = 0;
    for (;;) {
      const bodyStart = headerEnd(bytes, from, bytes.length);
      if (bodyStart < 0) {
        if (bytes.length - from > MAX_HEADER_BYTES) throw new TypeError('LSP header too long');
        break;
      }
      // No limit of its own: the client waits for as long a body as the server announces.
      const length = contentLength(bytes, from, bodyStart, Number.POSITIVE_INFINITY);
      if (length === BAD_LENGTH) throw new TypeError('LSP message without Content-Length');
      if (bytes.length < bodyStart + length) break;
      out.push(...incomingOf(JSON.parse(bytes.toString('utf8', bodyStart, bodyStart + length))));
      from = bodyStart + length;
    }
    this.buffer.keep(bytes, from);
    return out;
  }
}

function frame(body: string): Uint8Array {
  const data = Buffer.from(body);
  return Buffer.concat([Buffer.from(`Content-Length: ${data.length}\r\n\r\n`), data]);
}
