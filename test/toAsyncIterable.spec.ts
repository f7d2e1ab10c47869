import { AbortError } from 'ix/aborterror';
import { AsyncIterableX, toArray } from 'ix/asynciterable';
import { map as ixMap, take } from 'ix/asynciterable/operators';
import { concat, defer, from, type Observable, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { toAsyncIterable } from '../operators/toAsyncIterable.js';
import { PauseReason } from '../src/core/connection.js';
import type { OpenRecord, PipelineRecord } from '../src/core/records.js';
import { type TestConnection, testConnection } from '../src/testing/connection.js';

const PULL = PauseReason.Pull;

function records(connection: TestConnection, n: number): OpenRecord[] {
  return Array.from({ length: n }, () => ({ type: 'open', connection }));
}

describe('toAsyncIterable()', () => {
  it('yields every record in order and ends when the stream completes', async () => {
    const conn = testConnection();
    const input: PipelineRecord[] = [
      { type: 'open', connection: conn },
      { type: 'end', connection: conn },
    ];
    const seen: PipelineRecord[] = [];
    for await (const record of toAsyncIterable(from(input))) seen.push(record);
    expect(seen).toEqual(input);
  });

  it('is an IxJS AsyncIterableX that composes with Ix operators', async () => {
    const conn = testConnection();
    const iterable = toAsyncIterable(from(records(conn, 5)));
    expect(iterable).toBeInstanceOf(AsyncIterableX);
    const types = await toArray(
      iterable.pipe(
        ixMap((r: PipelineRecord) => r.type),
        take(2),
      ),
    );
    expect(types).toEqual(['open', 'open']);
  });

  it('subscribes on the first pull, once per iteration', async () => {
    const conn = testConnection();
    let subscriptions = 0;
    const source = defer(() => (subscriptions++, from(records(conn, 2))));
    const iterable = toAsyncIterable(source);
    expect(subscriptions).toBe(0);
    for await (const _ of iterable) void _;
    for await (const _ of iterable) void _;
    expect(subscriptions).toBe(2);
  });

  it('pauses a connection with more than highWater records buffered and resumes below half', async () => {
    const conn = testConnection();
    const other = testConnection();
    const subject = new Subject<PipelineRecord>();
    const iterator = toAsyncIterable(subject, { highWater: 4 })[Symbol.asyncIterator]();
    const first = iterator.next(); // subscribes; the first record goes straight to this pull
    for (const record of records(conn, 10)) subject.next(record);
    for (const record of records(other, 3)) subject.next(record);
    await first;
    // 9 buffered for conn: paused when the 5th was; 3 for other: under highWater
    expect(conn.demandLog).toEqual([['pause', PULL]]);
    expect(other.demandLog).toEqual([]);
    for (let i = 0; i < 7; i++) await iterator.next(); // 2 left: not below half of 4 yet
    expect(conn.demandLog).toEqual([['pause', PULL]]);
    await iterator.next(); // 1 left
    expect(conn.demandLog).toEqual([
      ['pause', PULL],
      ['resume', PULL],
    ]);
    expect(conn.pausedBy).toBe(0);
    subject.complete();
  });

  it('unsubscribes and lifts its pauses when the loop is left', async () => {
    const conn = testConnection();
    const subject = new Subject<PipelineRecord>();
    const iterable = toAsyncIterable(subject, { highWater: 1 });
    const pending = (async () => {
      for await (const _ of iterable) {
        void _;
        break;
      }
    })();
    for (const record of records(conn, 3)) subject.next(record);
    await pending;
    expect(subject.observed).toBe(false);
    expect(conn.demandLog).toEqual([
      ['pause', PULL],
      ['resume', PULL],
    ]);
  });

  it('throws the stream error into the loop after the records before it', async () => {
    const conn = testConnection();
    const source: Observable<PipelineRecord> = concat(
      from(records(conn, 2)),
      throwError(() => new Error('boom')),
    );
    const seen: PipelineRecord[] = [];
    await expect(
      (async () => {
        for await (const record of toAsyncIterable(source)) seen.push(record);
      })(),
    ).rejects.toThrow('boom');
    expect(seen).toHaveLength(2);
  });

  it('rejects a waiting pull when the stream errors', async () => {
    const subject = new Subject<PipelineRecord>();
    const iterator = toAsyncIterable(subject)[Symbol.asyncIterator]();
    const waiting = iterator.next();
    subject.error(new Error('late'));
    await expect(waiting).rejects.toThrow('late');
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('ends with an AbortError when the signal aborts, and unsubscribes', async () => {
    const subject = new Subject<PipelineRecord>();
    const controller = new AbortController();
    const iterator = toAsyncIterable(subject)[Symbol.asyncIterator](controller.signal);
    const waiting = iterator.next();
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(subject.observed).toBe(false);
  });

  it('refuses to start with an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    let subscribed = false;
    const source = defer(() => ((subscribed = true), from([] as PipelineRecord[])));
    const iterator = toAsyncIterable(source)[Symbol.asyncIterator](controller.signal);
    await expect(iterator.next()).rejects.toBeInstanceOf(AbortError);
    expect(subscribed).toBe(false);
  });

  it('refuses a highWater below 1', () => {
    expect(() => toAsyncIterable(from([] as PipelineRecord[]), { highWater: 0 })).toThrow(/highWater/);
  });
});
