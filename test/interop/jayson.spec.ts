import jayson from 'jayson';
import { describe, expect, it } from 'vitest';
import { demoHandlers } from '../../src/handlers/demo.js';
import { matrix, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

type Response = { jsonrpc: string; id: unknown; result?: unknown; error?: { code: number; message: string } };

function request(client: jayson.Client, method: string, params: unknown[] | object): Promise<Response> {
  return new Promise((resolve, reject) =>
    client.request(method, params, (err?: jayson.JSONRPCErrorLike | null, response?: jayson.JSONRPCResultLike) =>
      err ? reject(err) : resolve(response as unknown as Response),
    ),
  );
}

describe.each(matrix())("jayson's TCP client over NDJSON (%s, %s)", (transport, kind) => {
  async function client(handlers = {}) {
    const { address } = await startServer(transport, kind, { handlers: { ...demoHandlers, ...handlers } });
    // jayson's TCP client takes net.connect options: { path } for Unix sockets, { host, port } for TCP.
    return jayson.Client.tcp(address as jayson.TcpClientOptions);
  }

  it('gets results for requests', async () => {
    const c = await client();
    expect(await request(c, 'sum', [1, 2, 3])).toMatchObject({ jsonrpc: '2.0', result: 6 });
    expect(await request(c, 'echo', { named: true })).toMatchObject({ result: { named: true } });
  });

  it('gets error objects for failing requests', async () => {
    const c = await client();
    expect((await request(c, 'nope', [])).error).toEqual({ code: -32601, message: 'Method not found' });
    expect((await request(c, 'sum', ['x'])).error).toMatchObject({ code: -32602 });
  });

  it('sends a notification, then FIN, and the server runs it', async () => {
    const seen: unknown[] = [];
    const c = await client({ note: (p: unknown) => void seen.push(p) });
    await new Promise<void>((resolve, reject) =>
      c.request('note', ['n'], null, (err?: jayson.JSONRPCErrorLike | null) => (err ? reject(err) : resolve())),
    );
    await until(() => seen.length === 1, 'the notification to run');
    expect(seen).toEqual([['n']]);
  });
});
