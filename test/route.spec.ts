import { from, Subject, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { route } from '../operators/route.js';
import type { Batch, Handler, Handlers, PipelineRecord, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();
const echo: Handler = (params) => params;

function request(method: string, extra: Partial<RequestRecord> = {}): RequestRecord {
  return { type: 'request', connection: conn, protocol: 'jsonrpc', id: 1, notification: false, method, params: [], ...extra };
}

function routeAll(handlers: Handlers, records: PipelineRecord[]): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(records)
    .pipe(route(handlers), toArray())
    .subscribe((all) => (out = all));
  return out;
}

const notFound = (id: ReplyRecord['id'], extra: Partial<ReplyRecord> = {}): ReplyRecord => ({
  type: 'reply',
  connection: conn,
  protocol: 'jsonrpc',
  id,
  kind: 'error',
  error: { code: -32601, message: 'Method not found' },
  final: true,
  ...extra,
});

describe('route()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    const values = {
      a: request('echo'),
      b: request('nope', { id: 2 }),
      o: { type: 'open', connection: conn } as PipelineRecord,
    };
    const routed = { A: { ...values.a, handler: echo }, x: notFound(2), o: values.o };

    it('sets handlers, answers unknown methods, and passes other records through in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-o-a-b-|', values);
        expectObservable(source.pipe(route({ echo }))).toBe('-o-A-x-|', routed);
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('propagates the source error', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-#', values);
        expectObservable(source.pipe(route({ echo }))).toBe('-A-#', routed);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when unsubscribed early', () => {
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-a-|', values);
        expectObservable(source.pipe(route({ echo })), '^----!').toBe('-A-x-', routed);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(route({ echo }))).toBe('|');
        expectObservable(never.pipe(route({ echo }))).toBe('-');
        expectObservable(thrown.pipe(route({ echo }))).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });
  });

  it('answers an unknown notification with a silent final reply', () => {
    expect(routeAll({ echo }, [request('nope', { id: null, notification: true })])).toEqual([
      { ...notFound(null), kind: 'result', error: undefined, silent: true },
    ]);
  });

  it('never takes inherited names for handlers', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
    const out = routeAll(
      { echo },
      names.map((name, i) => request(name, { id: i })),
    );
    expect(out).toEqual(names.map((_, i) => notFound(i)));
  });

  it('ignores own properties that are not functions', () => {
    const handlers = { answer: 42 } as unknown as Handlers;
    expect(routeAll(handlers, [request('answer')])).toEqual([notFound(1)]);
  });

  it('works with a handlers object without a prototype', () => {
    const handlers: Handlers = Object.assign(Object.create(null) as Record<string, Handler>, { echo });
    expect(routeAll(handlers, [request('echo'), request('toString')])).toEqual([{ ...request('echo'), handler: echo }, notFound(1)]);
  });

  it('carries id, protocol, batch and json into its replies', () => {
    const batch: Batch = { pending: 1, replies: [] };
    const out = routeAll({}, [
      request('x', { id: 'abc', protocol: 'lsp', batch }),
      request('y', { id: 9, protocol: 'mcp1', json: true }),
    ]) as ReplyRecord[];
    expect(out[0]).toEqual(notFound('abc', { protocol: 'lsp', batch }));
    expect(out[0]!.batch).toBe(batch);
    expect(out[1]).toEqual(notFound(9, { protocol: 'mcp1', json: true }));
  });

  it('leaves a request that already has a handler as it is', () => {
    const other: Handler = () => 1;
    const routed = { ...request('nope'), handler: other };
    expect(routeAll({ echo }, [routed])[0]).toBe(routed);
  });

  it('sees a handler replaced, removed or added after it was found', () => {
    // route() remembers the last method it found; the handlers object still decides.
    const handlers: Record<string, Handler> = { echo };
    const input = new Subject<PipelineRecord>();
    const out: PipelineRecord[] = [];
    input.pipe(route(handlers)).subscribe((r) => out.push(r));
    input.next(request('echo'));
    const other: Handler = () => 2;
    handlers.echo = other;
    input.next(request('echo'));
    delete handlers.echo;
    input.next(request('echo', { id: 3 }));
    handlers.echo = echo;
    input.next(request('echo'));
    Object.setPrototypeOf(handlers, { echo });
    delete handlers.echo;
    input.next(request('echo', { id: 5 }));
    expect(out.map((r) => (r.type === 'request' ? r.handler : r.type === 'reply' ? r.error?.code : r))).toEqual([
      echo,
      other,
      -32601,
      echo,
      -32601,
    ]);
  });
});
