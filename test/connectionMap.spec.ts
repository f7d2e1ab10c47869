import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { detectProtocol } from '../operators/detectProtocol.js';
import { ConnectionMap, reserveSlot } from '../operators/index.js';
import type { Connection } from '../src/core/connection.js';
import type { PipelineRecord } from '../src/core/records.js';
import { bytes, testConnection } from '../src/testing/index.js';

const AT = reserveSlot();

describe('ConnectionMap: per-connection state kept on the connection', () => {
  it('stores, finds and forgets a value per connection', () => {
    const map = new ConnectionMap<number>(AT);
    const a = testConnection();
    const b = testConnection();
    map.set(a, 1);
    map.set(b, 2);
    expect([map.get(a), map.get(b), map.has(a)]).toEqual([1, 2, true]);
    map.delete(a);
    expect([map.get(a), map.has(a), map.get(b)]).toEqual([undefined, false, 2]);
  });

  it('keeps two owners of the same slot apart (two pipelines over one connection)', () => {
    const first = new ConnectionMap<string>(AT);
    const second = new ConnectionMap<string>(AT);
    const conn = testConnection();
    first.set(conn, 'first');
    second.set(conn, 'second');
    expect([first.get(conn), second.get(conn)]).toEqual(['first', 'second']);
    first.delete(conn);
    expect([first.get(conn), second.get(conn)]).toEqual([undefined, 'second']);
    second.delete(conn);
    expect(second.has(conn)).toBe(false);
  });

  it('moves a value out of its fallback once the slot is free, leaving no stale copy', () => {
    const first = new ConnectionMap<string>(AT);
    const second = new ConnectionMap<string>(AT);
    const conn = testConnection();
    first.set(conn, 'held');
    second.set(conn, 'old'); // slot taken: goes to second's fallback
    first.delete(conn);
    second.set(conn, 'new'); // slot free now
    expect(second.get(conn)).toBe('new');
    second.delete(conn);
    expect([second.get(conn), second.has(conn)]).toEqual([undefined, false]);
  });

  it('after clear() ignores and overwrites what it stored before, and frees the slot for others', () => {
    const map = new ConnectionMap<number>(AT);
    const other = new ConnectionMap<number>(AT);
    const conn = testConnection();
    map.set(conn, 7);
    map.clear();
    expect(map.get(conn)).toBeUndefined();
    other.set(conn, 8);
    expect([other.get(conn), map.get(conn)]).toEqual([8, undefined]);
  });

  it('works for a user-made Connection without slots', () => {
    const map = new ConnectionMap<number>(AT);
    const { slots: _slots, ...plain } = testConnection();
    const conn = plain as unknown as Connection;
    expect(conn.slots).toBeUndefined();
    map.set(conn, 3);
    expect(map.get(conn)).toBe(3);
    map.delete(conn);
    expect(map.has(conn)).toBe(false);
  });

  it('lets two detectProtocol pipelines over the same connections decide independently', () => {
    const input = new Subject<PipelineRecord>();
    const seen: string[] = [];
    for (const name of ['a', 'b']) {
      input.pipe(detectProtocol({ timeoutMs: 60_000 })).subscribe((r) => {
        if (r.type === 'data') seen.push(`${name}:${r.protocol}`);
      });
    }
    const conn = testConnection();
    input.next({ type: 'open', connection: conn });
    input.next({ type: 'data', connection: conn, bytes: bytes('MC') });
    input.next({ type: 'data', connection: conn, bytes: bytes('P1') });
    input.next({ type: 'data', connection: conn, bytes: bytes('more') });
    input.next({ type: 'end', connection: conn });
    expect(seen).toEqual(['a:mcp1', 'b:mcp1', 'a:mcp1', 'b:mcp1']);
  });
});
