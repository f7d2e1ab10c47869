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
});
