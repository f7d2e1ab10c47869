import { connect as netConnect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { matrix, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

describe.each(matrix())('vscode-jsonrpc over Content-Length framing (%s, %s)', (transport, kind) => {
  async function open(handlers = {}): Promise<{ connection: MessageConnection; socket: Socket }> {
    const { address } = await startServer(transport, kind, { handlers: { ...demoHandlers, ...handlers } });
    const socket = netConnect(address as never);
    await new Promise((resolve) => socket.once('connect', resolve));
    const connection = createMessageConnection(new StreamMessageReader(socket), new StreamMessageWriter(socket));
    connection.listen();
    return { connection, socket };
  }

  it('sends requests and gets their results', async () => {
    const { connection, socket } = await open();
    // vscode-jsonrpc sends several arguments as the params array.
    const results = await Promise.all([
      connection.sendRequest('sum', 1, 2, 3),
      connection.sendRequest('echo', 'hi'),
      connection.sendRequest('ping'),
    ]);
    expect(results).toEqual([6, 'hi', 'pong']);
    connection.dispose();
    socket.destroy();
  });

  it('gets error replies as ResponseError with the JSON-RPC code', async () => {
    const { connection, socket } = await open();
    const error = await connection.sendRequest('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError<unknown>).code).toBe(-32601);
    connection.dispose();
    socket.destroy();
  });

  it('sends notifications, which run without an answer', async () => {
    const seen: unknown[] = [];
    const { connection, socket } = await open({ note: (params: unknown) => void seen.push(params) });
    await connection.sendNotification('note', { text: 'hello' });
    await until(() => seen.length === 1, 'the notification to run');
    expect(seen).toEqual([{ text: 'hello' }]);
    connection.dispose();
    socket.destroy();
  });

  it("cancels a request with a CancellationToken ($/cancelRequest), aborting the handler's signal", async () => {
    let aborted = false;
    const hang = (_p: unknown, ctx: HandlerContext) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = true)));
    const { connection, socket } = await open({ hang });
    const source = new CancellationTokenSource();
    const pending = connection.sendRequest('hang', source.token).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    source.cancel();
    const error = await pending;
    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError<unknown>).code).toBe(-32800);
    await until(() => aborted, 'the handler to be aborted');
    connection.dispose();
    socket.destroy();
  });

  it("receives the server's notifications through onNotification, in order, before the answer (PROTOCOL.md 6)", async () => {
    const { connection, socket } = await open();
    const seen: unknown[] = [];
    connection.onNotification('countdown', (params: unknown) => void seen.push(params));
    const done = await connection.sendRequest('countdown', 3);
    expect(done).toBe('done');
    // vscode-jsonrpc spreads a params array into the handler's arguments.
    expect(seen).toEqual([2, 1, 0]);
    connection.dispose();
    socket.destroy();
  });

  it("answers the server's requests through onRequest: results and ResponseErrors (PROTOCOL.md 6)", async () => {
    const { connection, socket } = await open();
    connection.onRequest('workspace/configuration', (params: unknown) => ({ asked: params, tabSize: 2 }));
    connection.onRequest('window/showMessageRequest', () => new ResponseError(-32001, 'the user said no'));
    expect(await connection.sendRequest('ask', 'workspace/configuration', { items: [{ section: 'editor' }] })).toEqual({
      asked: { items: [{ section: 'editor' }] },
      tabSize: 2,
    });
    const refused = await connection.sendRequest('ask', 'window/showMessageRequest').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ResponseError);
    expect((refused as ResponseError<unknown>).code).toBe(-32001);
    expect((refused as ResponseError<unknown>).message).toBe('the user said no');
    connection.dispose();
    socket.destroy();
  });

  it("is told with $/cancelRequest when the server gives up its request, and its handler's token fires", async () => {
    let cancelled = false;
    const give = (_p: unknown, ctx: HandlerContext) => ctx.request('slow', { why: 'test' }, { timeoutMs: 100 }).catch(() => 'gave up');
    const { connection, socket } = await open({ give });
    connection.onRequest(
      'slow',
      (_params: unknown, token) =>
        new Promise((resolve) =>
          token.onCancellationRequested(() => {
            cancelled = true;
            resolve('late');
          }),
        ),
    );
    expect(await connection.sendRequest('give')).toBe('gave up');
    await until(() => cancelled, "the client's token to fire");
    connection.dispose();
    socket.destroy();
  });
});
