import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { config, from, type OperatorFunction, pipe, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plain } from '../operators/codec/msgpack.js';
import { isSafeMsgpack } from '../operators/codec/msgpackCheck.js';
import { decodeJsonRpc } from '../operators/decodeJsonRpc.js';
import { decodeMcp1 } from '../operators/decodeMcp1.js';
import { encodeJsonRpc } from '../operators/encodeJsonRpc.js';
import { encodeMcp1 } from '../operators/encodeMcp1.js';
import { handle } from '../operators/handle.js';
import { route } from '../operators/route.js';
import type { FrameRecord, Handlers, PipelineRecord, Protocol, ReplyRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();
const client = new Packr({ useRecords: false });
// Maps as Maps: msgpackr's objects rename a `__proto__` key (fast-check's JSON
// values include one now and then), which the server keeps as JSON.parse does;
// plain() makes the Maps into objects the way the server does.
const mapClient = new Unpackr({ useRecords: false, mapsAsObjects: false });

const utf8 = new TextEncoder();

/** JSON values as they come back from a JSON round trip (no -0), with any Unicode. */
const json = fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const params = fc.option(fc.oneof(fc.array(json, { maxLength: 4 }), fc.dictionary(fc.string(), json, { maxKeys: 4 })), {
  nil: undefined,
});
const method = fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('constructor', '__proto__', 'toString', '$/cancelRequest'));

function run(records: PipelineRecord[], operator: OperatorFunction<PipelineRecord, PipelineRecord>): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(records)
    .pipe(operator, toArray())
    .subscribe((all) => (out = all));
  return out;
}

/** A server whose every method echoes its params. */
function echoServer(name: string): OperatorFunction<PipelineRecord, PipelineRecord> {
  const handlers: Handlers = { [name]: (p: unknown) => p };
  return pipe(decodeMcp1(), decodeJsonRpc(), route(handlers), handle(), encodeMcp1(), encodeJsonRpc());
}

function jsonFrame(text: string | Uint8Array, protocol: Protocol): FrameRecord {
  return { type: 'frame', connection: conn, protocol, bytes: typeof text === 'string' ? utf8.encode(text) : text };
}

function mcp1Frame(type: number, id: number, payload: Uint8Array, flags = 0): FrameRecord {
  return { type: 'frame', connection: conn, protocol: 'mcp1', bytes: payload, header: { type, flags, id, length: payload.length } };
}

/** The JSON values written, unframed. */
function written(records: PipelineRecord[], protocol: Protocol): unknown[] {
  return records.map((r) => {
    if (r.type !== 'out') throw new Error(`expected out, got ${r.type}`);
    const text = new TextDecoder().decode(r.bytes);
    if (protocol === 'lsp') {
      const match = /^Content-Length: (\d+)\r\n\r\n/.exec(text);
      expect(match).not.toBeNull();
      expect(Number(match![1])).toBe(r.bytes.length - match![0].length);
      return JSON.parse(text.slice(match![0].length));
    }
    expect(text.endsWith('\n')).toBe(true);
    return JSON.parse(text);
  });
}

function mcp1Frames(records: PipelineRecord[]): Array<{ type: number; flags: number; id: number; payload: unknown }> {
  return records.map((r) => {
    if (r.type !== 'out') throw new Error(`expected out, got ${r.type}`);
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    expect(view.getUint32(0)).toBe(0x4d435031);
    expect(view.getUint32(12)).toBe(r.bytes.length - 16);
    const body = r.bytes.subarray(16);
    const flags = r.bytes[5]!;
    const payload = body.length === 0 ? undefined : flags & 1 ? JSON.parse(new TextDecoder().decode(body)) : plain(mapClient.unpack(body));
    return { type: r.bytes[4]!, flags, id: view.getUint32(8), payload };
  });
}

