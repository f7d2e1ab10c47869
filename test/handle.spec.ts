import { asapScheduler, from, lastValueFrom, NEVER, type Observable, of, Subject, throwError, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { type HandleOptions, handle } from '../operators/handle.js';
import { RpcError } from '../src/core/errors.js';
import type { CancelRecord, Handler, HandlerContext, PipelineRecord, Protocol, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { type TestConnection, testConnection } from '../src/testing/connection.js';

function request(handler: Handler, extra: Partial<RequestRecord> & { connection?: TestConnection } = {}): RequestRecord {
  return { type: 'request', connection: conn, protocol: 'jsonrpc', id: 1, notification: false, method: 'm', params: [], handler, ...extra };
}

function answer(
  kind: ReplyRecord['kind'],
  value: { result?: unknown; error?: ReplyRecord['error'] },
  extra: Partial<ReplyRecord> = {},
): ReplyRecord {
  return { type: 'reply', connection: conn, protocol: 'jsonrpc', id: 1, kind, final: kind !== 'item', ...value, ...extra };
}

const cancel = (id: RequestRecord['id'], protocol: Protocol = 'jsonrpc', connection: TestConnection = conn): CancelRecord => ({
  type: 'cancel',
  connection,
  protocol,
  id,
});

const INTERNAL = { code: -32603, message: 'Internal error' };
const CANCELLED = { code: -32800, message: 'Request cancelled' };

async function handleAll(records: PipelineRecord[], options?: HandleOptions): Promise<PipelineRecord[]> {
  return lastValueFrom(from(records).pipe(handle(options), toArray()));
}

let conn: TestConnection;

describe('handle()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    conn = testConnection();
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    it('answers each request once and passes other records through in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const open: PipelineRecord = { type: 'open', connection: conn };
        const unrouted: RequestRecord = { ...request(() => 0), handler: undefined };
        const source = cold('-o-a-u-|', { o: open, a: request((p) => (p as unknown[])[0], { params: [3] }), u: unrouted });
        expectObservable(source.pipe(handle())).toBe('-o-r-u-|', { o: open, r: answer('result', { result: 3 }), u: unrouted });
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('completes only when the answers in flight are out', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const inner = cold('----(x|)', { x: 'late' });
        const source = cold('-a|', { a: request(() => inner) });
        expectObservable(source.pipe(handle())).toBe('-----(r|)', { r: answer('result', { result: ['late'] }) });
      });
    });

    it('propagates the source error and aborts what is in flight', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        let signal: AbortSignal | undefined;
        const inner = cold('-----x');
        const source = cold('-a-#', { a: request((_, ctx) => ((signal = ctx.signal), inner)) });
        expectObservable(source.pipe(handle())).toBe('---#');
        expectSubscriptions(source.subscriptions).toBe('^--!');
        expectSubscriptions(inner.subscriptions).toBe('-^-!');
        scheduler.flush();
        expect(signal?.aborted).toBe(true);
      });
    });

    it('aborts everything in flight when unsubscribed early', () => {
      scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const inner = cold('------x');
        const source = hot('-a--|', { a: request(() => inner) });
        expectObservable(source.pipe(handle()), '^--!').toBe('---');
        expectSubscriptions(source.subscriptions).toBe('^--!');
        expectSubscriptions(inner.subscriptions).toBe('-^-!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(handle())).toBe('|');
        expectObservable(never.pipe(handle())).toBe('-');
        expectObservable(thrown.pipe(handle())).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('refuses a concurrency below 1', () => {
      expect(() => handle({ concurrency: 0 })).toThrow(/concurrency/);
    });
  });

  describe('results and errors', () => {
    it('answers values, promises and thenables', async () => {
      const thenable = { then: (resolve: (v: unknown) => void) => resolve('t') };
      const out = await handleAll([
        request(() => 1, { id: 1 }),
        request(async () => 2, { id: 2 }),
        request(() => thenable, { id: 3 }),
        request(() => undefined, { id: 4 }),
        request(async () => of(5, 6), { id: 5 }),
      ]);
      expect(out).toEqual([
        answer('result', { result: 1 }, { id: 1 }),
        answer('result', { result: 't' }, { id: 3 }),
        answer('result', { result: undefined }, { id: 4 }),
        answer('result', { result: 2 }, { id: 2 }),
        answer('result', { result: [5, 6] }, { id: 5 }),
      ]);
    });

    it('answers an RpcError with its own code, message and data, thrown or rejected', async () => {
      const out = await handleAll([
        request(
          () => {
            throw new RpcError(-32602, 'Invalid params', { at: 0 });
          },
          { id: 1 },
        ),
        request(
          async () => {
            throw new RpcError(7, 'seven');
          },
          { id: 2 },
        ),
        request(() => throwError(() => new RpcError(8, 'eight')), { id: 3 }),
      ]);
      expect(out).toEqual([
        answer('error', { error: { code: -32602, message: 'Invalid params', data: { at: 0 } } }, { id: 1 }),
        answer('error', { error: { code: 8, message: 'eight' } }, { id: 3 }),
        answer('error', { error: { code: 7, message: 'seven' } }, { id: 2 }),
      ]);
    });

    it("answers an RpcError of another copy of ringwire (the handlers' own) as an RpcError", async () => {
      class OtherCopyRpcError extends Error {
        readonly code = -32001;
        get [Symbol.for('ringwire.RpcError')](): true {
          return true;
        }
      }
      const out = await handleAll([
        request(
          () => {
            throw new OtherCopyRpcError('from the other copy');
          },
          { id: 1 },
        ),
      ]);
      expect(out).toEqual([answer('error', { error: { code: -32001, message: 'from the other copy' } }, { id: 1 })]);
    });

    it('answers any other failure with -32603 and nothing of the error on the wire', async () => {
      const secret = new Error('password=hunter2');
      const lookalike = Object.assign(new Error('lookalike'), { code: -1 });
      const throwingThen = {
        get then(): never {
          throw secret;
        },
      };
      const out = await handleAll([
        request(
          () => {
            throw secret;
          },
          { id: 1 },
        ),
        request(() => Promise.reject(secret), { id: 2 }),
        request(
          () => {
            throw 'a string';
          },
          { id: 3 },
        ),
        request(() => lookalike, { id: 4 }),
        request(() => throwingThen, { id: 5 }),
        request(() => throwError(() => secret), { id: 6 }),
        request(
          () => {
            throw lookalike;
          },
          { id: 7 },
        ),
        request(
          () => ({
            lift: () => undefined,
            subscribe: () => {
              throw secret;
            },
          }),
          { id: 8 },
        ),
      ]);
      const errors = out.filter((r) => (r as ReplyRecord).kind === 'error') as ReplyRecord[];
      expect(errors.map((r) => r.id).sort()).toEqual([1, 2, 3, 5, 6, 7, 8]);
      for (const reply of errors) expect(reply.error).toEqual(INTERNAL);
      expect(JSON.stringify(out.map((r) => ({ ...r, connection: undefined })))).not.toMatch(/hunter2|lookalike|stack/);
    });

    it('streams Observable values as MCP1 items, then a final result without value', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const inner = cold('--x-y|', { x: 1, y: 2 });
        const source = cold('-a-|', { a: request(() => inner, { protocol: 'mcp1', id: 4 }) });
        const mcp1 = { protocol: 'mcp1' as const, id: 4 };
        expectObservable(source.pipe(handle())).toBe('---X-Y(Z|)', {
          X: answer('item', { result: 1 }, mcp1),
          Y: answer('item', { result: 2 }, mcp1),
          Z: answer('result', { result: undefined }, mcp1),
        });
        expectSubscriptions(inner.subscriptions).toBe('-^----!');
      });
    });

    it('answers a JSON-RPC stream with one result holding all its values', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const inner = cold('--x-y|', { x: 1, y: 2 });
        const empty = cold('--|');
        const source = cold('-ab|', { a: request(() => inner, { protocol: 'lsp' }), b: request(() => empty, { id: 2 }) });
        expectObservable(source.pipe(handle())).toBe('----B-(A|)', {
          A: answer('result', { result: [1, 2] }, { protocol: 'lsp' }),
          B: answer('result', { result: [] }, { id: 2 }),
        });
      });
    });

    it('ends an MCP1 stream that errors with a final error after its items', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const inner = cold('-x-#', { x: 1 }, new RpcError(9, 'nine'));
        const source = cold('a|', { a: request(() => inner, { protocol: 'mcp1' }) });
        expectObservable(source.pipe(handle())).toBe('-X-(E|)', {
          X: answer('item', { result: 1 }, { protocol: 'mcp1' }),
          E: answer('error', { error: { code: 9, message: 'nine' } }, { protocol: 'mcp1' }),
        });
      });
    });

    it('answers notifications with one silent final reply, whatever the handler does', async () => {
      const n = { id: null, notification: true };
      const out = await handleAll([
        request(() => 1, n),
        request(() => {
          throw new Error('x');
        }, n),
        request(async () => 2, n),
        request(() => of(1, 2), { ...n, protocol: 'mcp1' }),
      ]);
      expect(out).toHaveLength(4);
      for (const reply of out) {
        expect(reply).toEqual(
          answer('result', { result: undefined }, { id: null, silent: true, protocol: (reply as ReplyRecord).protocol }),
        );
      }
    });

    it('carries batch and json into every reply', async () => {
      const batch = { pending: 1, replies: [] };
      const [a, b] = await handleAll([request(() => 1, { batch }), request(() => 2, { protocol: 'mcp1', json: true, id: 2 })]);
      expect((a as ReplyRecord).batch).toBe(batch);
      expect(b).toMatchObject({ json: true, protocol: 'mcp1', id: 2 });
    });
  });

  describe('options.onFailure', () => {
    type Report = [method: string, error: unknown];
    const recorder = (): { reports: Report[]; options: HandleOptions } => {
      const reports: Report[] = [];
      return { reports, options: { onFailure: (method, error) => reports.push([method, error]) } };
    };

    it('is told once of each handler that failed with anything but an RpcError, after the -32603 reply', async () => {
      const { reports, options } = recorder();
      const secret = new Error('password=hunter2');
      const out = await handleAll(
        [
          request(
            () => {
              throw secret;
            },
            { id: 1, method: 'throws' },
          ),
          request(() => Promise.reject(secret), { id: 2, method: 'rejects' }),
          request(() => throwError(() => secret), { id: 3, method: 'errors', protocol: 'mcp1' }),
          request(
            () => {
              throw 'a string';
            },
            { id: 4, method: 'throwsString' },
          ),
          request(
            () => {
              throw new Error('in a notification');
            },
            { id: null, notification: true, method: 'notified' },
          ),
        ],
        options,
      );
      expect(out.filter((r) => (r as ReplyRecord).error !== undefined).map((r) => (r as ReplyRecord).error)).toEqual([
        INTERNAL,
        INTERNAL,
        INTERNAL,
        INTERNAL,
      ]);
      expect(reports).toEqual([
        ['throws', secret],
        ['errors', secret],
        ['throwsString', 'a string'],
        ['notified', new Error('in a notification')],
        ['rejects', secret],
      ]);
    });

    it('reports the failure after its answer went downstream', () => {
      const seen: string[] = [];
      const source = new Subject<PipelineRecord>();
      source.pipe(handle({ onFailure: () => seen.push('reported') })).subscribe(() => seen.push('answered'));
      source.next(
        request(() => {
          throw new Error('x');
        }),
      );
      expect(seen).toEqual(['answered', 'reported']);
    });

    it('is not told of RpcErrors, successes, cancelled or dropped requests', async () => {
      const { reports, options } = recorder();
      const disconnects = new Subject<TestConnection>();
      const dropped = testConnection();
      const source = new Subject<PipelineRecord>();
      const out: PipelineRecord[] = [];
      source.pipe(handle({ ...options, disconnects })).subscribe((r) => out.push(r));
      const rejectOnAbort = (_: unknown, ctx: HandlerContext) =>
        new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
      source.next(
        request(
          () => {
            throw new RpcError(-32602, 'Invalid params');
          },
          { id: 1 },
        ),
      );
      source.next(request(() => Promise.reject(new RpcError(-32603, 'Internal error', 'on purpose')), { id: 2 }));
      source.next(request(() => 3, { id: 3 }));
      source.next(request(rejectOnAbort, { id: 4 }));
      source.next(cancel(4));
      source.next(request(() => throwError(() => new Error('after cancel')), { id: 5, protocol: 'mcp1' }));
      source.next(request(rejectOnAbort, { id: 6, connection: dropped }));
      disconnects.next(dropped);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(out.map((r) => (r as ReplyRecord).error?.code ?? (r as ReplyRecord).result)).toEqual([-32602, 3, -32800, -32603, -32603]);
      expect(reports.map(([method, error]) => [method, (error as Error).message])).toEqual([['m', 'after cancel']]);
    });

    it('names the method on every reply when given, and on none without it', async () => {
      const records = [request(() => 1, { method: 'one' }), request(() => of(1), { id: 2, method: 'two', protocol: 'mcp1' })];
      const named = (await handleAll(records, { onFailure: () => {} })) as ReplyRecord[];
      expect(named.map((r) => r.method)).toEqual(['one', 'two', 'two']);
      const plain = (await handleAll(records)) as ReplyRecord[];
      expect(plain.map((r) => r.method)).toEqual([undefined, undefined, undefined]);
    });

    it('errors the output when onFailure throws, even from a rejected promise', async () => {
      const bug = new Error('onFailure bug');
      const onFailure = () => {
        throw bug;
      };
      await expect(handleAll([request(() => Promise.reject(new Error('x')))], { onFailure })).rejects.toBe(bug);
    });
  });

  describe('context', () => {
    it('tells the handler its method, whether it is a notification, and the peer', async () => {
      const proxied = testConnection({ peer: { address: '10.0.0.1', port: 1 } });
      proxied.proxied = { family: 'IPv4', address: '203.0.113.9', port: 4444 };
      let seen: HandlerContext | undefined;
      await handleAll([request((_, ctx) => void (seen = ctx), { connection: proxied, method: 'who', notification: true, id: null })]);
      expect(seen?.method).toBe('who');
      expect(seen?.notification).toBe(true);
      expect(seen?.peer).toEqual({ family: 'IPv4', address: '10.0.0.1', port: 1, proxied: proxied.proxied });
      expect(seen?.signal.aborted).toBe(false);
    });

    it('hands out an already aborted signal when asked only after the abort', async () => {
      let ctx: HandlerContext | undefined;
      const sub = from([request((_, c) => ((ctx = c), NEVER))])
        .pipe(handle())
        .subscribe();
      sub.unsubscribe();
      expect(ctx!.signal.aborted).toBe(true);
    });
  });

  describe('cancellation', () => {
    it('aborts the signal, unsubscribes the stream and answers -32800', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        let signal: AbortSignal | undefined;
        const inner = cold('------x');
        const source = cold('-a-c-|', { a: request((_, ctx) => ((signal = ctx.signal), inner), { id: 'q' }), c: cancel('q') });
        expectObservable(source.pipe(handle())).toBe('---E-|', { E: answer('error', { error: CANCELLED }, { id: 'q' }) });
        expectSubscriptions(inner.subscriptions).toBe('-^-!');
        scheduler.flush();
        expect(signal?.aborted).toBe(true);
        expect(signal!.reason).toBeInstanceOf(RpcError);
        expect((signal!.reason as RpcError).code).toBe(-32800);
      });
    });

    it('answers a cancelled promise-based handler once, ignoring its late result', async () => {
      let resolve: ((value: unknown) => void) | undefined;
      let signal: AbortSignal | undefined;
      const source = new Subject<PipelineRecord>();
      const out: PipelineRecord[] = [];
      source.pipe(handle()).subscribe((r) => out.push(r));
      source.next(request((_, ctx) => ((signal = ctx.signal), new Promise((r) => (resolve = r)))));
      source.next(cancel(1));
      resolve!('too late');
      await Promise.resolve();
      source.complete();
      expect(out).toEqual([answer('error', { error: CANCELLED })]);
      expect(signal?.aborted).toBe(true);
    });

    it('ignores a cancel after the answer, or for an id it never saw', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const source = cold('-a-c-d-|', { a: request(() => 1), c: cancel(1), d: cancel(99) });
        expectObservable(source.pipe(handle())).toBe('-r-----|', { r: answer('result', { result: 1 }) });
      });
    });

    it('cancels only the id on its own connection', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const other = testConnection();
        const source = cold('-a-c-|', { a: request(() => cold('---x|', { x: 1 })), c: cancel(1, 'jsonrpc', other) });
        expectObservable(source.pipe(handle())).toBe('-----(r|)', { r: answer('result', { result: [1] }) });
      });
    });

    it('cancels a queued request before it starts', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('----(x|)', { x: 1 });
        const second = cold('-(y|)', { y: 2 });
        const source = cold('-ab-c-|', { a: request(() => first, { id: 1 }), b: request(() => second, { id: 2 }), c: cancel(2) });
        expectObservable(source.pipe(handle({ concurrency: 1 }))).toBe('----EA|', {
          E: answer('error', { error: CANCELLED }, { id: 2 }),
          A: answer('result', { result: [1] }, { id: 1 }),
        });
        expectSubscriptions(second.subscriptions).toBe([]);
      });
    });

    it('lets JSON-RPC reuse an id in flight, cancelling the earliest', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('-----(x|)', { x: 'first' });
        const second = cold('-----(y|)', { y: 'second' });
        const source = cold('ab-c|', { a: request(() => first, { id: 5 }), b: request(() => second, { id: 5 }), c: cancel(5) });
        expectObservable(source.pipe(handle())).toBe('---E--(B|)', {
          E: answer('error', { error: CANCELLED }, { id: 5 }),
          B: answer('result', { result: ['second'] }, { id: 5 }),
        });
        expectSubscriptions(first.subscriptions).toBe('^--!');
        expectSubscriptions(second.subscriptions).toBe('-^----!');
      });
    });

    it('refuses an MCP1 id already in flight on the connection with -32600 naming it', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const mcp1 = { protocol: 'mcp1' as const, id: 7 };
        const slow = cold('---|');
        const other = testConnection();
        const source = cold('abc|', {
          a: request(() => slow, mcp1),
          b: request(() => 2, mcp1),
          c: request(() => 3, { ...mcp1, connection: other }),
        });
        const duplicate = { code: -32600, message: 'Invalid Request', data: 'id 7 is already in flight on this connection' };
        expectObservable(source.pipe(handle())).toBe('-bc(a|)', {
          b: answer('error', { error: duplicate }, mcp1),
          c: answer('result', { result: 3 }, { ...mcp1, connection: other }),
          a: answer('result', { result: undefined }, mcp1),
        });
      });
    });
  });

  describe('disconnects', () => {
    it('aborts the work of a connection that ends closed and answers nothing more for it', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        let signal: AbortSignal | undefined;
        const inner = cold('-----x');
        const end: PipelineRecord = { type: 'end', connection: conn };
        conn.closed = true;
        const source = cold('-a-e-|', { a: request((_, ctx) => ((signal = ctx.signal), inner)), e: end });
        expectObservable(source.pipe(handle())).toBe('---e-|', { e: end });
        expectSubscriptions(inner.subscriptions).toBe('-^-!');
        scheduler.flush();
        expect(signal?.aborted).toBe(true);
      });
    });

    it('lets requests of a half-closed connection finish', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const end: PipelineRecord = { type: 'end', connection: conn };
        const source = cold('-ae|', { a: request(() => cold('---(x|)', { x: 1 })), e: end });
        expectObservable(source.pipe(handle())).toBe('--e-(r|)', { e: end, r: answer('result', { result: [1] }) });
      });
    });

    it('aborts the work of connections emitted by options.disconnects, promises included', () => {
      scheduler.run(({ cold, hot, expectObservable }) => {
        const signals: AbortSignal[] = [];
        const other = testConnection();
        const disconnects = hot<TestConnection>('---d', { d: conn });
        const pending = new Promise(() => undefined);
        const source = cold('-ab-', {
          a: request((_, ctx) => (signals.push(ctx.signal), pending)),
          b: request((_, ctx) => (signals.push(ctx.signal), cold('----(x|)', { x: 1 })), { connection: other }),
        });
        expectObservable(source.pipe(handle({ disconnects }))).toBe('------r', {
          r: answer('result', { result: [1] }, { connection: other }),
        });
        scheduler.flush();
        expect(signals.map((s) => s.aborted)).toEqual([true, false]);
      });
    });

    it('completes once the last in-flight request of a dropped connection is gone', () => {
      scheduler.run(({ cold, hot, expectObservable }) => {
        const disconnects = hot<TestConnection>('---d', { d: conn });
        const source = cold('-a|', { a: request(() => NEVER) });
        expectObservable(source.pipe(handle({ disconnects }))).toBe('---|');
      });
    });
  });

  describe('concurrency', () => {
    it('queues requests of all connections beyond the limit, in arrival order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const other = testConnection();
        const a = cold('--(x|)', { x: 'a' });
        const b = cold('--(x|)', { x: 'b' });
        const c = cold('--(x|)', { x: 'c' });
        const source = cold('abc|', {
          a: request(() => a, { id: 1 }),
          b: request(() => b, { id: 2, connection: other }),
          c: request(() => c, { id: 3 }),
        });
        expectObservable(source.pipe(handle({ concurrency: 2 }))).toBe('--AB(C|)', {
          A: answer('result', { result: ['a'] }, { id: 1 }),
          B: answer('result', { result: ['b'] }, { id: 2, connection: other }),
          C: answer('result', { result: ['c'] }, { id: 3 }),
        });
        expectSubscriptions(a.subscriptions).toBe('^-!');
        expectSubscriptions(b.subscriptions).toBe('-^-!');
        expectSubscriptions(c.subscriptions).toBe('--^-!');
      });
    });

    it('runs a long queue of synchronous handlers without deep recursion', async () => {
      const gate = new Subject<number>();
      const records = [request(() => gate, { id: 0 }), ...Array.from({ length: 20_000 }, (_, i) => request(() => i, { id: i + 1 }))];
      const done = lastValueFrom(from(records).pipe(handle({ concurrency: 1 }), toArray()));
      gate.complete();
      const out = (await done) as ReplyRecord[];
      expect(out).toHaveLength(20_001);
      expect(out[20_000]).toMatchObject({ id: 20_000, result: 19_999 });
    });

    it('calls handlers on options.scheduler instead of synchronously', async () => {
      const calls: string[] = [];
      const records$: Observable<PipelineRecord> = from([request(() => calls.push('handler'))]);
      const done = lastValueFrom(records$.pipe(handle({ scheduler: asapScheduler }), toArray()));
      calls.push('after subscribe');
      await done;
      expect(calls).toEqual(['after subscribe', 'handler']);
    });
  });
});
