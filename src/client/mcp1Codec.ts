import { Packr } from 'msgpackr';
import { decodeMsgpack } from '../../operators/codec/msgpack.js';
import type { RpcErrorObject, RpcId } from '../core/records.js';
import { INVALID_REQUEST, PARSE_ERROR } from '../core/wire/jsonrpc.js';
import { MCP1_FLAG_JSON, MCP1_HEADER_BYTES, MCP1_MAGIC, Mcp1Type, writeMcp1Header } from '../core/wire/mcp1.js';
import { type ClientCodec, type Incoming, ReadBuffer } from './codec.js';

const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });

/** MCP1 (PROTOCOL.md section 3): 16-byte header, MessagePack payload (or JSON with `json`). */
export class Mcp1Codec implements ClientCodec {
  readonly streamsItems = true;
  private readonly buffer = new ReadBuffer();

  constructor(private readonly json = false) {}

  request(id: number, method: string, params: unknown): Uint8Array {
    return this.frame(Mcp1Type.Request, id, params === undefined ? { method } : { method, params });
  }

  notification(method: string, params: unknown): Uint8Array {
    return this.frame(Mcp1Type.Notification, 0, params === undefined ? { method } : { method, params });
  }

  cancel(id: number): Uint8Array {
    return header(Mcp1Type.Cancel, 0, id, 0);
  }

  ping(id: number): Uint8Array {
    return header(Mcp1Type.Ping, 0, id, 0);
  }

  /** A type 2 frame with the server request's id (ids this codec read are always u32 numbers). */
  result(id: RpcId, value: unknown): Uint8Array {
    return this.frame(Mcp1Type.Response, id as number, value === undefined ? null : value);
  }

  /** A type 3 frame with the server request's id: `{code, message, data?}`. */
  error(id: RpcId, error: RpcErrorObject): Uint8Array {
    const { code, message, data } = error;
    return this.frame(Mcp1Type.Error, id as number, data === undefined ? { code, message } : { code, message, data });
  }

  read(chunk: Uint8Array): Incoming[] {
    const bytes = this.buffer.with(chunk);
    const out: Incoming[] = [];
    let from = 0;
    while (bytes.length - from >= MCP1_HEADER_BYTES) {
      if (bytes.readUInt32BE(from) !== MCP1_MAGIC) throw new TypeError('the server sent a frame without the MCP1 magic');
      const type = bytes[from + 4]!;
      const flags = bytes[from + 5]!;
      const id = bytes.readUInt32BE(from + 8);
      const length = bytes.readUInt32BE(from + 12);
      if (bytes.length - from - MCP1_HEADER_BYTES < length) break;
      const payload = bytes.subarray(from + MCP1_HEADER_BYTES, from + MCP1_HEADER_BYTES + length);
      from += MCP1_HEADER_BYTES + length;
      const value = () => decode(payload, flags);
      if (type === Mcp1Type.Response) out.push({ kind: 'result', id, value: value() ?? null });
      else if (type === Mcp1Type.Error) out.push({ kind: 'error', id, error: value() as RpcErrorObject });
      else if (type === Mcp1Type.StreamItem) out.push({ kind: 'item', id, value: value() });
      else if (type === Mcp1Type.Pong) out.push({ kind: 'pong', id });
      else if (type === Mcp1Type.Request) out.push(serverRequest(payload, flags, id));
      else if (type === Mcp1Type.Notification) out.push(...serverNotification(payload, flags));
      else if (type === Mcp1Type.Cancel) out.push({ kind: 'cancel', id });
      else throw new TypeError(`the server sent MCP1 frame type ${type}, which servers do not send`);
    }
    this.buffer.keep(bytes, from);
    return out;
  }

  private frame(type: number, id: number, payload: unknown): Uint8Array {
    const body = this.json ? Buffer.from(JSON.stringify(payload)) : packr.pack(payload);
    const out = Buffer.allocUnsafe(MCP1_HEADER_BYTES + body.length);
    out.set(header(type, this.json ? MCP1_FLAG_JSON : 0, id, body.length));
    out.set(body, MCP1_HEADER_BYTES);
    return out;
  }
}

function header(type: number, flags: number, id: number, length: number): Buffer {
  const out = Buffer.alloc(MCP1_HEADER_BYTES);
  writeMcp1Header(out, type, flags, id, length);
  return out;
}

/** A type 1 frame from the server; one that does not read costs only itself, answered as a server answers ours (3.4). */
function serverRequest(payload: Buffer, flags: number, id: number): Incoming {
  let value: unknown;
  try {
    value = decode(payload, flags);
  } catch {
    return { kind: 'invalid', id, error: PARSE_ERROR };
  }
  const call = methodCall(value);
  return call ? { kind: 'request', id, ...call } : { kind: 'invalid', id, error: INVALID_REQUEST };
}

/** A type 4 frame from the server; one that does not read is dropped, as notifications are never answered. */
function serverNotification(payload: Buffer, flags: number): Incoming[] {
  let value: unknown;
  try {
    value = decode(payload, flags);
  } catch {
    return [];
  }
  const call = methodCall(value);
  return call ? [{ kind: 'notification', ...call }] : [];
}

function methodCall(value: unknown): { method: string; params: unknown } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { method, params } = value as { method?: unknown; params?: unknown };
  return typeof method === 'string' ? { method, params } : undefined;
}

/**
 * The server's payloads reach the application (and, as server requests, its
 * handlers): decoded as the server decodes ours, with no msgpackr extension and
 * bounded depth, so that `c1` and the like do not decode (PROTOCOL.md 3.4).
 */
function decode(payload: Buffer, flags: number): unknown {
  if (payload.length === 0) return undefined;
  return flags & MCP1_FLAG_JSON ? JSON.parse(payload.toString('utf8')) : decodeMsgpack(payload);
}
