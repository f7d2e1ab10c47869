import { firstValueFrom, type Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers, echo, fail, ping, sleep, stream, sum } from '../../src/handlers/demo.js';

function ctx(signal = new AbortController().signal): HandlerContext {
  return {
    signal,
    peer: { family: 'unix', address: '/x', port: 0 },
    method: 'm',
    listener: 'unix:/x',
    notification: false,
    notify: () => {},
    request: () => Promise.reject(new Error('no client here')),
    session: {},
  };
}

describe('demo handlers (PROTOCOL.md section 5)', () => {
  it('are exactly echo, sum, ping, sleep, fail, stream, whoami, countdown, ask', () => {
    expect(Object.keys(demoHandlers).sort()).toEqual(['ask', 'countdown', 'echo', 'fail', 'ping', 'sleep', 'stream', 'sum', 'whoami']);
  });

  it('echo gives x for [x], else the params as given', () => {
    expect(echo(['x'])).toBe('x');
    expect(echo([1, 2])).toEqual([1, 2]);
    expect(echo({ a: 1 })).toEqual({ a: 1 });
    expect(echo(undefined)).toBeUndefined();
  });

  it('sum adds numbers and answers -32602 for anything else', () => {
    expect(sum([1, 2, 3.5])).toBe(6.5);
    expect(sum([])).toBe(0);
    expect(() => sum([1, '2'])).toThrow(expect.objectContaining({ code: -32602 }));
    expect(() => sum({ a: 1 })).toThrow(expect.objectContaining({ code: -32602 }));
  });

  it('ping gives "pong" and fail always throws a plain Error', () => {
    expect(ping()).toBe('pong');
    expect(() => fail()).toThrow(Error);
  });

  it('sleep answers ms after ms, and stops at once when its signal aborts', async () => {
    const started = Date.now();
    expect(await sleep([30], ctx())).toBe(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const controller = new AbortController();
    const pending = sleep([60_000], ctx(controller.signal));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: -32800 });
    await expect(sleep(['soon'], ctx())).rejects.toMatchObject({ code: -32602 });
  });

  it('stream emits 0 .. n-1 and stops when unsubscribed', async () => {
    expect(await firstValueFrom((stream([4]) as Observable<number>).pipe(toArray()))).toEqual([0, 1, 2, 3]);
    expect(await firstValueFrom((stream([0]) as Observable<number>).pipe(toArray()))).toEqual([]);
    expect(() => stream([-1])).toThrow(expect.objectContaining({ code: -32602 }));
  });
});
