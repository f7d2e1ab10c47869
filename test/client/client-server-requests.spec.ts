/**
 * The client answers the server's requests (PROTOCOL.md 6) in every framing:
 * with the handler's result, an RpcError's code/message/data, -32603 for anything
 * else thrown, -32601 for a method without a handler; a cancel from the server
 * aborts the handler's signal and nothing is written for it; nothing is written
 * after the connection closes. A fake server (test/fixtures/fakeServer.ts) plays
 * the server's side byte by byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { ConnectionClosedError, RemoteError, RpcError } from '../../src/core/errors.js';
import { closeFakeServers, type FakeServer, fakeServer, type Received, WIRES, type Wire } from '../fixtures/fakeServer.js';
import { removeTempDirs } from '../helpers/socketPath.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const clients: RpcClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  closeFakeServers();
  removeTempDirs();
});

/** Bytes as a spec failure should show them: text for JSON-RPC, hex for MCP1. */
function shown(wire: Wire, bytes: Buffer): string {
  return wire.options.protocol === 'mcp1' ? bytes.toString('hex') : bytes.toString('utf8');
}

/** What PROTOCOL.md shows a response as, byte for byte (sections 2.1, 2.3, 3.1, 3.4), for `echo ["hi"]` and a method not found. */
const LITERAL: Record<string, { ok: string; notFound: string }> = {
  jsonrpc: {
    ok: '{"jsonrpc":"2.0","id":"s1","result":"hi"}\n',
    notFound: '{"jsonrpc":"2.0","id":"s2","error":{"code":-32601,"message":"Method not found"}}\n',
  },
  lsp: {
    ok: 'Content-Length: 41\r\n\r\n{"jsonrpc":"2.0","id":"s1","result":"hi"}',
    notFound: 'Content-Length: 80\r\n\r\n{"jsonrpc":"2.0","id":"s2","error":{"code":-32601,"message":"Method not found"}}',
  },
  mcp1: {
    ok: '4d435031 02 00 0000 00000001 00000003 a26869',
    notFound: '4d435031 03 00 0000 00000002 00000022 82 a4636f6465 d180a7 a76d657373616765 b04d6574686f64206e6f7420666f756e64',
  },
  'mcp1 json': {
    ok: '4d435031 02 01 0000 00000001 00000004 22686922',
    notFound: '4d435031 03 01 0000 00000002 0000002c' + Buffer.from('{"code":-32601,"message":"Method not found"}').toString('hex'),
  },
};

