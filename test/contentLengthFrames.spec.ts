import { type OperatorFunction, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { contentLengthFrames } from '../operators/contentLengthFrames.js';
import type { FrameRecord, PipelineRecord } from '../src/core/records.js';
import {
  type BytesInput,
  concatBytes,
  dataRecord,
  endRecord,
  lspBytes,
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

const lsp = (conn: TestConnection, data: BytesInput) => dataRecord(conn, data, 'lsp');

const collect = (
  records: PipelineRecord[],
  op: OperatorFunction<PipelineRecord, PipelineRecord> = contentLengthFrames(),
): PipelineRecord[] => collectAll(op, records);
/** Frame bodies, `!reason` per violation, the type of anything else. */
function bodies(conn: TestConnection, chunks: BytesInput[], op?: OperatorFunction<PipelineRecord, PipelineRecord>): string[] {
  return collect(
    chunks.map((c) => lsp(conn, c)),
    op,
  ).map((r) => (r.type === 'frame' ? utf8(r.bytes) : r.type === 'violation' ? `!${r.reason}` : r.type));
}

const badLength = (conn: TestConnection) => ({
  type: 'violation',
  connection: conn.id,
  protocol: 'lsp',
  reason: 'bad-content-length',
  error: { code: -32700, message: 'Parse error' },
});

describe('contentLengthFrames', () => {
  it('emits each body, joining one split across reads', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a--b--e|', {
        a: lsp(conn, 'Content-Length: 7\r\n\r\n{"a":1}Content-Length: 7\r\n\r\n{"b"'),
        b: lsp(conn, ':2}'),
        e: endRecord(conn),
      });
      const frame = (text: string) => ({ type: 'frame', connection: conn.id, protocol: 'lsp', text });
      expectObservable(source.pipe(contentLengthFrames(), readable())).toBe('x--y--e|', {
        x: frame('{"a":1}'),
        y: frame('{"b":2}'),
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('matches the header name in any case and ignores other headers', () => {
    const conn = testConnection();
    expect(
      bodies(conn, [
        'content-length: 2\r\n\r\n{}',
        'CONTENT-LENGTH:2\r\n\r\n[]',
        'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncOnTeNt-LeNgTh:   3 \t\r\nX-Other: a:b\r\n\r\n[1]',
      ]),
    ).toEqual(['{}', '[]', '[1]']);
  });

  it('counts the length in bytes, not characters', () => {
    const conn = testConnection();
    expect(bodies(conn, [lspBytes('{"é":"€"}'), lspBytes('{}')])).toEqual(['{"é":"€"}', '{}']);
  });

  it('emits an empty body for Content-Length: 0', () => {
    const conn = testConnection();
    expect(bodies(conn, ['Content-Length: 0\r\n\r\nContent-Length: 2\r\n\r\n{}'])).toEqual(['', '{}']);
  });

  it('gives the same frames for input split at every offset', () => {
    const wire = concatBytes(lspBytes('{"a":"x"}', { 'Content-Type': 'x' }), lspBytes('[]'), lspBytes('{"b":"\\r\\n\\r\\n"}'));
    const expected = ['{"a":"x"}', '[]', '{"b":"\\r\\n\\r\\n"}'];
    for (let cut = 0; cut <= wire.length; cut++) {
      for (const cut2 of [cut, Math.min(cut + 1, wire.length), Math.min(cut + 9, wire.length)]) {
        const conn = testConnection();
        expect(bodies(conn, [wire.subarray(0, cut), wire.subarray(cut, cut2), wire.subarray(cut2)]), `cuts ${cut}/${cut2}`).toEqual(
          expected,
        );
      }
    }
  });

  it('gives the body as a view of the read when it lies within one, a copy across reads', () => {
    const conn = testConnection();
    const record = lsp(conn, lspBytes('{"a":1}'));
    const [inside] = collect([record]) as FrameRecord[];
    expect(inside!.bytes.buffer).toBe(record.bytes.buffer);
    const wire = lspBytes('{"a":1}');
    const [across] = collect([lsp(conn, wire.subarray(0, wire.length - 2)), lsp(conn, wire.subarray(wire.length - 2))]) as FrameRecord[];
    expect(utf8(across!.bytes)).toBe('{"a":1}');
    expect(across!.bytes.length).toBe(7);
  });

  it.each([
    ['no Content-Length', 'Content-Type: x\r\n\r\n{}'],
    ['an empty header block', '\r\n\r\n{}'],
    ['an empty value', 'Content-Length: \r\n\r\n{}'],
    ['a negative value', 'Content-Length: -2\r\n\r\n{}'],
    ['a non-decimal value', 'Content-Length: 0x2\r\n\r\n{}'],
    ['two numbers', 'Content-Length: 2 2\r\n\r\n{}'],
    ['conflicting values', 'Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
    ['a header line without a colon', 'Content-Length: 2\r\nnonsense\r\n\r\n{}'],
    ['a lone LF ending the value', 'Content-Length: 2\n\r\n\r\n{}'],
    ['a misspelt name', 'Content-Len gth: 2\r\n\r\n{}'],
  ])('rejects %s and drops the rest of the connection', (_name, text) => {
    const conn = testConnection();
    const out = collect([lsp(conn, text), lsp(conn, lspBytes('{}')), endRecord(conn)]).map((r) => toReadable(r));
    expect(out).toEqual([badLength(conn), { type: 'end', connection: conn.id }]);
  });

  it('accepts a repeated Content-Length with the same value', () => {
    const conn = testConnection();
    expect(bodies(conn, ['Content-Length: 2\r\ncontent-length: 2\r\n\r\n{}'])).toEqual(['{}']);
  });

  it('rejects a header block over 8 KiB, without waiting for its end', () => {
    const conn = testConnection();
    const filler = `X-Filler: ${'a'.repeat(8200)}\r\n`;
    expect(bodies(conn, [`Content-Length: 2\r\n${filler}`])).toEqual(['!bad-content-length']);
    expect(bodies(conn, ['Content-Length: 2\r\n', filler.slice(0, 4000), filler.slice(4000)])).toEqual(['!bad-content-length']);
    const justFits = `Content-Length: 2\r\nX: ${'a'.repeat(8192 - 19 - 7)}\r\n\r\n`;
    expect(Buffer.byteLength(justFits)).toBe(8192);
    expect(bodies(conn, [justFits + '{}'])).toEqual(['{}']);
    expect(bodies(conn, [justFits.slice(0, 5000), justFits.slice(5000) + '{}'])).toEqual(['{}']);
  });

  it('accepts a body of exactly maxMessageBytes and rejects one byte more from the header alone', () => {
    const conn = testConnection();
    const op = () => contentLengthFrames({ maxMessageBytes: 8 });
    expect(bodies(conn, [lspBytes('12345678')], op())).toEqual(['12345678']);
    const out = collect([lsp(conn, 'Content-Length: 9\r\n\r\n'), lsp(conn, '123456789')], op()).map((r) => toReadable(r));
    expect(out).toEqual([
      {
        type: 'violation',
        connection: conn.id,
        protocol: 'lsp',
        reason: 'too-large',
        error: { code: -32600, message: 'Message too large' },
      },
    ]);
    expect(bodies(conn, ['Content-Length: 99999999999999999999999999\r\n\r\n'], op())).toEqual(['!too-large']);
  });

  it('keeps interleaved connections apart', () => {
    const one = testConnection();
    const two = testConnection();
    const out = collect([lsp(one, 'Content-Len'), lsp(two, 'Content-Length: 3\r\n\r\n[2'), lsp(one, 'gth: 3\r\n\r\n[1]'), lsp(two, ']')]);
    expect(out.map((r) => [r.connection, utf8((r as FrameRecord).bytes)])).toEqual([
      [one, '[1]'],
      [two, '[2]'],
    ]);
  });

  it('discards a partial message at the connection end', () => {
    const conn = testConnection();
    expect(bodies(conn, ['Content-Length: 5\r\n\r\n{}'])).toEqual([]);
    expect(collect([lsp(conn, 'Content-Length: 5\r\n\r\n{}'), endRecord(conn)]).map((r) => r.type)).toEqual(['end']);
  });

  it('passes records of other protocols and other types unchanged', () => {
    const conn = testConnection();
    const records: PipelineRecord[] = [openRecord(conn), dataRecord(conn, '{}', 'jsonrpc'), dataRecord(conn, 'Content-Length: 1\r\n\r\n1')];
    const out = collect(records);
    expect(out).toHaveLength(3);
    out.forEach((r, i) => expect(r).toBe(records[i]));
  });

  it('stops framing a read when the connection ends while a frame is handled downstream', () => {
    const conn = testConnection();
    const input = new Subject<PipelineRecord>();
    const seen: string[] = [];
    input.pipe(contentLengthFrames()).subscribe((r) => {
      seen.push(r.type === 'frame' ? utf8(r.bytes) : r.type);
      if (r.type === 'frame') input.next(endRecord(conn));
    });
    input.next(lsp(conn, concatBytes(lspBytes('[1]'), lspBytes('[2]'))));
    expect(seen).toEqual(['[1]', 'end']);
  });

  describe('message timeout', () => {
    it('closes silently when a message begun is not finished in messageTimeoutMs, header or body', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const inHeader = testConnection();
        const inBody = testConnection();
        const source = cold('ab 10ms c', {
          a: lsp(inHeader, 'Content-Length: 2\r\n'),
          b: lsp(inBody, 'Content-Length: 2\r\n\r\n{'),
          c: lsp(inBody, '}'),
        });
        expectObservable(source.pipe(contentLengthFrames({ messageTimeoutMs: 5 }), readable())).toBe('-----xy', {
          x: { type: 'violation', connection: inHeader.id, protocol: 'lsp', reason: 'message-timeout' },
          y: { type: 'violation', connection: inBody.id, protocol: 'lsp', reason: 'message-timeout' },
        });
      });
    });

    it('does not time out an idle connection, nor a message finished in time', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('a-b 20ms c', { a: lsp(conn, 'Content-Length: 2\r\n'), b: lsp(conn, '\r\n{}'), c: lsp(conn, lspBytes('[]')) });
        expectObservable(source.pipe(contentLengthFrames({ messageTimeoutMs: 5, scheduler }), readable())).toBe('--b 20ms c', {
          b: { type: 'frame', connection: conn.id, protocol: 'lsp', text: '{}' },
          c: { type: 'frame', connection: conn.id, protocol: 'lsp', text: '[]' },
        });
      });
    });
  });

  it('propagates errors', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-#', { a: lsp(conn, lspBytes('[]')) });
      expectObservable(source.pipe(contentLengthFrames(), readable())).toBe('a-#', {
        a: { type: 'frame', connection: conn.id, protocol: 'lsp', text: '[]' },
      });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('stops, timers included, on early unsubscribe', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-------|', { a: lsp(conn, 'Content-') });
      expectObservable(source.pipe(contentLengthFrames({ messageTimeoutMs: 4 }), readable()), '^--!').toBe('----');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('handles empty, never and throw', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<PipelineRecord>('|');
      const never = cold<PipelineRecord>('-');
      const thrown = cold<PipelineRecord>('#');
      expectObservable(empty.pipe(contentLengthFrames())).toBe('|');
      expectObservable(never.pipe(contentLengthFrames())).toBe('-');
      expectObservable(thrown.pipe(contentLengthFrames())).toBe('#');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(thrown.subscriptions).toBe('(^!)');
    });
  });
});
