import { AssertionError } from 'node:assert';
import { filter, map, type OperatorFunction, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { contentLengthFrames } from '../operators/contentLengthFrames.js';
import { detectProtocol } from '../operators/detectProtocol.js';
import { jsonFrames } from '../operators/jsonFrames.js';
import { mcp1Frames } from '../operators/mcp1Frames.js';
import type { OutboundRecord, PipelineRecord } from '../src/core/records.js';
import {
  bytes,
  concatBytes,
  dataRecord,
  endRecord,
  hex,
  lettered,
  lspBytes,
  mcp1Bytes,
  openRecord,
  readable,
  runMarbles,
  slicesOf,
  testConnection,
  testScheduler,
  toReadable,
  utf8,
} from '../src/testing/index.js';

/** A user's own stage: answers every JSON frame with its length, as an out record. */
function lengths(): OperatorFunction<PipelineRecord, PipelineRecord> {
  return map((r) =>
    r.type === 'frame' ? ({ type: 'out', connection: r.connection, bytes: bytes(`${r.bytes.length}\n`) } satisfies OutboundRecord) : r,
  );
}

describe('ringwire/testing', () => {
  it('marble-tests a user pipeline in a few lines', () => {
    runMarbles(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const source = cold('a-b-c----d|', lettered([openRecord(conn), ...slicesOf(conn, '{"method":', '"ping"}\n[]'), endRecord(conn)]));
      expectObservable(source.pipe(detectProtocol(), jsonFrames(), lengths(), readable())).toBe('o---(xy)-e|', {
        o: { type: 'open', connection: conn.id },
        x: { type: 'out', connection: conn.id, text: '17\n' },
        y: { type: 'out', connection: conn.id, text: '2\n' },
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
  });

  it('fails the spec with a readable assertion when the pipeline emits something else', () => {
    expect(() =>
      runMarbles(({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold('a|', { a: dataRecord(conn, '[1]', 'jsonrpc') });
        expectObservable(source.pipe(jsonFrames(), readable())).toBe('a|', {
          a: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '[2]' },
        });
      }),
    ).toThrow(AssertionError);
  });

  it('uses the assertion it is given, e.g. the test runner’s own', () => {
    const calls: Array<[unknown, unknown]> = [];
    runMarbles(
      ({ cold, expectObservable }) => {
        expectObservable(cold('a|', { a: 1 })).toBe('a|', { a: 1 });
      },
      {
        assertDeepEqual: (actual, expected) => {
          calls.push([actual, expected]);
          expect(actual).toEqual(expected);
        },
      },
    );
    expect(calls).toHaveLength(1);
  });

  it('runs timeouts in virtual time: the operators’ default scheduler follows the TestScheduler', () => {
    const started = Date.now();
    runMarbles(({ cold, expectObservable }) => {
      const conn = testConnection();
      const source = cold('o 6000ms |', { o: openRecord(conn) });
      expectObservable(source.pipe(detectProtocol(), readable())).toBe('o 4999ms t 1000ms |', {
        o: { type: 'open', connection: conn.id },
        t: { type: 'violation', connection: conn.id, reason: 'detect-timeout' },
      });
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('returns what the callback returns, and exposes the scheduler', () => {
    const now = runMarbles(({ scheduler, cold, expectObservable }) => {
      expectObservable(cold('-|')).toBe('-|');
      return scheduler.now();
    });
    expect(now).toBe(0);
  });

  it('gives a plain TestScheduler with the same assertion for specs not in run mode', () => {
    const scheduler = testScheduler();
    const conn = testConnection();
    const source = scheduler.createColdObservable('--a|', { a: dataRecord(conn, lspBytes('{}'), 'lsp') });
    scheduler.expectObservable(source.pipe(contentLengthFrames(), readable())).toBe('--f|', {
      f: { type: 'frame', connection: conn.id, protocol: 'lsp', text: '{}' },
    });
    scheduler.flush();
  });

  it('builds MCP1 frames byte for byte as PROTOCOL.md 3 lays them out', () => {
    const frame = mcp1Bytes({ type: 1, id: 0x01020304, flags: 1, payload: 'hi' });
    expect(hex(frame)).toBe('4d435031' + '01' + '01' + '0000' + '01020304' + '00000002' + '6869');
    expect(hex(mcp1Bytes({ type: 5, magic: 'XCP1', reserved: 0x0102, length: 9 }))).toBe('58435031050001020000000000000009');
  });

  it('makes MCP1 frames readable, header included, with hex payloads', () => {
    const conn = testConnection();
    const out: unknown[] = [];
    runMarbles(({ cold }) => {
      cold('a|', { a: dataRecord(conn, mcp1Bytes({ type: 1, id: 3, payload: [0x81, 0xa1] }), 'mcp1') })
        .pipe(mcp1Frames(), readable({ encoding: 'hex' }))
        .subscribe((r) => out.push(r));
    });
    expect(out).toEqual([
      { type: 'frame', connection: conn.id, protocol: 'mcp1', header: { type: 1, flags: 0, id: 3, length: 2 }, text: '81a1' },
    ]);
  });

  it('builds LSP messages with the byte length of the body', () => {
    expect(utf8(lspBytes('{"é":1}', { 'Content-Type': 'x' }))).toBe('Content-Length: 8\r\nContent-Type: x\r\n\r\n{"é":1}');
  });

  it('converts between text, byte values and bytes', () => {
    expect(bytes('hé')).toEqual(new Uint8Array([0x68, 0xc3, 0xa9]));
    expect(bytes([1, 2, 255])).toEqual(new Uint8Array([1, 2, 255]));
    const original = new Uint8Array([9]);
    const copy = bytes(original);
    original[0] = 0;
    expect(copy[0]).toBe(9);
    expect(utf8(concatBytes('a', [0x62], new Uint8Array([0x63])))).toBe('abc');
    expect(hex(bytes([0, 15, 16, 255]))).toBe('000f10ff');
  });

  it('builds records as a transport and detectProtocol() emit them', () => {
    const conn = testConnection();
    expect(openRecord(conn)).toEqual({ type: 'open', connection: conn });
    expect(endRecord(conn)).toEqual({ type: 'end', connection: conn });
    expect(dataRecord(conn, 'x')).toEqual({ type: 'data', connection: conn, bytes: bytes('x') });
    expect(dataRecord(conn, 'x')).not.toHaveProperty('protocol');
    expect(dataRecord(conn, 'x', 'lsp')).toEqual({ type: 'data', connection: conn, bytes: bytes('x'), protocol: 'lsp' });
    expect(slicesOf(conn, 'a', [0x62]).map((r) => utf8(r.bytes))).toEqual(['a', 'b']);
    expect(Object.keys(lettered([1, 2, 3]))).toEqual(['a', 'b', 'c']);
    expect(() => lettered(new Array(27).fill(0))).toThrow(RangeError);
  });

  it('makes any record readable', () => {
    const conn = testConnection();
    expect(
      toReadable({
        type: 'violation',
        connection: conn,
        reason: 'too-large',
        protocol: 'jsonrpc',
        error: { code: -32600, message: 'Message too large' },
      }),
    ).toEqual({
      type: 'violation',
      connection: conn.id,
      reason: 'too-large',
      protocol: 'jsonrpc',
      error: { code: -32600, message: 'Message too large' },
    });
    expect(toReadable({ type: 'out', connection: conn, bytes: bytes('{}\n'), close: true })).toEqual({
      type: 'out',
      connection: conn.id,
      text: '{}\n',
      close: true,
    });
    expect(toReadable({ type: 'reply', connection: conn, protocol: 'mcp1', id: 1, kind: 'result', result: 2 })).toEqual({
      type: 'reply',
      connection: conn.id,
      protocol: 'mcp1',
      id: 1,
      kind: 'result',
      result: 2,
    });
  });

  it('lets a spec check what a pipeline wrote to a connection', () => {
    const conn = testConnection();
    runMarbles(({ cold }) => {
      cold('ab|', lettered(slicesOf(conn, concatBytes('{"a":1}', '\n{"b"'), ':22}\n')))
        .pipe(
          detectProtocol(),
          jsonFrames(),
          lengths(),
          filter((r): r is OutboundRecord => r.type === 'out'),
          tap((r) => r.connection.write(r.bytes)),
        )
        .subscribe();
    });
    expect(conn.writtenText()).toBe('7\n8\n');
  });
});
