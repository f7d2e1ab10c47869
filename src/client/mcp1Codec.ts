import { Packr, Unpackr } from 'msgpackr';
import type { RpcErrorObject } from '../core/records.js';
import { MCP1_FLAG_JSON, MCP1_HEADER_BYTES, MCP1_MAGIC, Mcp1Type, writeMcp1Header } from '../core/wire/mcp1.js';
import { type ClientCodec, type Incoming, ReadBuffer } from './codec.js';

const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number' });

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

function decode(payload: Buffer, flags: number): unknown {
  if (payload.length === 0) return undefined;
  return flags & MCP1_FLAG_JSON ? JSON.parse(payload.toString('utf8')) : unpackr.unpack(payload);
}
