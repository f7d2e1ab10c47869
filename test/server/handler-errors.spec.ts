/**
 * A handler that fails unexpectedly is answered -32603 "Internal error" with no
 * detail on the wire, and reported to `onError` as one HandlerError (method, the
 * original error as `cause`). An RpcError is an answer, not a failure; a
 * cancelled request is not a failure either. Inline and in worker threads, over
 * JSON-RPC and MCP1.
 */
import { fileURLToPath } from 'node:url';
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { HandlerError, RpcError } from '../../src/core/errors.js';
import type { Handlers } from '../../src/core/records.js';
import { ErrorCode } from '../../src/core/wire/jsonrpc.js';
import { sleep } from '../../src/handlers/demo.js';
import { delay, matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { frame, readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

const handlersModule = fileURLToPath(new URL('../fixtures/workerHandlers.mjs', import.meta.url));
const INTERNAL = { code: -32603, message: 'Internal error' };
const SECRET = 'the password is hunter2';

const secret = new Error(SECRET);
const handlers: Handlers = {
  throws: () => {
    throw secret;
  },
  rejects: async () => Promise.reject(secret),
  streamErrors: () =>
    new Observable((subscriber) => {
      subscriber.next(1);
      subscriber.error(secret);
    }),
  big: () => 2n ** 70n,
  onPurpose: () => {
    throw new RpcError(ErrorCode.InternalError, 'Internal error', 'deliberate');
  },
  invalid: () => {
    throw new RpcError(ErrorCode.InvalidParams, 'Invalid params');
  },
  ok: () => 'fine',
  sleep,
};

const call = (id: number, method: string, params?: unknown): string =>
  JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }) + '\n';

/** The HandlerErrors reported, as [method, message, cause]; fails on anything else reported. */
function handlerErrors(reported: unknown[]): Array<[string, string, unknown]> {
  return reported.map((e) => {
    if (!(e instanceof HandlerError)) throw new Error(`onError got something other than a HandlerError: ${String(e)}`);
    expect(e.code).toBe('RINGWIRE_HANDLER_FAILED');
    expect(e.rpcCode).toBe(-32603);
    return [e.method, e.message, e.cause];
  });
}

describe.each(matrix())('handler failures reach onError (%s, %s)', (transport, kind) => {
  it('over JSON-RPC: one HandlerError per failure, and nothing of it on the wire', async () => {
    const reported: unknown[] = [];
    const { address } = await startServer(transport, kind, { handlers, onError: (e) => reported.push(e) });
    const c = await rawClient(address);
    const methods = ['throws', 'rejects', 'streamErrors', 'big', 'onPurpose', 'invalid', 'ok'];
    await c.send(methods.map((m, i) => call(i + 1, m)).join(''));
    const answers = new Map(((await readLines(c, methods.length)) as Array<{ id: number; error?: unknown }>).map((a) => [a.id, a]));
    for (const id of [1, 2, 3, 4]) expect(answers.get(id)).toEqual({ jsonrpc: '2.0', id, error: INTERNAL });
    expect(answers.get(5)).toEqual({ jsonrpc: '2.0', id: 5, error: { ...INTERNAL, data: 'deliberate' } });
    expect(c.text()).not.toMatch(/hunter2|stack|at .*\.ts/);

    await until(() => reported.length >= 4, 'four reports');
    await delay(20); // and no more
    const got = handlerErrors(reported).sort(([a], [b]) => a.localeCompare(b));
    expect(got.map(([method]) => method)).toEqual(['big', 'rejects', 'streamErrors', 'throws']);
    for (const [method, message, cause] of got) {
      if (method === 'big') {
        expect(message).toMatch(/^handler big failed: .*BigInt/);
        expect(cause).toBeInstanceOf(TypeError);
      } else {
        expect(message).toBe(`handler ${method} failed: ${SECRET}`);
        expect(cause).toBe(secret);
      }
    }
  });

  it('over MCP1: one HandlerError per failure, a stream that errors included; not for a cancelled request', async () => {
    const reported: unknown[] = [];
    const { address } = await startServer(transport, kind, { handlers, onError: (e) => reported.push(e) });
    const c = await rawClient(address);
    await c.send(Buffer.concat([request(1, 'throws'), request(2, 'streamErrors'), request(3, 'big'), request(4, 'invalid')]));
    await c.send(request(5, 'sleep', [10_000]));
    await delay(30);
    await c.send(frame({ type: 7, id: 5 }));
    const frames = await readFrames(c, 6);
    const errors = new Map(frames.filter((f) => f.type === 3).map((f) => [f.id, f.value]));
    expect(errors.get(1)).toEqual(INTERNAL);
    expect(errors.get(2)).toEqual(INTERNAL);
    expect(errors.get(3)).toEqual(INTERNAL);
    expect(errors.get(4)).toEqual({ code: -32602, message: 'Invalid params' });
    expect(errors.get(5)).toEqual({ code: -32800, message: 'Request cancelled' });
    expect(c.bytes().toString('latin1')).not.toMatch(/hunter2|stack/);

    await until(() => reported.length >= 3, 'three reports');
    await delay(20);
    expect(
      handlerErrors(reported)
        .map(([method]) => method)
        .sort(),
    ).toEqual(['big', 'streamErrors', 'throws']);
  });
});

