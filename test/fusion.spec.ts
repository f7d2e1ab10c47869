import fc from 'fast-check';
import { asapScheduler, from, map, Observable, type OperatorFunction, pipe, Subject, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { backpressure } from '../operators/backpressure.js';
import { decodeJsonRpc } from '../operators/decodeJsonRpc.js';
import { detectProtocol } from '../operators/detectProtocol.js';
import { encodeJsonRpc } from '../operators/encodeJsonRpc.js';
import { handle } from '../operators/handle.js';
import { fusable, specsOf, stage } from '../operators/internal/fusion.js';
import { jsonFrames } from '../operators/jsonFrames.js';
import { route } from '../operators/route.js';
import type { Handlers, PipelineRecord } from '../src/core/records.js';
import { bytes, dataRecord, endRecord, testConnection } from '../src/testing/index.js';

type Op = OperatorFunction<PipelineRecord, PipelineRecord>;

/** A user's own operator: RxJS's map, which ends a fused chain. */
const userStage: Op = map((r: PipelineRecord) => r);

const handlers: Handlers = {
  echo: (p: unknown) => p,
  later: (p: unknown) => Promise.resolve(p),
  fail: () => {
    throw new Error('no');
  },
};

/** The operators applied in order, as `pipe` would. */
function chainOf(ops: Op[]): Op {
  return (source) => ops.reduce((acc, op) => op(acc), source);
}

function run(records: PipelineRecord[], operator: Op): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(records)
    .pipe(operator, toArray())
    .subscribe((all) => (out = all));
  return out;
}

/** What a record says, without its connection (records of two runs hold different views). */
function shape(r: PipelineRecord): unknown {
  if (r.type === 'out') return { type: 'out', text: Buffer.from(r.bytes).toString('utf8'), close: r.close };
  const { connection: _connection, ...rest } = r as PipelineRecord & { handler?: unknown };
  return { ...rest, handler: undefined };
}