describe('codec properties', () => {
  // An exception thrown inside an operator's next() would surface here, not as a stream error.
  let unhandled: unknown[];
  beforeEach(() => {
    unhandled = [];
    config.onUnhandledError = (err) => unhandled.push(err);
  });
  afterEach(() => {
    config.onUnhandledError = null;
    expect(unhandled).toEqual([]);
  });

  it('JSON-RPC: a request decodes, is answered, and encodes back with its id and params', () => {
    const request = fc.record({
      id: fc.option(fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.constant(null)), { nil: undefined }),
      method,
      params,
      protocol: fc.constantFrom<Protocol>('jsonrpc', 'lsp'),
    });
    fc.assert(
      fc.property(request, fc.boolean(), ({ id, method, params, protocol }, hasId) => {
        const message = { jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }), ...(hasId ? { id: id ?? null } : {}) };
        const out = run([jsonFrame(JSON.stringify(message), protocol)], echoServer(method));
        if (!hasId) {
          expect(out).toEqual([]);
          return;
        }
        expect(written(out, protocol)).toEqual([{ jsonrpc: '2.0', id: id ?? null, result: params ?? null }]);
      }),
    );
  });

  it('JSON-RPC: a batch gets one array with an answer per request, or nothing', () => {
    const member = fc.record({ id: fc.option(fc.integer(), { nil: undefined }), params });
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 6 }), (members) => {
        const batch = members.map(({ id, params }) => ({ jsonrpc: '2.0', method: 'echo', params, ...(id === undefined ? {} : { id }) }));
        const out = run([jsonFrame(JSON.stringify(batch), 'jsonrpc')], echoServer('echo'));
        const answered = members.filter((m) => m.id !== undefined);
        if (answered.length === 0) {
          expect(out).toEqual([]);
          return;
        }
        expect(written(out, 'jsonrpc')).toEqual([answered.map(({ id, params }) => ({ jsonrpc: '2.0', id, result: params ?? null }))]);
      }),
    );
  });

  it('MCP1: a request decodes, is answered, and encodes back with its id, flag and params', () => {
    const noProto = (v: unknown): boolean => !JSON.stringify(v ?? null).includes('"__proto__"');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), method, params.filter(noProto), fc.boolean(), (id, name, p, asJson) => {
        const message = p === undefined ? { method: name } : { method: name, params: p };
        const payload = asJson ? utf8.encode(JSON.stringify(message)) : client.pack(message);
        const out = run([mcp1Frame(1, id, payload, asJson ? 1 : 0)], echoServer(name));
        expect(mcp1Frames(out)).toEqual([{ type: 2, flags: asJson ? 1 : 0, id, payload: p ?? null }]);
      }),
    );
  });

  it('MCP1: a stream comes back as items then a final nil response', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.array(json, { maxLength: 5 }), (id, items) => {
        const handlers: Handlers = { stream: (p: unknown) => from(p as unknown[]) };
        const out = run(
          [mcp1Frame(1, id, client.pack({ method: 'stream', params: items }))],
          pipe(decodeMcp1(), route(handlers), handle(), encodeMcp1()),
        );
        expect(mcp1Frames(out)).toEqual([
          ...items.map((payload) => ({ type: 8, flags: 0, id, payload })),
          { type: 2, flags: 0, id, payload: null },
        ]);
      }),
    );
  });

  it('JSON-RPC: any bytes give one answer per message, never a thrown error', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      json.map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 64 }),
    );
    fc.assert(
      fc.property(text, fc.constantFrom<Protocol>('jsonrpc', 'lsp'), (input, protocol) => {
        const frame = jsonFrame(input, protocol);
        let failed: unknown;
        let out: PipelineRecord[] = [];
        from([frame])
          .pipe(decodeJsonRpc(), toArray())
          .subscribe({ next: (all) => (out = all), error: (err) => (failed = err) });
        expect(failed).toBeUndefined();
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.bytes));
        } catch {
          expect(out).toEqual([expect.objectContaining({ type: 'reply', kind: 'error', error: { code: -32700, message: 'Parse error' } })]);
          return;
        }
        for (const record of out) expect(['request', 'reply', 'cancel']).toContain(record.type);
        if (Array.isArray(parsed) && parsed.length > 0) {
          // one answer-bearing record per member (an LSP cancel member adds its CancelRecord)
          expect(out.filter((r) => r.type !== 'cancel')).toHaveLength(parsed.length);
        } else {
          expect(out).toHaveLength(1);
        }
      }),
    );
  });

  it('MCP1: any payload gives exactly one answer for a request and at most a request for a notification', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(1, 4),
        fc.constantFrom(0, 1),
        (payload, id, type, flags) => {
          const out = run([mcp1Frame(type, id, payload, flags)], pipe(decodeMcp1(), route({ m: () => 1 }), handle(), encodeMcp1()));
          if (type === 1) {
            const frames = mcp1Frames(out);
            expect(frames).toHaveLength(1);
            expect(frames[0]!.id).toBe(id);
            expect([2, 3]).toContain(frames[0]!.type);
          } else {
            expect(out).toEqual([]);
          }
        },
      ),
    );
  });

  it('MCP1: hostile nesting and length claims never crash and never decode past the frame', () => {
    const header = fc.constantFrom(
      0x91,
      0x9f,
      0x81,
      0x8f,
      0xdc,
      0xdd,
      0xde,
      0xdf,
      0xd9,
      0xda,
      0xdb,
      0xc4,
      0xc5,
      0xc6,
      0xc7,
      0xc8,
      0xc9,
      0xd4,
      0xd5,
      0xd6,
      0xd7,
      0xd8,
      0xc1,
    );
    const hostile = fc
      .tuple(fc.integer({ min: 0, max: 20_000 }), fc.array(fc.oneof(header, fc.integer({ min: 0, max: 255 })), { maxLength: 48 }))
      .map(([depth, tail]) => Uint8Array.from([...new Array<number>(depth).fill(0x91), ...tail]));
    fc.assert(
      fc.property(hostile, (payload) => {
        const safe = isSafeMsgpack(payload);
        const out = run([mcp1Frame(1, 7, payload)], decodeMcp1()) as ReplyRecord[];
        expect(out).toHaveLength(1);
        if (!safe) expect(out[0]).toMatchObject({ type: 'reply', kind: 'error', error: { code: -32700 } });
        else expect(['request', 'reply']).toContain(out[0]!.type);
      }),
      { numRuns: 200 },
    );
  });

  it('MCP1: the payload check accepts everything a MessagePack encoder writes for JSON values', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(isSafeMsgpack(client.pack(value))).toBe(true);
      }),
    );
  });
});
