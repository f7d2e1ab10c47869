import { type OperatorFunction, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { mcp1Frames } from '../operators/mcp1Frames.js';
import type { FrameRecord, PipelineRecord } from '../src/core/records.js';
import {
  type BytesInput,
  concatBytes,
  dataRecord,
  endRecord,
  mcp1Bytes,
  openRecord,
  readable,
  type TestConnection,
  testConnection,
  toReadable,
  utf8,
} from '../src/testing/index.js';
import { collect as collectAll } from './helpers/collect.js';

let scheduler: TestScheduler;
beforeEach(() => {
  scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

const mcp1 = (conn: TestConnection, data: BytesInput) => dataRecord(conn, data, 'mcp1');

const collect = (records: PipelineRecord[], op: OperatorFunction<PipelineRecord, PipelineRecord> = mcp1Frames()): PipelineRecord[] =>
  collectAll(op, records);
/** `id:type:payload` per frame, `!reason:message` per violation. */
function summary(records: PipelineRecord[]): string[] {
  return records.map((r) =>
    r.type === 'frame'
      ? `${r.header!.id}:${r.header!.type}:${utf8(r.bytes)}`
      : r.type === 'violation'
        ? `!${r.reason}:${r.error?.message ?? ''}`
        : r.type,
  );
}

const frameOf = (conn: TestConnection, id: number, type: number, text: string, flags = 0) => ({
  type: 'frame',
  connection: conn.id,
  protocol: 'mcp1',
  header: { type, flags, id, length: Buffer.byteLength(text) },
  text,
});

describe('mcp1Frames', () => {
  it('emits a frame per header + payload, joining one split across reads', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const one = mcp1Bytes({ type: 1, id: 7, payload: 'hello' });
      const two = mcp1Bytes({ type: 4, id: 0, flags: 1, payload: '{"m":1}' });
      const wire = concatBytes(one, two);
      const source = cold('a--b--e|', {
        a: mcp1(conn, wire.subarray(0, one.length + 5)),
        b: mcp1(conn, wire.subarray(one.length + 5)),
        e: endRecord(conn),
      });
      expectObservable(source.pipe(mcp1Frames(), readable())).toBe('x--y--e|', {
        x: frameOf(conn, 7, 1, 'hello'),
        y: frameOf(conn, 0, 4, '{"m":1}', 1),
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('reads every client frame type and full 32-bit ids and lengths', () => {
    const conn = testConnection();
    const wire = concatBytes(
      mcp1Bytes({ type: 1, id: 0xffffffff, payload: 'r' }),
      mcp1Bytes({ type: 4, payload: 'n' }),
      mcp1Bytes({ type: 5, id: 0x80000000 }),
      mcp1Bytes({ type: 7, id: 3 }),
    );
    expect(summary(collect([mcp1(conn, wire)]))).toEqual(['4294967295:1:r', '0:4:n', '2147483648:5:', '3:7:']);
  });

  it('gives the same frames for input split at every offset, header included', () => {
    const wire = concatBytes(
      mcp1Bytes({ type: 1, id: 1, payload: 'abc' }),
      mcp1Bytes({ type: 5, id: 2 }),
      mcp1Bytes({ type: 1, id: 3, payload: 'x'.repeat(40) }),
    );
    const expected = ['1:1:abc', '2:5:', `3:1:${'x'.repeat(40)}`];
    for (let cut = 0; cut <= wire.length; cut++) {
      for (const cut2 of [cut, Math.min(cut + 3, wire.length), Math.min(cut + 17, wire.length)]) {
        const conn = testConnection();
        const out = collect([mcp1(conn, wire.subarray(0, cut)), mcp1(conn, wire.subarray(cut, cut2)), mcp1(conn, wire.subarray(cut2))]);
        expect(summary(out), `cuts ${cut}/${cut2}`).toEqual(expected);
      }
    }
  });

  it('gives the payload as a view of the read when it lies within one, a copy across reads', () => {
    const conn = testConnection();
    const record = mcp1(conn, mcp1Bytes({ type: 1, id: 1, payload: 'abc' }));
    const [inside] = collect([record]) as FrameRecord[];
    expect(inside!.bytes.buffer).toBe(record.bytes.buffer);
    expect(inside!.bytes.byteOffset).toBe(record.bytes.byteOffset + 16);

    // Header split, payload whole in the second read: still a view of that read.
    const frame = mcp1Bytes({ type: 1, id: 2, payload: 'xyz' });
    const second = mcp1(conn, frame.subarray(10));
    const [afterSplitHeader] = collect([mcp1(conn, frame.subarray(0, 10)), second]) as FrameRecord[];
    expect(afterSplitHeader!.bytes.buffer).toBe(second.bytes.buffer);

    const [across] = collect([mcp1(conn, frame.subarray(0, 18)), mcp1(conn, frame.subarray(18))]) as FrameRecord[];
    expect(utf8(across!.bytes)).toBe('xyz');
    expect(across!.bytes.length).toBe(3);
  });

  it.each([
    ['Bad magic', { type: 1, magic: 'MCP2' }],
    ['Reserved flag bits set', { type: 1, flags: 2 }],
    ['Reserved flag bits set', { type: 1, flags: 0x81 }],
    ['Reserved field set', { type: 1, reserved: 1 }],
    ['Reserved field set', { type: 1, reserved: 0x100 }],
    ['Unknown frame type 0', { type: 0 }],
    ['Unknown frame type 9', { type: 9 }],
    ['Unknown frame type 255', { type: 255 }],
    ['Frame type 6 is server-only', { type: 6 }],
    ['Frame type 8 is server-only', { type: 8 }],
  ])('rejects a header with "%s" and drops the rest of the connection', (message, frame) => {
    const conn = testConnection();
    const out = collect([
      mcp1(conn, concatBytes(mcp1Bytes({ type: 5, id: 1 }), mcp1Bytes(frame))),
      mcp1(conn, mcp1Bytes({ type: 5, id: 2 })),
      endRecord(conn),
    ]).map((r) => toReadable(r));
    expect(out).toEqual([
      frameOf(conn, 1, 5, ''),
      { type: 'violation', connection: conn.id, protocol: 'mcp1', reason: 'bad-header', error: { code: -32600, message } },
      { type: 'end', connection: conn.id },
    ]);
  });

  it('accepts a payload of exactly maxMessageBytes', () => {
    const conn = testConnection();
    const wire = mcp1Bytes({ type: 1, id: 1, payload: 'x'.repeat(32) });
    expect(summary(collect([mcp1(conn, wire)], mcp1Frames({ maxMessageBytes: 32 })))).toEqual([`1:1:${'x'.repeat(32)}`]);
  });

  it('rejects a length over maxMessageBytes from the header alone, before any payload arrives', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const conn = testConnection();
      const header = mcp1Bytes({ type: 1, id: 1, length: 33 });
      const source = cold('a-b', { a: mcp1(conn, header), b: mcp1(conn, 'x'.repeat(33)) });
      expectObservable(source.pipe(mcp1Frames({ maxMessageBytes: 32 }), readable())).toBe('v--', {
        v: {
          type: 'violation',
          connection: conn.id,
          protocol: 'mcp1',
          reason: 'too-large',
          error: { code: -32600, message: 'Frame too large' },
        },
      });
    });
  });

  it('checks a header that was split across reads just the same', () => {
    const conn = testConnection();
    const bad = mcp1Bytes({ type: 1, length: 0xffffffff });
    expect(summary(collect([mcp1(conn, bad.subarray(0, 13)), mcp1(conn, bad.subarray(13))]))).toEqual(['!too-large:Frame too large']);
  });

  it('keeps interleaved connections apart', () => {
    const one = testConnection();
    const two = testConnection();
    const a = mcp1Bytes({ type: 1, id: 1, payload: 'one' });
    const b = mcp1Bytes({ type: 1, id: 2, payload: 'two' });
    const out = collect([mcp1(one, a.subarray(0, 5)), mcp1(two, b.subarray(0, 17)), mcp1(one, a.subarray(5)), mcp1(two, b.subarray(17))]);
    expect(out.map((r) => [r.connection, summary([r])[0]])).toEqual([
      [one, '1:1:one'],
      [two, '2:1:two'],
    ]);
  });

  it('discards a partial frame at the connection end', () => {
    const conn = testConnection();
    const out = collect([mcp1(conn, mcp1Bytes({ type: 1, payload: 'abcdef' }).subarray(0, 19)), endRecord(conn)]);
    expect(summary(out)).toEqual(['end']);
  });

  it('passes records of other protocols and other types unchanged', () => {
    const conn = testConnection();
    const records: PipelineRecord[] = [openRecord(conn), dataRecord(conn, '{}', 'jsonrpc'), dataRecord(conn, 'MCP1')];
    const out = collect(records);
    out.forEach((r, i) => expect(r).toBe(records[i]));
    expect(out).toHaveLength(3);
  });

  it('stops framing a read when the connection ends while a frame is handled downstream', () => {
    const conn = testConnection();
    const input = new Subject<PipelineRecord>();
    const seen: string[] = [];
    input.pipe(mcp1Frames()).subscribe((r) => {
      seen.push(summary([r])[0]!);
      if (r.type === 'frame') input.next(endRecord(conn));
    });
    input.next(mcp1(conn, concatBytes(mcp1Bytes({ type: 5, id: 1 }), mcp1Bytes({ type: 5, id: 2 }))));
    expect(seen).toEqual(['1:5:', 'end']);
  });

  describe('message timeout', () => {
    it('closes silently when a frame begun is not finished in messageTimeoutMs', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const frame = mcp1Bytes({ type: 1, id: 1, payload: 'abc' });
        const source = cold('a-b 10ms c', {
          a: mcp1(conn, frame.subarray(0, 8)),
          b: mcp1(conn, frame.subarray(8, 17)),
          c: mcp1(conn, frame.subarray(17)),
        });
        expectObservable(source.pipe(mcp1Frames({ messageTimeoutMs: 4 }), readable())).toBe('----t', {
          t: { type: 'violation', connection: conn.id, protocol: 'mcp1', reason: 'message-timeout' },
        });
      });
    });

    it('does not time out an idle connection, nor a frame finished in time', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const frame = mcp1Bytes({ type: 1, id: 1, payload: 'abc' });
        const source = cold('a-b 20ms c', {
          a: mcp1(conn, frame.subarray(0, 8)),
          b: mcp1(conn, frame.subarray(8)),
          c: mcp1(conn, mcp1Bytes({ type: 5, id: 2 })),
        });
        expectObservable(source.pipe(mcp1Frames({ messageTimeoutMs: 4, scheduler }), readable())).toBe('--b 20ms c', {
          b: frameOf(conn, 1, 1, 'abc'),
          c: frameOf(conn, 2, 5, ''),
        });
      });
    });
  });

  it('propagates errors', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-#', { a: mcp1(conn, mcp1Bytes({ type: 5, id: 4 })) });
      expectObservable(source.pipe(mcp1Frames(), readable())).toBe('a-#', { a: frameOf(conn, 4, 5, '') });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('stops, timers included, on early unsubscribe', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-------|', { a: mcp1(conn, 'MCP1') });
      expectObservable(source.pipe(mcp1Frames({ messageTimeoutMs: 4 }), readable()), '^--!').toBe('----');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('handles empty, never and throw', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<PipelineRecord>('|');
      const never = cold<PipelineRecord>('-');
      const thrown = cold<PipelineRecord>('#');
      expectObservable(empty.pipe(mcp1Frames())).toBe('|');
      expectObservable(never.pipe(mcp1Frames())).toBe('-');
      expectObservable(thrown.pipe(mcp1Frames())).toBe('#');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(thrown.subscriptions).toBe('(^!)');
    });
  });
});