describe('operator fusion', () => {
  it('subscribes the source once for a whole chain of ringwire operators', () => {
    let subscriptions = 0;
    const source = new Observable<PipelineRecord>((subscriber) => {
      subscriptions++;
      subscriber.complete();
    });
    source.pipe(detectProtocol(), jsonFrames(), decodeJsonRpc(), route(handlers), handle(), encodeJsonRpc()).subscribe();
    expect(subscriptions).toBe(1);
  });

  it('gives the same records with a user stage between any two operators as without', () => {
    const conn = testConnection();
    const text = '{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}\n[{"jsonrpc":"2.0","id":2,"method":"fail"}]{"x":\n1}\n{bad}\n';
    const input = [...[text.slice(0, 30), text.slice(30, 70), text.slice(70)].map((t) => dataRecord(conn, bytes(t))), endRecord(conn)];
    const stages: Op[] = [detectProtocol(), jsonFrames(), decodeJsonRpc(), route(handlers), handle(), encodeJsonRpc()];
    const fused = run(input, chainOf(stages));
    for (let at = 1; at < stages.length; at++) {
      const split = [...stages.slice(0, at), userStage, ...stages.slice(at)];
      expect(run(input, chainOf(split)).map(shape)).toEqual(fused.map(shape));
    }
    expect(fused.filter((r) => r.type === 'out')).toHaveLength(4);
  });

  it('keeps the marble semantics of each operator: errors, completion and early unsubscribe', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const conn = testConnection();
      const d = dataRecord(conn, bytes('{"jsonrpc":"2.0","id":1,"method":"echo","params":[7]}\n'));
      const ok = cold('-d-|', { d });
      const failing = cold('-d-#', { d }, new Error('source'));
      const chain = pipe(detectProtocol(), jsonFrames(), decodeJsonRpc(), route(handlers), handle(), encodeJsonRpc(), map(shape));
      const answer = { type: 'out', text: '{"jsonrpc":"2.0","id":1,"result":[7]}\n', close: undefined };
      expectObservable(ok.pipe(chain)).toBe('-a-|', { a: answer });
      expectObservable(failing.pipe(chain)).toBe('-a-#', { a: answer }, new Error('source'));
      expectSubscriptions(ok.subscriptions).toBe('^--!');
      const open = hot('-d--d-', { d });
      expectObservable(open.pipe(chain), '^--!').toBe('-a--', { a: answer });
      expectSubscriptions(open.subscriptions).toBe('^--!');
    });
  });

  it('turns a throw inside any stage into the output error, never into the producer', () => {
    const input = new Subject<PipelineRecord>();
    const errors: unknown[] = [];
    const boom = fusable({
      create: (out) =>
        stage(out, () => {
          throw new Error('stage bug');
        }),
    });
    input.pipe(detectProtocol(), boom, jsonFrames()).subscribe({ error: (e: unknown) => errors.push(e) });
    expect(() => input.next({ type: 'open', connection: testConnection() })).not.toThrow();
    expect(errors.map((e) => (e as Error).message)).toEqual(['stage bug']);
    expect(input.observed).toBe(false);
  });

  it('turns a throw downstream of an answer made later (a promise) into the output error', async () => {
    const conn = testConnection();
    const errors: unknown[] = [];
    const explode = fusable({
      create: (out) =>
        stage(out, (r) => {
          if (r.type === 'out') throw new Error('encoder bug');
          out.next(r);
        }),
    });
    const input = new Subject<PipelineRecord>();
    input
      .pipe(detectProtocol(), jsonFrames(), decodeJsonRpc(), route(handlers), handle(), encodeJsonRpc(), explode)
      .subscribe({ error: (e: unknown) => errors.push(e) });
    input.next(dataRecord(conn, bytes('{"jsonrpc":"2.0","id":1,"method":"later","params":[1]}\n')));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors.map((e) => (e as Error).message)).toEqual(['encoder bug']);
  });

  it('disposes every stage on unsubscribe: a handler scheduled for later never runs', async () => {
    let ran = 0;
    const input = new Subject<PipelineRecord>();
    const subscription = input
      .pipe(detectProtocol(), jsonFrames(), decodeJsonRpc(), route({ m: () => ran++ }), handle({ scheduler: asapScheduler }))
      .subscribe();
    input.next(dataRecord(testConnection(), bytes('{"jsonrpc":"2.0","id":1,"method":"m"}\n')));
    subscription.unsubscribe();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ran).toBe(0);
  });

  it('finds the stages inside an operator made only of ringwire operators, and none in any other', () => {
    expect(specsOf(pipe(route(handlers), handle()))).toHaveLength(1); // route fuses into handle
    expect(specsOf(pipe(decodeJsonRpc(), route(handlers)))).toHaveLength(2);
    expect(specsOf(userStage)).toBeUndefined();
    expect(specsOf(pipe(route(handlers), userStage, handle()))).toBeUndefined();
  });

  it('is no thenable: awaiting a fused Observable does not subscribe it', async () => {
    const fused = from([] as PipelineRecord[]).pipe(route(handlers));
    expect('then' in fused).toBe(false);
    expect(await Promise.resolve(fused)).toBe(fused);
  });

  it('route() fused with handle() answers as the two do apart (property)', () => {
    const conn = testConnection();
    const method = fc.constantFrom('echo', 'later', 'fail', 'missing', 'toString', '__proto__');
    fc.assert(
      fc.property(fc.array(fc.record({ method, id: fc.option(fc.nat(5), { nil: undefined }) }), { maxLength: 12 }), (calls) => {
        const records: PipelineRecord[] = calls.map(({ method, id }) => ({
          type: 'request',
          connection: conn,
          protocol: 'jsonrpc',
          id: id ?? null,
          notification: id === undefined,
          method,
          params: [id],
          batch: undefined,
        }));
        const fused = run(records, backpressure(pipe(route(handlers), handle())));
        const apart = run(records, backpressure(pipe(route(handlers), userStage, handle())));
        expect(fused.map(shape)).toEqual(apart.map(shape));
      }),
      { numRuns: 300 },
    );
  });
});
