import { unpack } from 'msgpackr';
import { from, map, type OperatorFunction, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeMcp1 } from '../operators/encodeMcp1.js';
import type { EncodeOptions } from '../operators/internal/options.js';
import type { PipelineRecord, ReplyRecord, ViolationRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** Outbound bytes as hex, so that records compare with toEqual. */
const readable: OperatorFunction<PipelineRecord, unknown> = map((r) => (r.type === 'out' ? { out: hex(r.bytes), close: r.close } : r));

function encodeAll(records: PipelineRecord[], options?: EncodeOptions): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(records)
    .pipe(encodeMcp1(options), toArray())
    .subscribe((all) => (out = all));
  return out;
}

/** The frames written, split into header fields and decoded payload. */
function frames(records: PipelineRecord[]): Array<{ type: number; flags: number; id: number; payload: unknown; raw: Uint8Array }> {
  return encodeAll(records).map((record) => {
    if (record.type !== 'out') throw new Error(`expected out, got ${record.type}`);
    const bytes = record.bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(hex(bytes.subarray(0, 4))).toBe('4d435031');
    expect(view.getUint16(6)).toBe(0);
    const length = view.getUint32(12);
    expect(bytes.length).toBe(16 + length);
    const body = bytes.subarray(16);
    const flags = bytes[5]!;
    const payload = length === 0 ? undefined : flags & 1 ? JSON.parse(new TextDecoder().decode(body)) : unpack(body);
    return { type: bytes[4]!, flags, id: view.getUint32(8), payload, raw: body };
  });
}

function reply(id: number, kind: ReplyRecord['kind'], extra: Partial<ReplyRecord> = {}): ReplyRecord {
  return { type: 'reply', connection: conn, protocol: 'mcp1', id, kind, final: kind === 'result' || kind === 'error', ...extra };
}