describe.each(WIRES)('the client answers server requests ($name)', (wire) => {
  const id = (n: number) => wire.serverId(n);

  async function open(react?: (message: Received, server: FakeServer) => void): Promise<{ server: FakeServer; client: RpcClient }> {
    const server = await fakeServer(wire, react);
    const client = await connect(`unix:${server.path}`, wire.options);
    clients.push(client);
    return { server, client };
  }

  /** Sends the server's request and takes the client's answer. */
  async function ask(server: FakeServer, n: number, method: string, params?: unknown): Promise<Received> {
    await server.send(wire.request(id(n), method, params));
    return server.take();
  }

  it('writes the bytes PROTOCOL.md shows for a result and for an error', async () => {
    const { server, client } = await open();
    client.onRequest('echo', (params) => (params as unknown[])[0]);
    const literal = LITERAL[wire.name]!;
    const expected = (text: string) => (wire.options.protocol === 'mcp1' ? text.replaceAll(' ', '') : text);
    expect(shown(wire, (await ask(server, 1, 'echo', ['hi'])).bytes)).toBe(expected(literal.ok));
    expect(shown(wire, (await ask(server, 2, 'nope')).bytes)).toBe(expected(literal.notFound));
  });

  it("answers with the handler's result, returned or resolved, each with its request's id", async () => {
    const { server, client } = await open();
    client.onRequest('add', (params) => (params as number[]).reduce((a, b) => a + b, 0));
    client.onRequest('later', async (params) => {
      await sleep(10);
      return { got: params };
    });
    client.onRequest('nothing', () => undefined);
    for (const [n, method, params, result] of [
      [1, 'add', [2, 3], 5],
      [2, 'later', { x: 'é' }, { got: { x: 'é' } }],
      [3, 'nothing', undefined, null],
    ] as const) {
      const answer = await ask(server, n, method, params);
      expect(shown(wire, answer.bytes)).toBe(shown(wire, wire.result(id(n), result)));
    }
  });

  it('answers an RpcError with its code, message and data, and anything else thrown with -32603 and no detail', async () => {
    const { server, client } = await open();
    client.onRequest('refuse', () => {
      throw new RpcError(-32602, 'Invalid params', { expected: ['numbers'] });
    });
    client.onRequest('reject', () => Promise.reject(new RpcError(4001, 'User rejected')));
    client.onRequest('crash', () => {
      throw new Error('a secret stack trace');
    });
    client.onRequest('crashLater', async () => Promise.reject('not even an Error'));
    client.onRequest('cyclic', () => {
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    });
    const cases: Array<[string, object]> = [
      ['refuse', { code: -32602, message: 'Invalid params', data: { expected: ['numbers'] } }],
      ['reject', { code: 4001, message: 'User rejected' }],
      ['crash', { code: -32603, message: 'Internal error' }],
      ['crashLater', { code: -32603, message: 'Internal error' }],
      // A result that cannot be written is answered as the server answers one (PROTOCOL.md 2.2).
      ['cyclic', { code: -32603, message: 'Internal error' }],
    ];
    let n = 0;
    for (const [method, error] of cases) {
      const answer = await ask(server, ++n, method);
      expect(answer.error).toEqual(error);
      expect(shown(wire, answer.bytes)).toBe(shown(wire, wire.error(id(n), error as { code: number; message: string })));
    }
  });

  it('answers a method without a handler -32601, and a request it cannot read as a server would', async () => {
    const { server } = await open();
    const answer = await ask(server, 1, 'nope', [1]);
    expect(answer).toMatchObject({ id: id(1), error: { code: -32601, message: 'Method not found' } });
    const unreadable = wire.unreadableRequest(id(2));
    await server.send(unreadable.bytes);
    expect(await server.take()).toMatchObject({ id: id(2), error: { code: unreadable.code } });
  });

  it('answers a second request with an id still running -32600, as a server answers one (PROTOCOL.md 3.4), and the first one still', async () => {
    const { server, client } = await open();
    let release: (value: unknown) => void = () => {};
    client.onRequest('slow', () => new Promise((resolve) => (release = resolve)));
    await server.send(wire.request(id(1), 'slow'), wire.request(id(1), 'slow'));
    expect(await server.take()).toMatchObject({
      id: id(1),
      error: { code: -32600, message: 'Invalid Request', data: `id ${JSON.stringify(id(1))} is already in flight on this connection` },
    });
    release('first');
    expect(await server.take()).toMatchObject({ id: id(1), result: 'first' });
  });

  it("a cancel from the server aborts the handler's signal, and its answer is never written", async () => {
    const { server, client } = await open();
    const notified: unknown[] = [];
    client.notifications$.subscribe((n) => notified.push(n));
    let signal: AbortSignal | undefined;
    client.onRequest('slow', (_params, ctx) => {
      signal = ctx.signal;
      // Settles the moment it is cancelled: the answer it makes must still be dropped.
      return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('too late')));
    });
    client.onRequest('ping', () => 'pong');
    await server.send(wire.request(id(1), 'slow'));
    await waitUntil(() => signal !== undefined, 'the handler to start');
    expect(signal!.aborted).toBe(false);
    await server.send(wire.cancel(id(1)));
    await waitUntil(() => signal!.aborted, "the handler's signal to abort");
    expect(signal!.reason).toBeInstanceOf(RemoteError);
    expect(signal!.reason).toMatchObject({ code: -32800, message: 'Request cancelled' });
    // A cancel for an id nobody is running is ignored, as a server ignores one.
    await server.send(wire.cancel(id(99)));
    expect(await ask(server, 2, 'ping')).toMatchObject({ id: id(2), result: 'pong' });
    await sleep(20);
    expect(server.received.map((m) => m.id)).toEqual([id(2)]);
    // The cancel is the framing's business, not a notification for the application.
    expect(notified).toEqual([]);
  });

  it("answers a server request that arrives with a response to the client's call, in one write (a batch on JSON-RPC)", async () => {
    const { server, client } = await open();
    client.onRequest('add', (params) => (params as number[]).reduce((a, b) => a + b, 0));
    const notes: unknown[] = [];
    client.onNotification('note', (params) => notes.push(params));
    const answer = client.call('question', [1]);
    const call = await server.take();
    expect(call).toMatchObject({ method: 'question', params: [1] });
    const messages = [wire.result(call.id!, 'answer'), wire.request(id(1), 'add', [1, 2]), wire.notification('note', ['n'])];
    await server.send(wire.batch ? wire.batch(...messages) : Buffer.concat(messages));
    expect(await answer).toBe('answer');
    expect(notes).toEqual([['n']]);
    // Answered alone (PROTOCOL.md 6.1 allows either), so no slow member holds back another.
    expect(shown(wire, (await server.take()).bytes)).toBe(shown(wire, wire.result(id(1), 3)));
  });

  it('writes nothing after the client closes: running handlers abort, late answers are dropped', async () => {
    const { server, client } = await open();
    const signals: AbortSignal[] = [];
    let release: (value: unknown) => void = () => {};
    client.onRequest('slow', (_params, ctx) => {
      signals.push(ctx.signal);
      return new Promise((resolve) => (release = resolve));
    });
    client.onRequest('never', (_params, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    });
    let completed = false;
    client.notifications$.subscribe({ complete: () => (completed = true) });
    await server.send(wire.request(id(1), 'slow'), wire.request(id(2), 'never'));
    await waitUntil(() => signals.length === 2, 'both handlers to start');
    await client.close();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    expect(signals[0]!.reason).toBeInstanceOf(ConnectionClosedError);
    release('late');
    await sleep(20);
    expect(server.received).toEqual([]);
    expect(server.ended).toBe(true);
    expect(completed).toBe(true);
  });

  it('aborts running handlers when the server hangs up, and answers nothing after', async () => {
    const { server, client } = await open();
    let signal: AbortSignal | undefined;
    client.onRequest('slow', async (_params, ctx) => {
      signal = ctx.signal;
      await sleep(30);
      return 'late';
    });
    await server.send(wire.request(id(1), 'slow'));
    await waitUntil(() => signal !== undefined, 'the handler to start');
    server.hangUp();
    await waitUntil(() => client.closed, 'the client to see the close');
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(ConnectionClosedError);
    await sleep(50); // past the handler's end: its answer goes nowhere, and nothing throws
    expect(server.received).toEqual([]);
  });

  it('removes a handler with the function onRequest returned, and only that handler', async () => {
    const { server, client } = await open();
    const stop = client.onRequest('m', () => 'first');
    expect(await ask(server, 1, 'm')).toMatchObject({ result: 'first' });
    stop();
    expect(await ask(server, 2, 'm')).toMatchObject({ error: { code: -32601 } });
    const stopOld = client.onRequest('m', () => 'old');
    client.onRequest('m', () => 'new');
    stopOld(); // replaced already: it must not remove the new one
    expect(await ask(server, 3, 'm')).toMatchObject({ result: 'new' });
  });
});
