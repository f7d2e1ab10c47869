import { pack } from 'msgpackr';
import { from, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { isSafeMsgpack, MAX_MSGPACK_DEPTH } from '../operators/codec/msgpackCheck.js';
import { decodeMcp1 } from '../operators/decodeMcp1.js';
import type { FrameRecord, PipelineRecord, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();

function mcp1(type: number, id: number, payload: Uint8Array | string = new Uint8Array(0), flags = 0): FrameRecord {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return { type: 'frame', connection: conn, protocol: 'mcp1', bytes, header: { type, flags, id, length: bytes.length } };
}

function decodeAll(frames: PipelineRecord[]): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(frames)
    .pipe(decodeMcp1(), toArray())
    .subscribe((records) => (out = records));
  return out;
}

function request(fields: Partial<RequestRecord> & { id: number; method: string }): RequestRecord {
  return { type: 'request', connection: conn, protocol: 'mcp1', notification: false, params: undefined, json: false, ...fields };
}

function error(id: number, code: number, message: string, json = false): ReplyRecord {
  return { type: 'reply', connection: conn, protocol: 'mcp1', id, kind: 'error', error: { code, message }, json };
}

const parseError = (id: number): ReplyRecord => error(id, -32700, 'Parse error');
const invalidRequest = (id: number): ReplyRecord => error(id, -32600, 'Invalid Request');

describe('decodeMcp1()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    const values = {
      q: mcp1(1, 7, pack({ method: 'echo', params: [1] })),
      p: mcp1(5, 8),
      c: mcp1(7, 7),
      e: { type: 'end', connection: conn } as PipelineRecord,
    };
    const decoded = {
      r: request({ id: 7, method: 'echo', params: [1] }),
      o: { type: 'reply', connection: conn, protocol: 'mcp1', id: 8, kind: 'pong', json: false } as ReplyRecord,
      x: { type: 'cancel', connection: conn, protocol: 'mcp1', id: 7 } as PipelineRecord,
      e: values.e,
    };

    it('decodes requests, pings and cancels, passing other records through in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-q-p-c-e-|', values);
        expectObservable(source.pipe(decodeMcp1())).toBe('-r-o-x-e-|', decoded);
        expectSubscriptions(source.subscriptions).toBe('^--------!');
      });
    });

    it('propagates the source error', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-q-#', values);
        expectObservable(source.pipe(decodeMcp1())).toBe('-r-#', decoded);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when unsubscribed early', () => {
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-q-p-c-|', values);
        expectObservable(source.pipe(decodeMcp1()), '^----!').toBe('-r-o', decoded);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(decodeMcp1())).toBe('|');
        expectObservable(never.pipe(decodeMcp1())).toBe('-');
        expectObservable(thrown.pipe(decodeMcp1())).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('leaves JSON-RPC frames and frame types a client does not send alone', () => {
      const json: FrameRecord = { type: 'frame', connection: conn, protocol: 'jsonrpc', bytes: new Uint8Array([0x7b]) };
      const item = mcp1(8, 1, pack(1));
      expect(decodeAll([json, item])).toEqual([json, item]);
    });

    it("decodes a client's answers to server requests: type 2 results, type 3 errors (PROTOCOL.md 6.2)", () => {
      expect(
        decodeAll([
          mcp1(2, 7, pack({ a: 1 })),
          mcp1(2, 8, new Uint8Array(0)),
          mcp1(3, 9, pack({ code: -32001, message: 'no', data: [1] })),
          mcp1(3, 10, pack('not an error map')),
          mcp1(2, 11, new Uint8Array([0xc1])),
        ]),
      ).toEqual([
        { type: 'response', connection: conn, protocol: 'mcp1', id: 7, result: { a: 1 } },
        { type: 'response', connection: conn, protocol: 'mcp1', id: 8, result: undefined },
        { type: 'response', connection: conn, protocol: 'mcp1', id: 9, error: { code: -32001, message: 'no', data: [1] } },
        {
          type: 'response',
          connection: conn,
          protocol: 'mcp1',
          id: 10,
          error: { code: -32603, message: 'Internal error', data: 'not an error map' },
        },
        { type: 'response', connection: conn, protocol: 'mcp1', id: 11, error: { code: -32700, message: 'Parse error' } },
      ]);
    });
  });

  describe('requests', () => {
    it('decodes MessagePack requests and notifications with array, map or no params', () => {
      expect(
        decodeAll([
          mcp1(1, 1, pack({ method: 'a', params: [1, 'x'] })),
          mcp1(1, 0xffffffff, pack({ method: 'b', params: { k: true } })),
          mcp1(1, 3, pack({ method: 'c' })),
          mcp1(4, 0, pack({ method: 'd', params: [] })),
        ]),
      ).toEqual([
        request({ id: 1, method: 'a', params: [1, 'x'] }),
        request({ id: 0xffffffff, method: 'b', params: { k: true } }),
        request({ id: 3, method: 'c' }),
        request({ id: 0, method: 'd', params: [], notification: true }),
      ]);
    });

    it('answers nil params -32600: params, when present, must be an array or a map', () => {
      const payload = Uint8Array.from([0x82, 0xa6, ...Buffer.from('method'), 0xa1, 0x6d, 0xa6, ...Buffer.from('params'), 0xc0]);
      const [reply] = decodeAll([mcp1(1, 2, payload), mcp1(1, 3, '{"method":"m","params":null}', 1)]);
      expect(reply).toMatchObject({ type: 'reply', id: 2 });
      expect(
        decodeAll([mcp1(1, 2, payload), mcp1(1, 3, '{"method":"m","params":null}', 1)]).map((r) => (r as { error?: unknown }).error),
      ).toEqual([
        { code: -32600, message: 'Invalid Request' },
        { code: -32600, message: 'Invalid Request' },
      ]);
    });

    it('decodes JSON payloads when flags bit 0 is set, and marks the request json', () => {
      expect(decodeAll([mcp1(1, 5, '{"method":"m","params":{"a":[1]}}', 1)])).toEqual([
        request({ id: 5, method: 'm', params: { a: [1] }, json: true }),
      ]);
    });

    it('copies bin values out of the frame, which the transport reuses', () => {
      const payload = new Uint8Array(pack({ method: 'put', params: [Buffer.from([1, 2, 3])] }));
      const [record] = decodeAll([mcp1(1, 1, payload)]) as RequestRecord[];
      payload.fill(0);
      expect(Array.from((record!.params as Uint8Array[])[0]!)).toEqual([1, 2, 3]);
    });

    it('gives 64-bit integers as numbers where exact and BigInt beyond 2^53', () => {
      const uint64 = (hi: number, lo: number): number[] => [
        0xcf,
        ...[hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255],
        ...[lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255],
      ];
      const payload = Uint8Array.from([
        0x82,
        0xa6,
        ...Buffer.from('method'),
        0xa1,
        0x6d,
        0xa6,
        ...Buffer.from('params'),
        0x92,
        ...uint64(0, 5),
        ...uint64(0x10000000, 0),
      ]);
      const [record] = decodeAll([mcp1(1, 1, payload)]) as RequestRecord[];
      expect(record!.params).toEqual([5, 2n ** 60n]);
    });
  });

  describe('pings and cancels', () => {
    it('answers a ping with a pong of the same id, echoing the JSON flag', () => {
      expect(decodeAll([mcp1(5, 9), mcp1(5, 10, '', 1)])).toEqual([
        { type: 'reply', connection: conn, protocol: 'mcp1', id: 9, kind: 'pong', json: false },
        { type: 'reply', connection: conn, protocol: 'mcp1', id: 10, kind: 'pong', json: true },
      ]);
      expect((decodeAll([mcp1(5, 9)])[0] as ReplyRecord).final).toBeUndefined();
    });

    it('turns a cancel frame into a CancelRecord', () => {
      expect(decodeAll([mcp1(7, 42)])).toEqual([{ type: 'cancel', connection: conn, protocol: 'mcp1', id: 42 }]);
    });
  });

  describe('errors', () => {
    it('answers payloads that do not decode with -32700 and the frame id', () => {
      const truncated = pack({ method: 'm', params: [1, 2, 3] }).subarray(0, 10);
      const trailing = Uint8Array.from([...pack({ method: 'm' }), 0xc0]);
      const frames = [
        mcp1(1, 1, Uint8Array.from([0xc1])),
        mcp1(1, 2, truncated),
        mcp1(1, 3, trailing),
        mcp1(1, 4),
        mcp1(1, 5, '{"method":', 1),
      ];
      expect(decodeAll(frames)).toEqual([
        parseError(1),
        parseError(2),
        parseError(3),
        parseError(4),
        error(5, -32700, 'Parse error', true),
      ]);
    });

    it('answers payloads that are not {method: string, params?: array|map} with -32600 and the frame id', () => {
      const frames = [
        mcp1(1, 1, pack(['m'])),
        mcp1(1, 2, pack({ params: [] })),
        mcp1(1, 3, pack({ method: 7 })),
        mcp1(1, 4, pack({ method: 'm', params: 'x' })),
        mcp1(1, 5, pack({ method: 'm', params: 5 })),
        mcp1(1, 6, pack({ method: 'm', params: new Date(0) })),
        mcp1(1, 7, pack(Buffer.from('method'))),
        mcp1(1, 8, pack(null)),
      ];
      expect(decodeAll(frames)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map(invalidRequest));
      expect(decodeAll([mcp1(1, 9, '[1]', 1)])).toEqual([error(9, -32600, 'Invalid Request', true)]);
    });

    it('drops broken notifications: they are never answered', () => {
      expect(decodeAll([mcp1(4, 0, Uint8Array.from([0xc1])), mcp1(4, 0, pack({ method: 1 })), mcp1(4, 0, 'x', 1)])).toEqual([]);
    });
  });

  describe('hostile MessagePack', () => {
    const nested = (depth: number, leaf = 0xc0): Uint8Array => {
      const bytes = new Uint8Array(depth + 1).fill(0x91);
      bytes[depth] = leaf;
      return bytes;
    };
    const request = (params: Uint8Array): Uint8Array =>
      Uint8Array.from([0x82, 0xa6, ...Buffer.from('method'), 0xa1, 0x6d, 0xa6, ...Buffer.from('params'), ...params]);

    it('answers 10,000 and 1,000,000 levels of nesting with -32700, without recursing', () => {
      expect(decodeAll([mcp1(1, 1, nested(10_000)), mcp1(1, 2, request(nested(1_000_000)))])).toEqual([parseError(1), parseError(2)]);
    });

    it('accepts nesting up to its depth limit and no deeper', () => {
      expect(decodeAll([mcp1(1, 1, request(nested(MAX_MSGPACK_DEPTH - 1)))])[0]).toMatchObject({ type: 'request' });
      expect(decodeAll([mcp1(1, 2, request(nested(MAX_MSGPACK_DEPTH)))])).toEqual([parseError(2)]);
    });

    it('answers lengths claimed past the end of the frame with -32700', () => {
      const claims = [
        [0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0], // array 32 of 4 billion
        [0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 0x61, 0xc0], // map 32
        [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], // str 32
        [0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00], // bin 32
        [0xdc, 0x00, 0x10, 0xc0, 0xc0], // array 16 of 16 in 2 bytes
        [0x9f, 0xc0], // fixarray of 15 in 1 byte
      ];
      const out = decodeAll(claims.map((bytes, i) => mcp1(1, i, request(Uint8Array.from(bytes)))));
      expect(out).toEqual(claims.map((_, i) => parseError(i)));
    });

    it("refuses msgpackr's own extensions (records, errors, RegExps, Sets, bundled strings)", () => {
      const extensions = [
        [0xd4, 0x72, 0x40, 0x91, 0xa1, 0x61, 0x01], // record definition
        [0xd4, 0x65, 0x00, 0x92, 0xa5, ...Buffer.from('Error'), 0xa1, 0x78], // Error
        [0xd4, 0x78, 0x00, 0x92, 0xa2, 0x28, 0x61, 0xa0], // RegExp
        [0xd4, 0x73, 0x00, 0x91, 0x01], // Set
        [0xd6, 0x62, 0x00, 0x00, 0x00, 0x10, 0xc0], // bundled strings
        [0xd5, 0x01, 0x00, 0x00], // unknown fixext 2
      ];
      const out = decodeAll(extensions.map((bytes, i) => mcp1(1, i, request(Uint8Array.from(bytes)))));
      expect(out).toEqual(extensions.map((_, i) => parseError(i)));
    });

    it('accepts the timestamp extension and the undefined extension', () => {
      const out = decodeAll([
        mcp1(1, 1, request(Uint8Array.from([0x91, 0xd6, 0xff, 0x00, 0x00, 0x00, 0x01]))),
        mcp1(1, 2, request(Uint8Array.from([0x91, 0xd4, 0x00, 0x00]))),
      ]) as RequestRecord[];
      expect(out[0]!.params).toEqual([new Date(1000)]);
      expect(out[1]!.params).toEqual([undefined]);
    });

    it('lets no "__proto__" key reach a prototype, in MessagePack or JSON', () => {
      const proto = Buffer.from('__proto__');
      const payload = Uint8Array.from([
        0x82,
        0xa6,
        ...Buffer.from('method'),
        0xa1,
        0x6d,
        0xa6,
        ...Buffer.from('params'),
        0x81,
        0xa9,
        ...proto,
        0x81,
        0xa1,
        0x78,
        0x01,
      ]);
      const [fromMsgpack, fromJson] = decodeAll([
        mcp1(1, 1, payload),
        mcp1(1, 2, '{"method":"m","params":{"__proto__":{"x":1}}}', 1),
      ]) as RequestRecord[];
      for (const record of [fromMsgpack!, fromJson!]) {
        expect(Object.getPrototypeOf(record.params)).toBe(Object.prototype);
        expect((record.params as Record<string, unknown>).x).toBeUndefined();
      }
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });
  });

  describe('isSafeMsgpack()', () => {
    it('accepts every standard type that fits', () => {
      const value = {
        a: [1, -1, 300, -300, 70000, 2 ** 40, 1.5, 'é', 'x'.repeat(40), 'y'.repeat(300), true, false, null],
        b: Buffer.alloc(300),
        m: { n: {} },
      };
      expect(isSafeMsgpack(pack(value))).toBe(true);
    });

    it('rejects empty input, trailing bytes and truncation', () => {
      expect(isSafeMsgpack(new Uint8Array(0))).toBe(false);
      expect(isSafeMsgpack(Uint8Array.from([0xc0, 0xc0]))).toBe(false);
      expect(isSafeMsgpack(Uint8Array.from([0xcb, 0, 0]))).toBe(false);
      expect(isSafeMsgpack(Uint8Array.from([0xda, 0]))).toBe(false);
    });

    it('honours a custom depth limit', () => {
      expect(isSafeMsgpack(Uint8Array.from([0x91, 0x91, 0xc0]), 2)).toBe(true);
      expect(isSafeMsgpack(Uint8Array.from([0x91, 0x91, 0x91, 0xc0]), 2)).toBe(false);
    });
  });
});
