import { describe, expect, it } from 'vitest';
import { InFlightCount } from '../operators/inFlightCount.js';
import type { Connection } from '../src/core/connection.js';
import { testConnection } from '../src/testing/connection.js';

describe('InFlightCount', () => {
  it('counts requests per connection and in all', () => {
    const count = new InFlightCount();
    const [a, b] = [testConnection(), testConnection()];
    expect(count.add(a)).toBe(1);
    expect(count.add(a)).toBe(2);
    expect(count.add(b)).toBe(1);
    expect([count.of(a), count.of(b), count.total]).toEqual([2, 1, 3]);
    expect(count.remove(a)).toBe(1);
    expect([count.of(a), count.total]).toEqual([1, 2]);
  });

  it('tells when a connection has nothing in flight any more, once each time', () => {
    const idle: Connection[] = [];
    const count = new InFlightCount((connection) => idle.push(connection));
    const a = testConnection();
    count.add(a);
    count.add(a);
    count.remove(a);
    expect(idle).toEqual([]);
    expect(count.remove(a)).toBe(0);
    expect(idle).toEqual([a]);
    count.add(a);
    count.remove(a);
    expect(idle).toEqual([a, a]);
  });

  it('answers -1 for a reply on a connection it does not count, and leaves the total alone', () => {
    const count = new InFlightCount();
    const [a, b] = [testConnection(), testConnection()];
    count.add(a);
    expect(count.remove(b)).toBe(-1);
    expect(count.total).toBe(1);
  });

  it('forgets a closed connection: its requests leave the total, and a late reply is not counted', () => {
    const idle: Connection[] = [];
    const count = new InFlightCount((connection) => idle.push(connection));
    const [a, b] = [testConnection(), testConnection()];
    count.add(a);
    count.add(a);
    count.add(b);
    count.forget(a);
    expect([count.of(a), count.total]).toEqual([0, 1]);
    expect(count.remove(a)).toBe(-1);
    expect(idle).toEqual([]);
    count.forget(a);
    expect(count.total).toBe(1);
  });

  it('clears every count', () => {
    const count = new InFlightCount();
    const [a, b] = [testConnection(), testConnection()];
    count.add(a);
    count.add(b);
    count.clear();
    expect([count.of(a), count.of(b), count.total]).toEqual([0, 0, 0]);
  });
});
