import type { OperatorFunction } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { proxyProtocol } from '../operators/proxyProtocol.js';
import type { DataRecord, PipelineRecord } from '../src/core/records.js';
import {
  bytes,
  concatBytes,
  dataRecord,
  endRecord,
  openRecord,
  type ReadableRecord,
  readable,
  slicesOf,
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

const behindBalancer = (): TestConnection => testConnection({ listener: { proxyProtocol: true } });

const collect = (records: PipelineRecord[], op: OperatorFunction<PipelineRecord, PipelineRecord> = proxyProtocol()): PipelineRecord[] =>
  collectAll(op, records);
const run = (records: PipelineRecord[]): ReadableRecord[] => collect(records).map((r) => toReadable(r));
/** The client's bytes that came out, joined. */
const payload = (records: PipelineRecord[]): string => records.map((r) => (r.type === 'data' ? utf8(r.bytes) : '')).join('');

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** A v2 header: version/command byte, family/protocol byte, then the address block (and TLVs). */
function v2(verCmd: number, famProto: number, block: number[] | Uint8Array = []): Uint8Array {
  const body = Uint8Array.from(block);
  return concatBytes(SIGNATURE, [verCmd, famProto, body.length >> 8, body.length & 0xff], body);
}
const port = (p: number) => [p >> 8, p & 0xff];

const noHeader = (conn: TestConnection) => ({ type: 'violation', connection: conn.id, reason: 'no-proxy-header' });

describe('proxyProtocol', () => {
  it('strips a v1 header, records the client address, and passes the bytes after it', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = behindBalancer();
      const [a, b, c] = slicesOf(conn, 'PROXY TCP4 192.168.0.1 ', '192.168.0.11 56324 443\r\n{"id"', ':1}');
      const source = cold('o-a-b-c-e|', { o: openRecord(conn), a, b, c, e: endRecord(conn) });
      expectObservable(source.pipe(proxyProtocol(), readable())).toBe('o---b-c-e|', {
        o: { type: 'open', connection: conn.id },
        b: { type: 'data', connection: conn.id, text: '{"id"' },
        c: { type: 'data', connection: conn.id, text: ':1}' },
        e: { type: 'end', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
    const conn = behindBalancer();
    collect([dataRecord(conn, 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n')]);
    expect(conn.proxied).toEqual({
      family: 'IPv4',
      address: '192.168.0.1',
      port: 56324,
      destinationAddress: '192.168.0.11',
      destinationPort: 443,
    });
  });

  it('passes the rest of the slice as a view, not a copy', () => {
    const conn = behindBalancer();
    const record = dataRecord(conn, 'PROXY UNKNOWN\r\n{"a":1}');
    const [out] = collect([record]) as DataRecord[];
    expect(utf8(out!.bytes)).toBe('{"a":1}');
    expect(out!.bytes.buffer).toBe(record.bytes.buffer);
  });

  it('parses a v1 TCP6 header', () => {
    const conn = behindBalancer();
    expect(payload(collect([dataRecord(conn, 'PROXY TCP6 2001:db8::1 ::1 65535 0\r\nMCP1')]))).toBe('MCP1');
    expect(conn.proxied).toEqual({ family: 'IPv6', address: '2001:db8::1', port: 65535, destinationAddress: '::1', destinationPort: 0 });
  });

  it.each([['PROXY UNKNOWN\r\n'], ['PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n'], ['PROXY UNKNOWN whatever the sender put\r\n']])(
    'accepts %j and leaves the address unknown (use the real peer)',
    (header) => {
      const conn = behindBalancer();
      expect(payload(collect([dataRecord(conn, header + '[]')]))).toBe('[]');
      expect(conn.proxied).toEqual({ family: 'unknown', address: '', port: 0 });
    },
  );

  it('parses a v1 header split at every offset, with the same result and bytes after it', () => {
    const text = 'PROXY TCP4 10.0.0.1 10.0.0.2 1234 80\r\n{"jsonrpc":"2.0"}';
    for (let cut = 0; cut <= text.length; cut++) {
      const conn = behindBalancer();
      expect(payload(collect(slicesOf(conn, text.slice(0, cut), text.slice(cut))))).toBe('{"jsonrpc":"2.0"}');
      expect(conn.proxied?.address).toBe('10.0.0.1');
    }
  });

  it.each([
    ['GET / HTTP/1.1\r\n'],
    ['{"jsonrpc":"2.0"}'],
    ['PROXI TCP4'],
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n'],
    ['PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'],
    ['PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'],
    ['PROXY TCP4 ::1 ::1 1 2\r\n'],
    ['PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'],
    ['PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n'],
    ['PROXY UNKNOWN' + 'x'.repeat(100)],
  ])('closes silently on %j', (text) => {
    const conn = behindBalancer();
    expect(run([dataRecord(conn, text), dataRecord(conn, '{"a":1}'), endRecord(conn)])).toEqual([
      noHeader(conn),
      { type: 'end', connection: conn.id },
    ]);
    expect(conn.proxied).toBeUndefined();
  });

  it('accepts the longest v1 line (107 bytes) and rejects a longer one', () => {
    const v6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = `PROXY UNKNOWN ${v6} ${v6} 65535 65535\r\n`;
    expect(longest.length).toBe(107);
    const ok = behindBalancer();
    expect(payload(collect([dataRecord(ok, longest + '{}')]))).toBe('{}');
    const tooLong = behindBalancer();
    expect(run([dataRecord(tooLong, `PROXY UNKNOWN ${v6} ${v6} 65535 655350\r\n{}`)])).toEqual([noHeader(tooLong)]);
  });

  it('parses a v2 TCP over IPv4 header', () => {
    const conn = behindBalancer();
    const header = v2(0x21, 0x11, [10, 0, 0, 1, 192, 168, 1, 2, ...port(40000), ...port(7070)]);
    expect(payload(collect([dataRecord(conn, concatBytes(header, '{"x":1}'))]))).toBe('{"x":1}');
    expect(conn.proxied).toEqual({
      family: 'IPv4',
      address: '10.0.0.1',
      port: 40000,
      destinationAddress: '192.168.1.2',
      destinationPort: 7070,
    });
  });

  it('parses a v2 TCP over IPv6 header, writing addresses in RFC 5952 form', () => {
    const conn = behindBalancer();
    const src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const dst = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0];
    collect([dataRecord(conn, v2(0x21, 0x21, [...src, ...dst, ...port(1), ...port(2)]))]);
    expect(conn.proxied).toEqual({ family: 'IPv6', address: '2001:db8::1', port: 1, destinationAddress: '::ffff:0:0', destinationPort: 2 });
  });

  it('parses a v2 AF_UNIX header', () => {
    const conn = behindBalancer();
    const path = (p: string) => [...bytes(p), ...new Array(108 - p.length).fill(0)];
    collect([dataRecord(conn, v2(0x21, 0x31, [...path('/run/client.sock'), ...path('/run/server.sock')]))]);
    expect(conn.proxied).toEqual({
      family: 'unix',
      address: '/run/client.sock',
      port: 0,
      destinationAddress: '/run/server.sock',
      destinationPort: 0,
    });
  });

  it('accepts a v2 LOCAL command (a health check) and skips any address it carries', () => {
    const conn = behindBalancer();
    const header = v2(0x20, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]);
    expect(payload(collect([dataRecord(conn, concatBytes(header, '[1]'))]))).toBe('[1]');
    expect(conn.proxied).toEqual({ family: 'unknown', address: '', port: 0 });
  });

  it('skips v2 TLVs after the addresses, even when they stream past in several reads', () => {
    const tlvs = [0x04, 0, 300 - 3, ...new Array(297).fill(0xee)];
    const header = v2(0x21, 0x11, [127, 0, 0, 1, 127, 0, 0, 2, ...port(5), ...port(6), ...tlvs]);
    const wire = concatBytes(header, 'MCP1');
    for (const cut of [0, 1, 12, 15, 16, 20, 28, 29, 100, 200, wire.length - 4, wire.length - 1]) {
      const conn = behindBalancer();
      const third = Math.min(cut + 50, wire.length);
      const out = collect(slicesOf(conn, wire.subarray(0, cut), wire.subarray(cut, third), wire.subarray(third)));
      expect(payload(out), `cut ${cut}`).toBe('MCP1');
      expect(conn.proxied?.address).toBe('127.0.0.1');
    }
  });

  it.each([
    ['version 1', v2(0x11, 0x11, new Array(12).fill(0))],
    ['command 2', v2(0x22, 0x11, new Array(12).fill(0))],
    ['family 4', v2(0x21, 0x41, new Array(12).fill(0))],
    ['transport 3', v2(0x21, 0x13, new Array(12).fill(0))],
    ['an address block shorter than its family needs', v2(0x21, 0x21, new Array(12).fill(0))],
    ['a broken signature', concatBytes(SIGNATURE.slice(0, 11), [0x0b, 0x21, 0x11, 0, 0])],
  ])('closes silently on a v2 header with %s', (_name, header) => {
    const conn = behindBalancer();
    expect(run([dataRecord(conn, header)])).toEqual([noHeader(conn)]);
  });

  it('rejects a wrong v2 version as soon as the version byte arrives', () => {
    const conn = behindBalancer();
    expect(run([dataRecord(conn, concatBytes(SIGNATURE, [0x31]))])).toEqual([noHeader(conn)]);
  });

  it('passes everything unchanged on listeners without the PROXY protocol, a PROXY header included', () => {
    const conn = testConnection();
    const records = [openRecord(conn), dataRecord(conn, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), endRecord(conn)];
    const out = collect(records);
    expect(out).toHaveLength(3);
    out.forEach((r, i) => expect(r).toBe(records[i]));
    expect(conn.proxied).toBeUndefined();
  });

  it('passes later data of a connection unchanged once its header is done', () => {
    const conn = behindBalancer();
    const later = dataRecord(conn, 'more');
    const out = collect([dataRecord(conn, 'PROXY UNKNOWN\r\n'), later]);
    expect(out).toEqual([later]);
    expect(out[0]).toBe(later);
  });

  it('keeps connections apart', () => {
    const one = behindBalancer();
    const two = behindBalancer();
    const out = run([dataRecord(one, 'PROXY TCP4 1.1.1.1 '), dataRecord(two, 'nope'), dataRecord(one, '2.2.2.2 1 2\r\nok')]);
    expect(out).toEqual([noHeader(two), { type: 'data', connection: one.id, text: 'ok' }]);
    expect(one.proxied?.address).toBe('1.1.1.1');
  });

  it('forgets a partial header at the connection end', () => {
    const conn = behindBalancer();
    expect(run([dataRecord(conn, 'PROXY TCP4'), endRecord(conn)])).toEqual([{ type: 'end', connection: conn.id }]);
  });

  it('closes silently when the header is not complete timeoutMs after the connection opened', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const slow = behindBalancer();
      const quick = behindBalancer();
      const source = cold('ab-c-d 10ms e', {
        a: openRecord(slow),
        b: openRecord(quick),
        c: dataRecord(slow, 'PROXY TCP4 1.2.3.4'),
        d: dataRecord(quick, 'PROXY UNKNOWN\r\n'),
        e: dataRecord(slow, ' 5.6.7.8 1 2\r\n'),
      });
      expectObservable(source.pipe(proxyProtocol({ timeoutMs: 8 }), readable())).toBe('ab------t------', {
        a: { type: 'open', connection: slow.id },
        b: { type: 'open', connection: quick.id },
        t: { type: 'violation', connection: slow.id, reason: 'detect-timeout' },
      });
    });
  });

  it('propagates errors', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = behindBalancer();
      const source = cold('a-#', { a: dataRecord(conn, 'PROXY UNKNOWN\r\nx') });
      expectObservable(source.pipe(proxyProtocol(), readable())).toBe('a-#', { a: { type: 'data', connection: conn.id, text: 'x' } });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('stops, timers included, on early unsubscribe', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const conn = behindBalancer();
      const source = cold('o---------|', { o: openRecord(conn) });
      expectObservable(source.pipe(proxyProtocol({ timeoutMs: 5 }), readable()), '^--!').toBe('o---', {
        o: { type: 'open', connection: conn.id },
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('handles empty, never and throw', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<PipelineRecord>('|');
      const never = cold<PipelineRecord>('-');
      const thrown = cold<PipelineRecord>('#');
      expectObservable(empty.pipe(proxyProtocol())).toBe('|');
      expectObservable(never.pipe(proxyProtocol())).toBe('-');
      expectObservable(thrown.pipe(proxyProtocol())).toBe('#');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(thrown.subscriptions).toBe('(^!)');
    });
  });
});
