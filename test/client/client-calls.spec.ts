import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { RemoteError, RpcError } from '../../src/core/errors.js';
import type { HandlerContext } from '../../src/core/records.js';
import { ErrorCode } from '../../src/core/wire/jsonrpc.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { matrix, CLIENT_PROTOCOLS as protocols, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

describe.each(matrix())('client calls (%s, %s)', (transport, kind) => {
  describe.each(protocols)('over %s %j', (protocol, extra) => {
    const clients: RpcClient[] = [];
    async function open(handlers = {}) {
      const { target } = await startServer(transport, kind, { handlers: { ...demoHandlers, ...handlers } });
      const client = await connect(target, { protocol, ...extra });
      clients.push(client);
      return client;
    }

    it('calls methods, pipelined, and pairs each answer by id', async () => {
      const client = await open();
      const answers = await Promise.all([
        client.call('sleep', [40]),
        client.call('echo', ['x']),
        client.call('sum', [1, 2, 3]),
        client.call('ping'),
      ]);
      expect(answers).toEqual([40, 'x', 6, 'pong']);
      await client.close();
    });

    it('rejects with a RemoteError carrying the JSON-RPC code in code, as an RpcError does', async () => {
      const client = await open();
      await expect(client.call('nope')).rejects.toMatchObject({ name: 'RemoteError', code: -32601, message: 'Method not found' });
      const error = await client.call('sum', [1, 'x']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toBeInstanceOf(RpcError);
      const remote = error as RemoteError;
      expect(remote.code).toBe(ErrorCode.InvalidParams);
      expect(remote.data).toBe('expected an array of numbers');
      expect(remote.toJSON()).toEqual({ code: -32602, message: 'Invalid params', data: 'expected an array of numbers' });
      // The deprecated alias still reads the same code.
      expect(remote.rpcCode).toBe(-32602);
      await client.close();
    });

    it('sends notifications that run the handler and get no answer', async () => {
      const seen: unknown[] = [];
      const client = await open({ note: (params: unknown) => void seen.push(params) });
      client.notify('note', ['a']);
      client.notify('note', { b: 2 });
      await until(() => seen.length === 2, 'both notifications');
      expect(seen).toEqual([['a'], { b: 2 }]);
      expect(await client.call('ping')).toBe('pong');
      await client.close();
    });

    it('streams a streaming method, and call() gives the array', async () => {
      const client = await open();
      expect(await firstValueFrom(client.stream('stream', [4]).pipe(toArray()))).toEqual([0, 1, 2, 3]);
      expect(await client.call('stream', [3])).toEqual([0, 1, 2]);
      await client.close();
    });

    it('aborts a call with its signal: rejects with the reason and the server stops the handler', async () => {
      let stopped = false;
      const client = await open({
        hang: (_p: unknown, ctx: HandlerContext) => new Promise(() => ctx.signal.addEventListener('abort', () => (stopped = true))),
      });
      const controller = new AbortController();
      const pending = client.call('hang', [], { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 30));
      controller.abort(new Error('user gave up'));
      await expect(pending).rejects.toThrow('user gave up');
      // MCP1 sends a type-7 frame; JSON-RPC, NDJSON and LSP alike, $/cancelRequest.
      await until(() => stopped, 'the server-side handler to be aborted', 2000);
      expect(await client.call('ping')).toBe('pong');
      await client.close();
    });
  });

  it('cancels an MCP1 stream on the server when unsubscribed early', async () => {
    let unsubscribed = false;
    const { Observable } = await import('rxjs');
    const endless = () =>
      new Observable<number>((subscriber) => {
        let i = 0;
        const timer = setInterval(() => subscriber.next(i++), 5);
        return () => {
          clearInterval(timer);
          unsubscribed = true;
        };
      });
    const { target } = await startServer(transport, kind, { handlers: { endless, ping: () => 'pong' } });
    const client = await connect(target, { protocol: 'mcp1' });
    const got: unknown[] = [];
    await new Promise<void>((resolve) => {
      const subscription = client.stream('endless').subscribe((v) => {
        got.push(v);
        if (got.length === 3) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
    await until(() => unsubscribed, 'the server to unsubscribe the handler stream');
    expect(got).toEqual([0, 1, 2]);
    expect(await client.call('ping')).toBe('pong');
    await client.close();
  });
});
