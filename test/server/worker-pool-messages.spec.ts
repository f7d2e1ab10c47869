/**
 * Handlers in the worker pool notify and ask their callers and keep a session, as
 * inline ones do (PROTOCOL.md 6; docs/WORKERS.md "What a worker handler's ctx does"): over
 * real sockets, both transports, every framing where the framing matters.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HandlerError, WriteBackpressureError } from '../../src/core/errors.js';
import { ensureBuilt, ROOT } from '../fixtures/cli.js';
import { delay, matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';
import { answer, call, FRAMINGS, type Framing, readWritten, written } from '../fixtures/wire.js';

useCleanup();

const handlersModule = fileURLToPath(new URL('../fixtures/workerMessages.mjs', import.meta.url));
/** The demo handlers as `ringwire serve --workers` loads them: from the build. */
const demoModule = join(ROOT, 'dist', 'src', 'handlers', 'demo.js');
const isMcp1 = (framing: Framing): boolean => framing.startsWith('mcp1');
/** Where the protocol can tell a client that the server gave a request up (PROTOCOL.md 6.1, 6.2). */
const toldOfGiveUps = (framing: Framing): boolean => framing !== 'jsonrpc';

beforeAll(ensureBuilt, 180_000);

describe.each(matrix())('worker pool messages (%s, %s)', (transport, kind) => {
  const start = (workers = 2, options: object = {}) =>
    startServer(transport, kind, { handlersModule, workers, onError: () => {}, ...options });

  /** Reads the one result of a JSON-RPC request on a fresh connection. */
  async function ask1(address: Parameters<typeof rawClient>[0], method: string, params?: unknown): Promise<unknown> {
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, method, params));
    const [got] = await readWritten('jsonrpc', client, 1);
    client.socket.destroy();
    return (got as { result: unknown }).result;
  }

  describe.each(FRAMINGS)('over %s', (framing) => {
    it('writes the notifications of a worker handler in order, all before its answer', async () => {
      const { address } = await start();
      const client = await rawClient(address);
      const tick = (n: number) => ({ kind: 'notification', method: 'tick', params: [n] });
      client.socket.write(call(framing, 1, 'ticks', [3]));
      expect(await readWritten(framing, client, 4)).toEqual([tick(0), tick(1), tick(2), { kind: 'result', id: 1, result: 'done' }]);
      // Notified between turns of the worker's event loop, the same.
      client.socket.write(call(framing, 2, 'slowTicks', [2]));
      expect((await readWritten(framing, client, 7)).slice(4)).toEqual([tick(0), tick(1), { kind: 'result', id: 2, result: 'done' }]);
    });

    it("gives a worker's request the client's result, and its error with code, message and data", async () => {
      const { address } = await start();
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'ask', ['config', { section: 'a' }]));
      const [asked] = await readWritten(framing, client, 1);
      expect(asked).toMatchObject({ kind: 'request', method: 'config', params: { section: 'a' } });
      const id = (asked as { id: string | number }).id;
      expect(typeof id).toBe(isMcp1(framing) ? 'number' : 'string');
      client.socket.write(answer(framing, id, { result: { tabs: 2 } }));
      expect((await readWritten(framing, client, 2))[1]).toEqual({ kind: 'result', id: 1, result: { tabs: 2 } });

      // Uncaught in the worker, the client's error is the answer, data and all.
      client.socket.write(call(framing, 2, 'ask', ['confirm']));
      const second = (await readWritten(framing, client, 3))[2] as { id: string | number };
      const refused = { code: -32001, message: 'refused', data: { why: 'no' } };
      client.socket.write(answer(framing, second.id, { error: refused }));
      expect((await readWritten(framing, client, 4))[3]).toEqual({ kind: 'error', id: 2, error: refused });

      // What the handler sees: an Error named RpcError with the code, message and data.
      client.socket.write(call(framing, 3, 'inspect', ['confirm']));
      const third = (await readWritten(framing, client, 5))[4] as { id: string | number };
      client.socket.write(answer(framing, third.id, { error: refused }));
      expect((await readWritten(framing, client, 6))[5]).toEqual({
        kind: 'result',
        id: 3,
        result: { rejected: { isError: true, name: 'RpcError', ...refused } },
      });
    });

    it("rejects a worker's request the client does not answer within its timeoutMs", async () => {
      const { address } = await start();
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'inspect', ['slow', undefined, 100]));
      const [asked] = await readWritten(framing, client, 1);
      const id = (asked as { id: string | number }).id;
      const got = await readWritten(framing, client, toldOfGiveUps(framing) ? 3 : 2);
      expect(got.slice(1)).toContainEqual({
        kind: 'result',
        id: 1,
        result: {
          rejected: {
            isError: true,
            name: 'ServerRequestTimeoutError',
            code: 'RINGWIRE_SERVER_REQUEST_TIMEOUT',
            message: 'the client did not answer slow within 100 ms',
          },
        },
      });
      if (toldOfGiveUps(framing)) expect(got.slice(1)).toContainEqual({ kind: 'cancel', id });
    });
  });

  it("honours a worker's own AbortSignal: its request rejects with the reason, the client is told", async () => {
    const { address } = await start();
    const client = await rawClient(address);
    client.socket.write(call('lsp', 1, 'giveUp', [50]));
    const got = await readWritten('lsp', client, 3);
    const id = (got[0] as { id: string }).id;
    expect(got.slice(1)).toContainEqual({ kind: 'cancel', id });
    expect(got.slice(1)).toContainEqual({
      kind: 'result',
      id: 1,
      result: { rejected: { isError: true, name: 'Error', message: 'changed my mind' } },
    });
    // The late answer to a request given up is dropped.
    client.socket.write(answer('lsp', id, { result: 1 }));
    client.socket.write(call('lsp', 2, 'where'));
    expect((await readWritten('lsp', client, 4))[3]).toMatchObject({ kind: 'result', id: 2 });
  });

  it('rejects past maxServerRequests at once, nothing sent', async () => {
    const { address } = await start(2, { limits: { maxServerRequests: 1 } });
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'inspect', ['first']));
    await readWritten('jsonrpc', client, 1);
    client.socket.write(call('jsonrpc', 2, 'inspect', ['second']));
    const got = await readWritten('jsonrpc', client, 2);
    expect(got[1]).toEqual({
      kind: 'result',
      id: 2,
      result: {
        rejected: {
          isError: true,
          name: 'TooManyServerRequestsError',
          code: 'RINGWIRE_TOO_MANY_SERVER_REQUESTS',
          message: '1 requests to this client are already waiting for answers',
        },
      },
    });
    expect(written('jsonrpc', client).filter((m) => m.kind === 'request')).toHaveLength(1);
  });

  it("rejects a worker's pending request with ConnectionClosedError when its connection closes", async () => {
    const { address } = await start(1);
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'record'));
    await readWritten('jsonrpc', client, 1);
    client.socket.destroy();
    let seen: unknown = null;
    for (const deadline = Date.now() + 5000; seen === null && Date.now() < deadline; await delay(10)) {
      seen = await ask1(address, 'outcome');
    }
    expect(seen).toEqual({
      rejected: {
        isError: true,
        name: 'ConnectionClosedError',
        code: 'RINGWIRE_CONNECTION_CLOSED',
        message: 'the client finished sending before it answered',
      },
    });
  });

  it('interleaves notifications with the items of a worker stream, in order (MCP1); all before the array (JSON-RPC)', async () => {
    const { address } = await start();
    const m = await rawClient(address);
    await m.send(request(1, 'progress', [2]));
    const frames = await readFrames(m, 5);
    expect(frames.map((f) => [f.type, f.value])).toEqual([
      [4, { method: 'progress', params: [0] }],
      [8, 0],
      [4, { method: 'progress', params: [1] }],
      [8, 1],
      [2, null],
    ]);
    const j = await rawClient(address);
    j.socket.write(call('jsonrpc', 1, 'progress', [2]));
    expect(await readWritten('jsonrpc', j, 3)).toEqual([
      { kind: 'notification', method: 'progress', params: [0] },
      { kind: 'notification', method: 'progress', params: [1] },
      { kind: 'result', id: 1, result: [0, 1] },
    ]);
  });

  it("gives up a worker's requests when its call ends, and refuses what it sends afterwards", async () => {
    const { address } = await start(1);
    const client = await rawClient(address);
    client.socket.write(call('lsp', 1, 'fireAndForget'));
    const got = await readWritten('lsp', client, 3);
    const id = (got[0] as { id: string }).id;
    expect(got[0]).toMatchObject({ kind: 'request', method: 'later' });
    expect(got.slice(1)).toContainEqual({ kind: 'cancel', id });
    expect(got.slice(1)).toContainEqual({ kind: 'result', id: 1, result: 'returned' });
    const ended = {
      isError: true,
      name: 'CallEndedError',
      code: 'RINGWIRE_CALL_ENDED',
      message: 'the call has ended: nothing more is sent for it',
    };
    expect(await ask1(address, 'outcome')).toEqual({ rejected: ended });

    client.socket.write(call('lsp', 2, 'notifyLater'));
    await readWritten('lsp', client, 4);
    expect(await ask1(address, 'outcome')).toEqual({ thrown: ended });
    await delay(20);
    expect(written('lsp', client).filter((m) => m.kind === 'notification')).toEqual([]);
  });

  it("rejects a cancelled worker handler's request as inline: with the cancel's RpcError -32800", async () => {
    const { address } = await start(1);
    const client = await rawClient(address);
    await client.send(request(5, 'record'));
    const [asked] = await readFrames(client, 1);
    expect(asked).toMatchObject({ type: 1, value: { method: 'never' } });
    await client.send(cancelFrame(5));
    const frames = await readFrames(client, 3);
    expect(frames.slice(1).map((f) => [f.type, f.id])).toEqual(
      expect.arrayContaining([
        [3, 5],
        [7, asked!.id],
      ]),
    );
    let seen: unknown = null;
    for (const deadline = Date.now() + 5000; seen === null && Date.now() < deadline; await delay(10)) {
      seen = await ask1(address, 'outcome');
    }
    expect(seen).toEqual({ rejected: { isError: true, name: 'RpcError', code: -32800, message: 'Request cancelled' } });
  });

  it('fails the call with WriteBackpressureError when the main thread refuses a notification; the worker is told', async () => {
    const errors: unknown[] = [];
    const { address, server } = await start(1, { limits: { writeHighWaterBytes: 64 * 1024 }, onError: (e: unknown) => errors.push(e) });
    const client = await rawClient(address);
    client.socket.pause();
    client.socket.write(call('jsonrpc', 1, 'flood'));
    await until(() => errors.length > 0, 'the failure reported');
    expect(errors[0]).toBeInstanceOf(HandlerError);
    expect((errors[0] as HandlerError).cause).toBeInstanceOf(WriteBackpressureError);
    let seen: unknown = null;
    for (const deadline = Date.now() + 5000; !isThrown(seen) && Date.now() < deadline; await delay(10)) {
      seen = await ask1(address, 'outcome');
    }
    const refusal = { isError: true, name: 'WriteBackpressureError', code: 'RINGWIRE_WRITE_BACKPRESSURE' };
    expect(seen).toMatchObject({ thrown: refusal, reason: refusal });
    // What the server holds stays near the high-water mark: the worker's later chunks were dropped.
    // (With io_uring the bytes may all have reached the kernel by now: nothing held at all.)
    for (const connection of server.transport.connections) expect(connection.writableLength).toBeLessThan(64 * 1024 + 17 * 1024 * 16);
    client.socket.resume();
    // Whole lines only: written() cannot parse a line still arriving.
    await until(() => client.text().includes('"id":1,"error"'), 'the answer');
    expect(written('jsonrpc', client).at(-1)).toEqual({ kind: 'error', id: 1, error: { code: -32603, message: 'Internal error' } });
  });

  describe('ctx.session', () => {
    it("is the connection's, whichever worker runs the call: written there, seen by the next call, dropped at close", async () => {
      const { address } = await start(2);
      const a = await rawClient(address);
      const b = await rawClient(address);
      a.socket.write(call('jsonrpc', 1, 'setSession', ['user', { name: 'ann' }]));
      expect((await readWritten('jsonrpc', a, 1))[0]).toEqual({ kind: 'result', id: 1, result: ['user'] });
      // Four calls at once, spread over both workers: each sees the connection's session.
      for (let id = 2; id < 6; id++) a.socket.write(call('jsonrpc', id, 'getSession', ['user']));
      const got = await readWritten('jsonrpc', a, 5);
      for (const m of got.slice(1)) expect(m).toMatchObject({ kind: 'result', result: { name: 'ann' } });
      b.socket.write(call('jsonrpc', 1, 'getSession', ['user']));
      expect((await readWritten('jsonrpc', b, 1))[0]).toEqual({ kind: 'result', id: 1, result: null });
      // A call sees the writes of calls answered before it started.
      a.socket.write(call('jsonrpc', 6, 'deleteSession', ['user']));
      expect((await readWritten('jsonrpc', a, 6))[5]).toEqual({ kind: 'result', id: 6, result: [] });
      a.socket.write(call('jsonrpc', 7, 'getSession', ['user']));
      expect((await readWritten('jsonrpc', a, 7))[6]).toEqual({ kind: 'result', id: 7, result: null });
    });

    it('is a frozen copy in the worker: a change inside a value throws and changes nothing', async () => {
      const { address } = await start(1);
      const c = await rawClient(address);
      c.socket.write(call('jsonrpc', 1, 'setSession', ['list', [1]]));
      await readWritten('jsonrpc', c, 1);
      c.socket.write(call('jsonrpc', 2, 'pushSession', ['list', 2]));
      const [, pushed] = await readWritten('jsonrpc', c, 2);
      expect(pushed).toMatchObject({ kind: 'result', result: { thrown: { isError: true, name: 'TypeError' } } });
      c.socket.write(call('jsonrpc', 3, 'getSession', ['list']));
      expect((await readWritten('jsonrpc', c, 3))[2]).toEqual({ kind: 'result', id: 3, result: [1] });
    });

    it("keeps concurrent calls' writes to different keys; a call sees the session as it was when it started", async () => {
      const { address } = await start(2);
      const c = await rawClient(address);
      c.socket.write(call('jsonrpc', 1, 'holdSession', ['a', 1, 300]));
      await delay(100);
      c.socket.write(call('jsonrpc', 2, 'setSession', ['b', 2]));
      const got = await readWritten('jsonrpc', c, 2);
      // Each call's writes reach the connection's session as it ends: call 1's not yet when call 2 runs.
      expect(got).toContainEqual({ kind: 'result', id: 2, result: ['b'] });
      expect(got).toContainEqual({ kind: 'result', id: 1, result: { a: 1 } });
      c.socket.write(call('jsonrpc', 3, 'getSession', ['a']));
      c.socket.write(call('jsonrpc', 4, 'getSession', ['b']));
      const after = await readWritten('jsonrpc', c, 4);
      expect(after.slice(2)).toEqual(
        expect.arrayContaining([
          { kind: 'result', id: 3, result: 1 },
          { kind: 'result', id: 4, result: 2 },
        ]),
      );
    });
  });

  it("gives a worker handler its listener's name", async () => {
    const { address, listener } = await start(1);
    expect(await ask1(address, 'where')).toEqual({ listener: listener.name, method: 'where', notification: false });
  });

  it('serves the demo countdown and ask from workers, as `ringwire serve --workers` does', async () => {
    const { address } = await startServer(transport, kind, { handlersModule: demoModule, workers: 2, onError: () => {} });
    for (const framing of ['jsonrpc', 'mcp1'] as const) {
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'countdown', [2]));
      expect(await readWritten(framing, client, 3)).toEqual([
        { kind: 'notification', method: 'countdown', params: [1] },
        { kind: 'notification', method: 'countdown', params: [0] },
        { kind: 'result', id: 1, result: 'done' },
      ]);
      client.socket.write(call(framing, 2, 'ask', ['config', { section: 'editor' }]));
      const asked = (await readWritten(framing, client, 4))[3] as { id: string | number };
      expect(asked).toMatchObject({ kind: 'request', method: 'config', params: { section: 'editor' } });
      client.socket.write(answer(framing, asked.id, { result: { tabSize: 2 } }));
      expect((await readWritten(framing, client, 5))[4]).toEqual({ kind: 'result', id: 2, result: { tabSize: 2 } });
      // The caller's error comes back with its code and message (PROTOCOL.md 5), as inline.
      client.socket.write(call(framing, 3, 'ask', ['confirm']));
      const confirm = (await readWritten(framing, client, 6))[5] as { id: string | number };
      client.socket.write(answer(framing, confirm.id, { error: { code: -32001, message: 'refused', data: 'x' } }));
      expect((await readWritten(framing, client, 7))[6]).toEqual({ kind: 'error', id: 3, error: { code: -32001, message: 'refused' } });
    }
  });
});

function isThrown(value: unknown): boolean {
  return value !== null && typeof value === 'object' && 'thrown' in value;
}

function cancelFrame(id: number): Buffer {
  // An MCP1 cancel (type 7) has an empty payload.
  const frame = Buffer.alloc(16);
  frame.write('MCP1', 0, 'latin1');
  frame[4] = 7;
  frame.writeUInt32BE(id, 8);
  return frame;
}
