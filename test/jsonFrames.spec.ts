import { type OperatorFunction, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { jsonFrames } from '../operators/jsonFrames.js';
import type { FrameRecord, PipelineRecord } from '../src/core/records.js';
import {
  dataRecord,
  endRecord,
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

const json = (conn: TestConnection, text: string) => dataRecord(conn, text, 'jsonrpc');

const collect = (records: PipelineRecord[], op: OperatorFunction<PipelineRecord, PipelineRecord> = jsonFrames()): PipelineRecord[] =>
  collectAll(op, records);
/** The texts of the frames that came out, and the reason of any violation. */
function frames(conn: TestConnection, chunks: string[], op?: OperatorFunction<PipelineRecord, PipelineRecord>): string[] {
  return collect(
    chunks.map((c) => json(conn, c)),
    op,
  ).map((r) => (r.type === 'frame' ? utf8(r.bytes) : r.type === 'violation' ? `!${r.reason}` : `?${r.type}`));
}

const tooLarge = (conn: TestConnection) => ({
  type: 'violation',
  connection: conn.id,
  protocol: 'jsonrpc',
  reason: 'too-large',
  error: { code: -32600, message: 'Message too large' },
});

describe('jsonFrames', () => {
  it('emits one frame per value, joining a value split across reads', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a--b--e|', {
        a: json(conn, '{"id":1}\n{"id"'),
        b: json(conn, ':2}\n'),
        e: endRecord(conn),
      });
      const frame = (text: string) => ({ type: 'frame', connection: conn.id, protocol: 'jsonrpc', text });
      expectObservable(source.pipe(jsonFrames(), readable())).toBe('x--y--e|', {
        x: frame('{"id":1}'),
        y: frame('{"id":2}'),
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('splits NDJSON, whitespace-separated and concatenated values', () => {
    const conn = testConnection();
    expect(frames(conn, ['{"a":1}\n{"b":2}\r\n  \t[3]{"c":4}{"d":5}[6]\n'])).toEqual([
      '{"a":1}',
      '{"b":2}',
      '[3]',
      '{"c":4}',
      '{"d":5}',
      '[6]',
    ]);
  });

  it('respects strings: brackets inside them do not count, and \\" does not end them', () => {
    const conn = testConnection();
    expect(frames(conn, ['{"a":"]"}', '["a\\"]"]', '{"b":"\\\\"}', '{"c":"\\\\\\"}{"}', '{"d":"}{[]"}'])).toEqual([
      '{"a":"]"}',
      '["a\\"]"]',
      '{"b":"\\\\"}',
      '{"c":"\\\\\\"}{"}',
      '{"d":"}{[]"}',
    ]);
  });

  it('frames nested values', () => {
    const conn = testConnection();
    expect(frames(conn, ['[{"a":[1,{"b":[]}]},[[[]]]]{"x":{"y":{"z":[{}]}}}'])).toEqual([
      '[{"a":[1,{"b":[]}]},[[[]]]]',
      '{"x":{"y":{"z":[{}]}}}',
    ]);
  });

  it('gives the same frames for input split at every offset', () => {
    const text = ' {"a":"x\\"]}"}\n[1,{"b":"\\\\"}]{"c":[]}garbage here\n{"d":"é"}\n';
    const expected = ['{"a":"x\\"]}"}', '[1,{"b":"\\\\"}]', '{"c":[]}', 'garbage here', '{"d":"é"}'];
    const wire = Buffer.from(text);
    for (let cut = 0; cut <= wire.length; cut++) {
      for (const cut2 of [cut, Math.min(cut + 1, wire.length), Math.min(cut + 7, wire.length)]) {
        const conn = testConnection();
        const out = collect([
          dataRecord(conn, wire.subarray(0, cut), 'jsonrpc'),
          dataRecord(conn, wire.subarray(cut, cut2), 'jsonrpc'),
          dataRecord(conn, wire.subarray(cut2), 'jsonrpc'),
        ]);
        expect(
          out.map((r) => utf8((r as FrameRecord).bytes)),
          `cuts ${cut}/${cut2}`,
        ).toEqual(expected);
      }
    }
  });

  it('frames bytes that start no value up to the next newline, then goes on with the next value', () => {
    const conn = testConnection();
    expect(frames(conn, ['not json\n{"a":1}\n', '42\n', '"str"\n', 'tru', 'e\n', '}\n', ']]\r\n[2]'])).toEqual([
      'not json',
      '{"a":1}',
      '42',
      '"str"',
      'true',
      '}',
      ']]\r',
      '[2]',
    ]);
  });

  it('frames a value that lies within one read as a view of it (zero-copy), and copies across reads', () => {
    const conn = testConnection();
    const record = json(conn, '{"a":1}\n{"b":');
    const [inside] = collect([record]) as FrameRecord[];
    expect(inside!.bytes.buffer).toBe(record.bytes.buffer);
    expect(inside!.bytes.byteOffset).toBe(record.bytes.byteOffset);

    const first = json(conn, '{"a":');
    const second = json(conn, '2}');
    const [across] = collect([first, second]) as FrameRecord[];
    expect(utf8(across!.bytes)).toBe('{"a":2}');
    expect(across!.bytes.buffer).not.toBe(first.bytes.buffer);
    expect(across!.bytes.buffer).not.toBe(second.bytes.buffer);
  });

  it('accepts a value of exactly maxMessageBytes', () => {
    const conn = testConnection();
    const value = `{"a":"${'x'.repeat(10)}"}`; // 18 bytes
    expect(frames(conn, [value], jsonFrames({ maxMessageBytes: 18 }))).toEqual([value]);
    expect(frames(conn, [value.slice(0, 9), value.slice(9)], jsonFrames({ maxMessageBytes: 18 }))).toEqual([value]);
  });

  it('rejects a value of maxMessageBytes + 1, in one read or across reads, and drops the rest', () => {
    const conn = testConnection();
    const value = `{"a":"${'x'.repeat(11)}"}`; // 19 bytes
    const op = () => jsonFrames({ maxMessageBytes: 18 });
    expect(collect([json(conn, value + '\n{}'), json(conn, '{}'), endRecord(conn)], op()).map((r) => toReadable(r))).toEqual([
      tooLarge(conn),
      { type: 'end', connection: conn.id },
    ]);
    expect(frames(conn, ['{}', value.slice(0, 10), value.slice(10), '{}'], op())).toEqual(['{}', '!too-large']);
  });

  it('rejects an oversized value as soon as it passes the limit, before it ends', () => {
    const conn = testConnection();
    expect(frames(conn, ['[' + '1,'.repeat(20)], jsonFrames({ maxMessageBytes: 16 }))).toEqual(['!too-large']);
    expect(frames(conn, ['[1,', '1,'.repeat(5), '1,'.repeat(5)], jsonFrames({ maxMessageBytes: 16 }))).toEqual(['!too-large']);
  });

  it('limits garbage lines the same way', () => {
    const conn = testConnection();
    expect(frames(conn, ['x'.repeat(8) + '\n'], jsonFrames({ maxMessageBytes: 8 }))).toEqual(['x'.repeat(8)]);
    expect(frames(conn, ['x'.repeat(9) + '\n'], jsonFrames({ maxMessageBytes: 8 }))).toEqual(['!too-large']);
    expect(frames(conn, ['x'.repeat(5), 'x'.repeat(4)], jsonFrames({ maxMessageBytes: 8 }))).toEqual(['!too-large']);
  });

  it('discards a partial value at the connection end and starts afresh for a new connection', () => {
    const conn = testConnection();
    const other = testConnection();
    const out = collect([json(conn, '{"a":'), endRecord(conn), json(other, '1}\n{}')]).map((r) => toReadable(r));
    expect(out).toEqual([
      { type: 'end', connection: conn.id },
      { type: 'frame', connection: other.id, protocol: 'jsonrpc', text: '1}' },
      { type: 'frame', connection: other.id, protocol: 'jsonrpc', text: '{}' },
    ]);
  });

  it('keeps interleaved connections apart', () => {
    const one = testConnection();
    const two = testConnection();
    const out = collect([json(one, '{"one":'), json(two, '["two"'), json(one, '1}'), json(two, ']')]).map((r) => toReadable(r));
    expect(out.map((r) => [r.connection, 'text' in r ? r.text : r.type])).toEqual([
      [one.id, '{"one":1}'],
      [two.id, '["two"]'],
    ]);
  });

  it('passes records of other protocols and other types unchanged', () => {
    const conn = testConnection();
    const records: PipelineRecord[] = [
      openRecord(conn),
      dataRecord(conn, '{"a":1}'),
      dataRecord(conn, 'MCP1', 'mcp1'),
      { type: 'frame', connection: conn, protocol: 'lsp', bytes: new Uint8Array(2) },
    ];
    const out = collect(records);
    expect(out).toHaveLength(4);
    out.forEach((r, i) => expect(r).toBe(records[i]));
  });

  describe('message timeout', () => {
    it('closes silently when a value begun is not finished in messageTimeoutMs', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('a-b 10ms c', { a: json(conn, '{}\n{"a"'), b: json(conn, ':'), c: json(conn, '1}') });
        expectObservable(source.pipe(jsonFrames({ messageTimeoutMs: 5 }), readable())).toBe('f----t', {
          f: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{}' },
          t: { type: 'violation', connection: conn.id, protocol: 'jsonrpc', reason: 'message-timeout' },
        });
      });
    });

    it('does not time out an idle connection between values, nor a value finished in time', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('a---b 20ms c', { a: json(conn, '{"a"'), b: json(conn, ':1}'), c: json(conn, '[]') });
        expectObservable(source.pipe(jsonFrames({ messageTimeoutMs: 5, scheduler }), readable())).toBe('----b 20ms c', {
          b: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"a":1}' },
          c: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '[]' },
        });
      });
    });

    it('times each value from when it began', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        // The second value begins at frame 4 and is still open at 4 + 6.
        const source = cold('a---b--c', { a: json(conn, '{"a"'), b: json(conn, ':1}{'), c: json(conn, '"b":') });
        expectObservable(source.pipe(jsonFrames({ messageTimeoutMs: 6 }), readable())).toBe('----f-----t', {
          f: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"a":1}' },
          t: { type: 'violation', connection: conn.id, protocol: 'jsonrpc', reason: 'message-timeout' },
        });
      });
    });
  });

  it('stops framing a read when the connection ends while a frame is handled downstream', () => {
    // A consumer that closes the connection on its first frame makes the transport emit `end` re-entrantly.
    const conn = testConnection();
    const input = new Subject<PipelineRecord>();
    const seen: string[] = [];
    input.pipe(jsonFrames()).subscribe((r) => {
      seen.push(r.type === 'frame' ? utf8(r.bytes) : r.type);
      if (r.type === 'frame') input.next(endRecord(conn));
    });
    input.next(json(conn, '{"a":1}{"b":2}{"c":3}'));
    expect(seen).toEqual(['{"a":1}', 'end']);
  });

  it('propagates errors', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-#', { a: json(conn, '[]') });
      expectObservable(source.pipe(jsonFrames(), readable())).toBe('a-#', {
        a: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '[]' },
      });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('stops, timers included, on early unsubscribe', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-b-------|', { a: json(conn, '{}'), b: json(conn, '{') });
      expectObservable(source.pipe(jsonFrames({ messageTimeoutMs: 3 }), readable()), '^---!').toBe('a----', {
        a: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{}' },
      });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('handles empty, never and throw', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<PipelineRecord>('|');
      const never = cold<PipelineRecord>('-');
      const thrown = cold<PipelineRecord>('#');
      expectObservable(empty.pipe(jsonFrames())).toBe('|');
      expectObservable(never.pipe(jsonFrames())).toBe('-');
      expectObservable(thrown.pipe(jsonFrames())).toBe('#');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(thrown.subscriptions).toBe('(^!)');
    });
  });

  it('rejects invalid options', () => {
    expect(() => jsonFrames({ maxMessageBytes: -1 })).toThrow(/maxMessageBytes/);
    expect(() => jsonFrames({ messageTimeoutMs: Number.NaN })).toThrow(/messageTimeoutMs/);
  });
});