describe.each(matrix())('worker handler failures reach onError (%s, %s)', (transport, kind) => {
  const start = (reported: unknown[]) => startServer(transport, kind, { handlersModule, workers: 2, onError: (e) => reported.push(e) });

  it('over JSON-RPC: a throw and a dead worker are reported; an RpcError and a cancel are not', async () => {
    const reported: unknown[] = [];
    const { address } = await start(reported);
    const c = await rawClient(address);
    await c.send(call(1, 'secret') + call(2, 'invalid') + call(3, 'exit') + call(4, 'square', [3]));
    const answers = new Map(((await readLines(c, 4, 10_000)) as Array<{ id: number }>).map((a) => [a.id, a]));
    expect(answers.get(1)).toEqual({ jsonrpc: '2.0', id: 1, error: INTERNAL });
    expect(answers.get(2)).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32602, message: 'Invalid params', data: { expected: 'a number' } },
    });
    expect(answers.get(3)).toEqual({ jsonrpc: '2.0', id: 3, error: INTERNAL });
    expect(answers.get(4)).toEqual({ jsonrpc: '2.0', id: 4, result: 9 });
    expect(c.text()).not.toMatch(/hunter2/);

    await until(() => reported.length >= 2, 'two reports', 10_000);
    await delay(20);
    const got = handlerErrors(reported).sort(([a], [b]) => a.localeCompare(b));
    expect(got.map(([method]) => method)).toEqual(['exit', 'secret']);
    for (const [method, message] of got) expect(message).toMatch(new RegExp(`^handler ${method} failed: .+`));
    // The worker's own words reach the report (never the wire): the thrown message, its stack.
    const secret = reported.find((e): e is HandlerError => e instanceof HandlerError && e.method === 'secret')!;
    expect(secret.message).toContain('hunter2');
    expect((secret.cause as Error).stack).toMatch(/workerHandlers\.mjs/);
  });

  it('over MCP1: a throw is reported; a cancelled request is not', async () => {
    const reported: unknown[] = [];
    const { address } = await start(reported);
    const c = await rawClient(address);
    await c.send(Buffer.concat([request(1, 'secret'), request(2, 'slow', [10_000])]));
    await delay(100);
    await c.send(frame({ type: 7, id: 2 }));
    const frames = await readFrames(c, 2, 10_000);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)).toMatchObject({ type: 3, value: INTERNAL });
    expect(byId.get(2)).toMatchObject({ type: 3, value: { code: -32800 } });

    await until(() => reported.length >= 1, 'a report', 10_000);
    await delay(50); // the cancelled handler's rejection has come back by now
    expect(handlerErrors(reported).map(([method]) => method)).toEqual(['secret']);
  });
});