describe('encodeMcp1()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    const values = {
      r: reply(7, 'result', { result: 3 }),
      p: reply(8, 'pong'),
      e: { type: 'end', connection: conn } as PipelineRecord,
    };
    const encoded = {
      a: { out: '4d435031' + '02' + '00' + '0000' + '00000007' + '00000001' + '03', close: undefined },
      b: { out: '4d435031' + '06' + '00' + '0000' + '00000008' + '00000000', close: undefined },
      e: values.e,
    };

    it('encodes replies into frames and passes other records through in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-r-p-e-|', values);
        expectObservable(source.pipe(encodeMcp1(), readable)).toBe('-a-b-e-|', encoded);
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('propagates the source error', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-r-#', values);
        expectObservable(source.pipe(encodeMcp1(), readable)).toBe('-a-#', encoded);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when unsubscribed early', () => {
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-r-p-r-|', values);
        expectObservable(source.pipe(encodeMcp1(), readable), '^----!').toBe('-a-b-', encoded);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(encodeMcp1())).toBe('|');
        expectObservable(never.pipe(encodeMcp1())).toBe('-');
        expectObservable(thrown.pipe(encodeMcp1())).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('leaves JSON-RPC replies and violations to encodeJsonRpc()', () => {
      const records: PipelineRecord[] = [
        { ...reply(1, 'result'), protocol: 'jsonrpc' },
        { type: 'violation', connection: conn, reason: 'unknown-protocol', error: { code: -32700, message: 'x' } },
      ];
      expect(encodeAll(records)).toEqual(records);
    });
  });

  describe('frames', () => {
    it('writes results as type 2, nil when undefined', () => {
      expect(frames([reply(1, 'result', { result: { a: [1, 'x'] } }), reply(0xfffffffe, 'result')])).toMatchObject([
        { type: 2, flags: 0, id: 1, payload: { a: [1, 'x'] } },
        { type: 2, flags: 0, id: 0xfffffffe, payload: null },
      ]);
      expect(hex(frames([reply(2, 'result')])[0]!.raw)).toBe('c0');
    });

    it('writes errors as type 3 maps {code, message, data?}, byte for byte', () => {
      const [plain] = frames([reply(3, 'error', { error: { code: -32600, message: 'x' } })]);
      expect(hex(plain!.raw)).toBe('82' + 'a4' + hex(Buffer.from('code')) + 'd180a8' + 'a7' + hex(Buffer.from('message')) + 'a178');
      const [withData] = frames([reply(4, 'error', { error: { code: 5, message: 'm', data: [1] } })]);
      expect(withData).toMatchObject({ type: 3, id: 4, payload: { code: 5, message: 'm', data: [1] } });
    });

    it('writes stream items as type 8 and pongs as empty type 6', () => {
      expect(frames([reply(5, 'item', { result: 'v', final: false }), reply(6, 'pong')])).toMatchObject([
        { type: 8, id: 5, payload: 'v' },
        { type: 6, id: 6, payload: undefined },
      ]);
    });

    it('writes JSON payloads with flags bit 0 when the request came as JSON', () => {
      const out = frames([
        reply(1, 'result', { result: { a: 1 }, json: true }),
        reply(2, 'error', { error: { code: -1, message: 'e' }, json: true }),
        reply(3, 'result', { json: true }),
        reply(4, 'pong', { json: true }),
      ]);
      expect(out.map((f) => [f.type, f.flags, f.id, f.payload])).toEqual([
        [2, 1, 1, { a: 1 }],
        [3, 1, 2, { code: -1, message: 'e' }],
        [2, 1, 3, null],
        [6, 1, 4, undefined],
      ]);
      expect(new TextDecoder().decode(out[0]!.raw)).toBe('{"a":1}');
    });

    it('writes nothing for silent replies', () => {
      expect(encodeAll([reply(0, 'result', { silent: true })])).toEqual([]);
    });

    it('puts header and payload in one buffer', () => {
      const [record] = encodeAll([reply(1, 'result', { result: 'x'.repeat(100_000) })]);
      if (record?.type !== 'out') throw new Error('expected out');
      expect(record.bytes.length).toBe(16 + 5 + 100_000);
      expect(new DataView(record.bytes.buffer, record.bytes.byteOffset).getUint32(12)).toBe(5 + 100_000);
    });
  });

  describe('values MessagePack cannot hold', () => {
    it('answers -32603 instead of throwing, and keeps encoding afterwards', () => {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const out = frames([
        reply(1, 'result', { result: 2n ** 70n }),
        reply(2, 'result', { result: Symbol('s') }),
        reply(3, 'result', { result: cycle }),
        reply(4, 'error', { error: { code: 1, message: 'm', data: Symbol('d') } }),
        reply(5, 'result', { result: 2n ** 70n, json: true }),
        reply(6, 'result', { result: 'fine' }),
      ]);
      expect(out.map((f) => [f.type, f.id, f.payload])).toEqual([
        [3, 1, { code: -32603, message: 'Internal error' }],
        [3, 2, { code: -32603, message: 'Internal error' }],
        [3, 3, { code: -32603, message: 'Internal error' }],
        [3, 4, { code: -32603, message: 'Internal error' }],
        [3, 5, { code: -32603, message: 'Internal error' }],
        [2, 6, 'fine'],
      ]);
    });

    it('ends a stream whose item cannot be encoded with one error, dropping the rest of it', () => {
      const other = testConnection();
      const out = frames([
        reply(1, 'item', { result: 1, final: false }),
        reply(1, 'item', { result: 2n ** 70n, final: false }),
        reply(1, 'item', { result: 3, final: false }),
        { ...reply(1, 'item', { result: 9, final: false }), connection: other },
        reply(1, 'result'),
        reply(1, 'result', { result: 'next request with the same id' }),
      ]);
      expect(out.map((f) => [f.type, f.id, f.payload])).toEqual([
        [8, 1, 1],
        [3, 1, { code: -32603, message: 'Internal error' }],
        [8, 1, 9],
        [2, 1, 'next request with the same id'],
      ]);
    });
  });

  describe('options.onFailure', () => {
    it('is told of each reply that cannot be encoded, with its method, and of nothing else', () => {
      const reports: Array<[string | undefined, unknown]> = [];
      const onFailure: EncodeOptions['onFailure'] = (method, error) => reports.push([method, error]);
      const out = encodeAll(
        [
          reply(1, 'result', { result: 2n ** 70n, method: 'big' }),
          reply(2, 'result', { result: 2n ** 70n, json: true, method: 'bigAsJson' }),
          reply(3, 'error', { error: { code: 1, message: 'm', data: Symbol('d') }, method: 'badData' }),
          reply(4, 'item', { result: 1, final: false, method: 'stream' }),
          reply(4, 'item', { result: 2n ** 70n, final: false, method: 'stream' }),
          reply(4, 'item', { result: 2n ** 70n, final: false, method: 'stream' }),
          reply(4, 'result', { method: 'stream' }),
          reply(5, 'result', { result: 2n ** 70n }),
          reply(6, 'result', { result: { fine: [1, 'two'] }, method: 'fine' }),
          reply(7, 'pong'),
          { type: 'violation', connection: conn, protocol: 'mcp1', reason: 'bad-header', error: { code: -32600, message: 'x' } },
        ],
        { onFailure },
      );
      expect(reports.map(([method]) => method)).toEqual(['big', 'bigAsJson', 'badData', 'stream', undefined]);
      for (const [, error] of reports) expect(error).toBeInstanceOf(Error);
      // The dropped rest of a broken stream is not encoded, so not reported again.
      expect(out).toHaveLength(9);
    });
  });

  describe('violations', () => {
    const violation = (error?: ViolationRecord['error']): ViolationRecord => ({
      type: 'violation',
      connection: conn,
      protocol: 'mcp1',
      error,
      reason: 'bad-header',
    });

    it('writes a type-3 frame with id 0 and asks to close', () => {
      const [record] = encodeAll([violation({ code: -32600, message: 'x' })]);
      if (record?.type !== 'out') throw new Error('expected out');
      expect(record.close).toBe(true);
      expect(hex(record.bytes)).toBe(
        '4d435031' +
          '03' +
          '00' +
          '0000' +
          '00000000' +
          '00000013' +
          '82a4' +
          hex(Buffer.from('code')) +
          'd180a8a7' +
          hex(Buffer.from('message')) +
          'a178',
      );
    });

    it('closes without writing when the violation has no error', () => {
      const [record] = encodeAll([violation()]);
      expect(record).toMatchObject({ type: 'out', close: true });
      if (record?.type === 'out') expect(record.bytes.length).toBe(0);
    });
  });
});
