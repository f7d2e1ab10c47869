import { filter, from, map, merge, Observable, type OperatorFunction, pipe, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { backpressure } from '../operators/backpressure.js';
import { handle } from '../operators/handle.js';
import { route } from '../operators/route.js';
import { PauseReason } from '../src/core/connection.js';
import type { Handler, PipelineRecord, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { type TestConnection, testConnection } from '../src/testing/connection.js';

const IN_FLIGHT = PauseReason.InFlight;

function request(connection: TestConnection, handler: Handler, id = 1): RequestRecord {
  return { type: 'request', connection, protocol: 'jsonrpc', id, notification: false, method: 'm', params: [], handler };
}

function final(connection: TestConnection, id = 1, extra: Partial<ReplyRecord> = {}): ReplyRecord {
  return { type: 'reply', connection, protocol: 'jsonrpc', id, kind: 'result', final: true, ...extra };
}

describe('backpressure()', () => {
  let scheduler: TestScheduler;
  let conn: TestConnection;
  /** Each pause/resume with the virtual frame it happened at. */
  let demand: Array<[number, 'pause' | 'resume', number]>;

  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    conn = testConnection();
    demand = [];
    const { pause, resume } = conn;
    conn.pause = (reason?: number) => {
      demand.push([scheduler.now(), 'pause', reason ?? PauseReason.User]);
      pause.call(conn, reason);
    };
    conn.resume = (reason?: number) => {
      demand.push([scheduler.now(), 'resume', reason ?? PauseReason.User]);
      resume.call(conn, reason);
    };
  });

  describe('as an operator', () => {
    it('counts a final reply made upstream in as well as out, so it cannot undercount requests in flight', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const slow = (): Observable<unknown> => cold('----|');
        // a is in flight (paused at highWater 1); u is an answer an upstream stage (an auth
        // check, a decode error) made itself and marked final: it passes through inner.
        const source = cold('-au------|', { a: request(conn, slow, 1), u: final(conn, 9, { kind: 'error' }) });
        const out = source.pipe(backpressure(handle(), { highWater: 1, lowWater: 0 }));
        expectObservable(out).toBe('--u--x---|', { u: final(conn, 9, { kind: 'error' }), x: { ...final(conn, 1), result: [] } });
      });
      // Reading resumes when a is answered, not when the upstream answer passes.
      expect(demand).toEqual([
        [1, 'pause', IN_FLIGHT],
        [5, 'resume', IN_FLIGHT],
      ]);
    });

    it('pauses reading at highWater requests in flight and resumes at lowWater', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const slow = (): Observable<unknown> => cold('----|');
        const source = cold('-abc-------|', { a: request(conn, slow, 1), b: request(conn, slow, 2), c: request(conn, slow, 3) });
        const out = source.pipe(backpressure(handle(), { highWater: 2, lowWater: 1 }));
        expectObservable(out).toBe('-----xyz---|', {
          x: { ...final(conn, 1), result: [] },
          y: { ...final(conn, 2), result: [] },
          z: { ...final(conn, 3), result: [] },
        });
        expectSubscriptions(source.subscriptions).toBe('^----------!');
      });
      // b (2 in flight) pauses; the answer to a leaves 2: still paused; b's leaves 1: resume;
      // c arrived while paused (the transport's read already in progress) and is not lost.
      expect(demand).toEqual([
        [2, 'pause', IN_FLIGHT],
        [6, 'resume', IN_FLIGHT],
      ]);
      expect(conn.demandLog).toEqual([
        ['pause', IN_FLIGHT],
        ['resume', IN_FLIGHT],
      ]);
      expect(conn.pausedBy).toBe(0);
    });

    it('propagates the source error through inner', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-#', { a: request(conn, () => 1) });
        expectObservable(source.pipe(backpressure(handle()))).toBe('-r-#', { r: { ...final(conn), result: 1 } });
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('propagates an error of inner and unsubscribes the source', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-a-|', { a: { type: 'open', connection: conn } as PipelineRecord });
        const failing: OperatorFunction<PipelineRecord, PipelineRecord> = map(() => {
          throw new Error('inner');
        });
        expectObservable(source.pipe(backpressure(failing))).toBe('-#', undefined, new Error('inner'));
        expectSubscriptions(source.subscriptions).toBe('^!');
      });
    });

    it('unsubscribes source and inner when unsubscribed early', () => {
      scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const work = cold('-------x');
        const source = hot('-a--|', { a: request(conn, () => work) });
        expectObservable(source.pipe(backpressure(handle())), '^--!').toBe('---');
        expectSubscriptions(source.subscriptions).toBe('^--!');
        expectSubscriptions(work.subscriptions).toBe('-^-!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(backpressure(handle()))).toBe('|');
        expectObservable(never.pipe(backpressure(handle()))).toBe('-');
        expectObservable(thrown.pipe(backpressure(handle()))).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('subscribes the source once, however often inner subscribes to it', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const open: PipelineRecord = { type: 'open', connection: conn };
        const source = cold('-a-o-----|', { a: request(conn, () => 1), o: open });
        const twice: OperatorFunction<PipelineRecord, PipelineRecord> = (shared) =>
          merge(shared.pipe(filter((r) => r.type === 'open')), shared.pipe(handle()));
        expectObservable(source.pipe(backpressure(twice))).toBe('-r-(oo)--|', { r: { ...final(conn), result: 1 }, o: open });
        expectSubscriptions(source.subscriptions).toBe('^--------!');
      });
    });
  });

  it('passes every record through inner, unchanged and in order', () => {
    const records: PipelineRecord[] = [
      { type: 'open', connection: conn },
      request(conn, () => 1, 1),
      { type: 'cancel', connection: conn, protocol: 'jsonrpc', id: 9 },
      { ...request(conn, () => 2, 2), handler: undefined, method: 'missing' },
      { type: 'end', connection: conn },
    ];
    const seenByInner: PipelineRecord[] = [];
    const inner = pipe(
      map((r: PipelineRecord) => (seenByInner.push(r), r)),
      route({}),
      handle(),
    );
    let out: PipelineRecord[] = [];
    from(records)
      .pipe(backpressure(inner), toArray())
      .subscribe((all) => (out = all));
    expect(seenByInner).toEqual(records);
    let direct: PipelineRecord[] = [];
    from(records)
      .pipe(inner, toArray())
      .subscribe((all) => (direct = all));
    expect(out).toEqual(direct);
  });

  it('counts each connection on its own', () => {
    const other = testConnection();
    const records = [request(conn, () => 1), request(other, () => 1), request(conn, () => 1)];
    const held: OperatorFunction<PipelineRecord, PipelineRecord> = filter(() => false);
    from(records)
      .pipe(backpressure(held, { highWater: 2 }))
      .subscribe();
    expect(conn.demandLog).toEqual([['pause', IN_FLIGHT]]);
    expect(other.demandLog).toEqual([]);
  });

  it('counts only final replies: stream items and decode errors do not lower the count', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const item = final(conn, 1, { kind: 'item', final: false });
      const decodeError = final(conn, 2, { kind: 'error', final: undefined });
      const source = cold('ab|', { a: request(conn, () => 0, 1), b: request(conn, () => 0, 2) });
      // inner answers each request with a non-final record: nothing comes back in flight
      const inner: OperatorFunction<PipelineRecord, PipelineRecord> = map((r) => ((r as RequestRecord).id === 1 ? item : decodeError));
      expectObservable(source.pipe(backpressure(inner, { highWater: 2, lowWater: 0 }))).toBe('ab|', { a: item, b: decodeError });
    });
    expect(conn.demandLog).toEqual([['pause', IN_FLIGHT]]);
  });

  it('forgets a connection at its end record, lifting its pause, and ignores answers after it', () => {
    const answers = [final(conn, 1), final(conn, 2)];
    const records: PipelineRecord[] = [request(conn, () => 0, 1), request(conn, () => 0, 2), { type: 'end', connection: conn }];
    // inner that answers only once its input is over, after the end record
    const late: OperatorFunction<PipelineRecord, PipelineRecord> = (shared) =>
      new Observable<PipelineRecord>((subscriber) =>
        shared.subscribe({
          next: (r) => r.type === 'end' && subscriber.next(r),
          complete: () => {
            for (const a of answers) subscriber.next(a);
            subscriber.complete();
          },
        }),
      );
    from(records)
      .pipe(backpressure(late, { highWater: 2, lowWater: 1 }))
      .subscribe();
    expect(conn.demandLog).toEqual([
      ['pause', IN_FLIGHT],
      ['resume', IN_FLIGHT],
    ]);
  });

  it('leaves pauses for other reasons alone', () => {
    conn.pause(PauseReason.Write);
    from([request(conn, () => 1)])
      .pipe(backpressure(handle(), { highWater: 1, lowWater: 0 }))
      .subscribe();
    expect(conn.demandLog).toEqual([
      ['pause', PauseReason.Write],
      ['pause', IN_FLIGHT],
      ['resume', IN_FLIGHT],
    ]);
    expect(conn.pausedBy).toBe(PauseReason.Write);
  });

  it('refuses water marks that cannot work', () => {
    expect(() => backpressure(handle(), { highWater: 0 })).toThrow(/highWater/);
    expect(() => backpressure(handle(), { highWater: 4, lowWater: 4 })).toThrow(/lowWater/);
    expect(() => backpressure(handle(), { highWater: 4, lowWater: -1 })).toThrow(/lowWater/);
  });

  it('defaults to pausing at 256 in flight (maxInFlight) and resuming at 128', () => {
    const never: Handler = () => new Promise(() => undefined);
    const records = Array.from({ length: 256 }, (_, i) => request(conn, never, i));
    const held: OperatorFunction<PipelineRecord, PipelineRecord> = filter(() => false);
    from(records.slice(0, 255)).pipe(backpressure(held)).subscribe();
    expect(conn.demandLog).toEqual([]);
    from(records).pipe(backpressure(held)).subscribe();
    expect(conn.demandLog).toEqual([['pause', IN_FLIGHT]]);
  });
});
