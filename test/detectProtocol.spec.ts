import { from, type OperatorFunction, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { detectProtocol } from '../operators/detectProtocol.js';
import type { DataRecord, PipelineRecord } from '../src/core/records.js';
import {
  bytes,
  concatBytes,
  dataRecord,
  endRecord,
  mcp1Bytes,
  openRecord,
  type ReadableRecord,
  readable,
  slicesOf,
  testConnection,
  toReadable,
} from '../src/testing/index.js';
import { collect } from './helpers/collect.js';

let scheduler: TestScheduler;
beforeEach(() => {
  scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

/** Runs records through the operator synchronously and returns them readable. */
function run(op: OperatorFunction<PipelineRecord, PipelineRecord>, records: PipelineRecord[]): ReadableRecord[] {
  const out: ReadableRecord[] = [];
  from(records)
    .pipe(op)
    .subscribe((r) => out.push(toReadable(r)));
  return out;
}

const unrecognized = { code: -32700, message: 'Unrecognized protocol' };

describe('detectProtocol', () => {
  it('holds back undecided bytes and emits them with the deciding read, then tags every later read', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const [a, b, c] = slicesOf(conn, 'MC', 'P1rest', 'more');
      const source = cold('o-a-b-c-e|', { o: openRecord(conn), a, b, c, e: endRecord(conn) });
      expectObservable(source.pipe(detectProtocol(), readable())).toBe('o---B-C-e|', {
        o: { type: 'open', connection: conn.id },
        B: { type: 'data', connection: conn.id, protocol: 'mcp1', text: 'MCP1rest' },
        C: { type: 'data', connection: conn.id, protocol: 'mcp1', text: 'more' },
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it.each([
    ['{"jsonrpc":"2.0"}', 'jsonrpc'],
    ['[{"jsonrpc":"2.0"}]', 'jsonrpc'],
    [' \t\r\n {"a":1}', 'jsonrpc'],
    ['\n\n[1]', 'jsonrpc'],
    ['Content-Length: 2\r\n\r\n{}', 'lsp'],
    ['content-length: 2\r\n\r\n{}', 'lsp'],
    ['CONTENT-LENGTH:2\r\n\r\n{}', 'lsp'],
    ['cOnTeNt-LeNgTh: 2\r\n\r\n{}', 'lsp'],
  ])('decides %j as %s', (text, protocol) => {
    const conn = testConnection();
    expect(run(detectProtocol(), [dataRecord(conn, text)])).toEqual([{ type: 'data', connection: conn.id, protocol, text }]);
  });

  it('decides MCP1 from the magic and keeps the header and payload that came with it', () => {
    const conn = testConnection();
    const frame = mcp1Bytes({ type: 1, id: 9, payload: 'xyz' });
    const [out] = collect(detectProtocol(), [dataRecord(conn, frame)]);
    expect(out).toMatchObject({ type: 'data', protocol: 'mcp1' });
    expect((out as DataRecord).bytes).toEqual(frame);
  });

  it.each([
    ['GET / HTTP/1.1\r\n'],
    ['MCP2'],
    ['Content-Length : 5\r\n'],
    ['Content-Type: x\r\n'],
    ['\x16\x03\x01'],
    ['"just a string"'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['  x{}'],
  ])('rejects %j as unknown and drops the rest of that connection', (text) => {
    const conn = testConnection();
    expect(run(detectProtocol(), [dataRecord(conn, text), dataRecord(conn, '{"a":1}'), endRecord(conn)])).toEqual([
      { type: 'violation', connection: conn.id, reason: 'unknown-protocol', error: unrecognized },
      { type: 'end', connection: conn.id },
    ]);
  });

  it('rejects at the first byte that cannot lead anywhere, without waiting for more', () => {
    const conn = testConnection();
    expect(run(detectProtocol(), [dataRecord(conn, 'Cx')])).toEqual([
      { type: 'violation', connection: conn.id, reason: 'unknown-protocol', error: unrecognized },
    ]);
  });

  it('waits through 15 bytes of whitespace and decides unknown at the 16th', () => {
    const conn = testConnection();
    expect(run(detectProtocol(), [dataRecord(conn, ' '.repeat(15))])).toEqual([]);
    expect(run(detectProtocol(), [dataRecord(conn, ' '.repeat(15) + '{}')])).toEqual([
      { type: 'data', connection: conn.id, protocol: 'jsonrpc', text: ' '.repeat(15) + '{}' },
    ]);
    expect(run(detectProtocol(), [...slicesOf(conn, ' '.repeat(10), ' '.repeat(6), '{}')])).toEqual([
      { type: 'violation', connection: conn.id, reason: 'unknown-protocol', error: unrecognized },
    ]);
  });

  it('gives the same decision and bytes for the prefix split at every offset', () => {
    const text = 'Content-Length: 7\r\n\r\n{"a":1}';
    for (let cut = 0; cut <= text.length; cut++) {
      const conn = testConnection();
      const out = run(detectProtocol(), slicesOf(conn, text.slice(0, cut), text.slice(cut)));
      expect(out.map((r) => ('text' in r ? r.text : r.type)).join('')).toBe(text);
      expect(out.every((r) => r.type === 'data' && r.protocol === 'lsp')).toBe(true);
    }
  });

  it('passes the deciding read itself when nothing was held back (no copy)', () => {
    const conn = testConnection();
    const record = dataRecord(conn, '{"a":1}');
    const [out] = collect(detectProtocol(), [record]);
    expect((out as DataRecord).bytes).toBe(record.bytes);
  });

  it('keeps connections apart', () => {
    const one = testConnection();
    const two = testConnection();
    expect(
      run(detectProtocol(), [
        dataRecord(one, 'MC'),
        dataRecord(two, ' '),
        dataRecord(two, '[1]'),
        dataRecord(one, 'P1'),
        dataRecord(two, 'GET'),
      ]),
    ).toEqual([
      { type: 'data', connection: two.id, protocol: 'jsonrpc', text: ' [1]' },
      { type: 'data', connection: one.id, protocol: 'mcp1', text: 'MCP1' },
      { type: 'data', connection: two.id, protocol: 'jsonrpc', text: 'GET' },
    ]);
  });

  it('forgets a connection at its end: an undecided partial is discarded, end passes', () => {
    const conn = testConnection();
    expect(run(detectProtocol(), [dataRecord(conn, 'MC'), endRecord(conn)])).toEqual([{ type: 'end', connection: conn.id }]);
  });

  it('passes records it does not handle unchanged, and data already tagged upstream', () => {
    const conn = testConnection();
    const tagged = dataRecord(conn, 'anything', 'lsp');
    const frame: PipelineRecord = { type: 'frame', connection: conn, protocol: 'jsonrpc', bytes: bytes('{}') };
    const out = collect(detectProtocol(), [tagged, frame]);
    expect(out[0]).toBe(tagged);
    expect(out[1]).toBe(frame);
  });

  describe('timeout', () => {
    it('closes a connection silently when it is undecided timeoutMs after it opened', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('o 5ms a 10ms b 5ms e|', {
          o: openRecord(conn),
          a: dataRecord(conn, 'MC'),
          b: dataRecord(conn, 'P1'),
          e: endRecord(conn),
        });
        expectObservable(source.pipe(detectProtocol({ timeoutMs: 10 }), readable())).toBe('o 9ms t 12ms e|', {
          o: { type: 'open', connection: conn.id },
          t: { type: 'violation', connection: conn.id, reason: 'detect-timeout' },
          e: { type: 'end', connection: conn.id },
        });
      });
    });

    it('counts from the first bytes when no open record was seen', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('--a--', { a: dataRecord(conn, '  ') });
        expectObservable(source.pipe(detectProtocol({ timeoutMs: 5, scheduler }), readable())).toBe('-------t--', {
          t: { type: 'violation', connection: conn.id, reason: 'detect-timeout' },
        });
      });
    });

    it('does not fire for a connection decided or ended in time', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const decided = testConnection();
        const ended = testConnection();
        const source = cold('ab-c-d 20ms |', {
          a: openRecord(decided),
          b: openRecord(ended),
          c: dataRecord(decided, '{}'),
          d: endRecord(ended),
        });
        expectObservable(source.pipe(detectProtocol({ timeoutMs: 10 }), readable())).toBe('ab-c-d 20ms |', {
          a: { type: 'open', connection: decided.id },
          b: { type: 'open', connection: ended.id },
          c: { type: 'data', connection: decided.id, protocol: 'jsonrpc', text: '{}' },
          d: { type: 'end', connection: ended.id },
        });
      });
    });

    it('fires each connection at its own deadline', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const [one, two, three] = [testConnection(), testConnection(), testConnection()];
        const source = cold('a-b-c 20ms |', { a: openRecord(one), b: openRecord(two), c: openRecord(three) });
        const opened = (c: { id: number }) => ({ type: 'open', connection: c.id });
        const timedOut = (c: { id: number }) => ({ type: 'violation', connection: c.id, reason: 'detect-timeout' });
        expectObservable(source.pipe(detectProtocol({ timeoutMs: 10 }), readable())).toBe('a-b-c 5ms x-y-z 10ms |', {
          a: opened(one),
          b: opened(two),
          c: opened(three),
          x: timedOut(one),
          y: timedOut(two),
          z: timedOut(three),
        });
      });
    });

    it('uses one scheduled action for many connections, not a timer each', () => {
      const calls: number[] = [];
      const counting: SchedulerLike = {
        now: () => scheduler.now(),
        schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
          calls.push(delay ?? 0);
          return scheduler.schedule(work, delay, state);
        },
      };
      scheduler.run(({ cold, flush }) => {
        const conns = Array.from({ length: 100 }, () => testConnection());
        const values = Object.fromEntries(conns.map((c, i) => [String.fromCharCode(0x100 + i), openRecord(c)]));
        const source = cold(`(${Object.keys(values).join('')}) 20ms |`, values);
        let violations = 0;
        source.pipe(detectProtocol({ timeoutMs: 10, scheduler: counting })).subscribe((r) => {
          if (r.type === 'violation') violations++;
        });
        flush();
        expect(violations).toBe(100);
      });
      expect(calls).toEqual([10]);
    });
  });

  it('propagates errors', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-#', { a: dataRecord(conn, '{}') }, new Error('boom'));
      expectObservable(source.pipe(detectProtocol(), readable())).toBe(
        'a-#',
        { a: { type: 'data', connection: conn.id, protocol: 'jsonrpc', text: '{}' } },
        new Error('boom'),
      );
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('stops, timers included, on early unsubscribe', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('o----------|', { o: openRecord(conn) });
      expectObservable(source.pipe(detectProtocol({ timeoutMs: 8 }), readable()), '^---!').toBe('o----', {
        o: { type: 'open', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('handles empty, never and throw', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<PipelineRecord>('|');
      const never = cold<PipelineRecord>('-');
      const thrown = cold<PipelineRecord>('#');
      expectObservable(empty.pipe(detectProtocol())).toBe('|');
      expectObservable(never.pipe(detectProtocol())).toBe('-');
      expectObservable(thrown.pipe(detectProtocol())).toBe('#');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(thrown.subscriptions).toBe('(^!)');
    });
  });

  it('rejects a negative timeout', () => {
    expect(() => detectProtocol({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it('concatenates held-back bytes in order with the deciding read', () => {
    const conn = testConnection();
    const [out] = collect(detectProtocol(), slicesOf(conn, 'co', 'ntent-length', ': 1\r\n\r\n1'));
    expect((out as DataRecord).bytes).toEqual(concatBytes('content-length: 1\r\n\r\n1'));
  });
});
