import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interval, take } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeJsonRpc, detectProtocol, encodeJsonRpc, handle, jsonFrames, route } from '../operators/index.js';
import { connect, createServer, ErrorCode, type HandlerContext, listen, RpcError, type TransportServer } from '../src/index.js';
import { endRecord, lettered, readable, runMarbles, slicesOf, testConnection } from '../src/testing/index.js';

// The README's tour, run as written (paths moved to a temp dir): if this fails, the README is wrong.
describe('README examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-readme-'));
  let closeAll: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closeAll.reverse()) await close();
    closeAll = [];
  });

  it('1. the library pipeline answers JSON-RPC', async () => {
    const server: TransportServer = await listen({ listen: [{ unix: join(dir, 'app.sock') }, { port: 0 }] });
    closeAll.push(() => server.close());
    server.slices$
      .pipe(
        detectProtocol(),
        jsonFrames({ maxMessageBytes: 64 * 1024 }),
        decodeJsonRpc(),
        route({ add: ([a, b]: number[]) => a! + b! }),
        handle(),
        encodeJsonRpc(),
      )
      .subscribe((r) => {
        if (r.type === 'out') r.connection.write(r.bytes);
      });
    const client = await connect(join(dir, 'app.sock'));
    closeAll.push(() => client.close());
    expect(await client.call('add', [2, 3])).toBe(5);
  });

  it('2. the server with a handler module shape, and the client', async () => {
    const handlers = {
      divide([a, b]: number[]) {
        if (b === 0) throw new RpcError(ErrorCode.InvalidParams, 'Division by zero');
        return a! / b!;
      },
      ticks: ([n]: number[]) => interval(10).pipe(take(n!)),
      async slow([ms]: number[], ctx: HandlerContext) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(ctx.signal.reason);
          });
        });
        return ms;
      },
    };
    const server = await createServer({ listen: [{ unix: join(dir, 'srv.sock') }], handlers });
    closeAll.push(() => server.close());
    const client = await connect(join(dir, 'srv.sock'), { protocol: 'mcp1' });
    closeAll.push(() => client.close());
    expect(await client.call('divide', [1, 4])).toBe(0.25);
    await expect(client.call('divide', [1, 0])).rejects.toMatchObject({ rpcCode: -32602, message: 'Division by zero' });
    const items: unknown[] = [];
    await new Promise<void>((resolve, reject) =>
      client.stream('ticks', [3]).subscribe({ next: (v) => items.push(v), error: reject, complete: resolve }),
    );
    expect(items).toEqual([0, 1, 2]);
    expect(await client.call('slow', [5])).toBe(5);
  });

  it('3. the marble spec passes', () => {
    runMarbles(({ cold, expectObservable }) => {
      const conn = testConnection();
      const source = cold('a-b-c|', lettered([...slicesOf(conn, '{"method":', '"ping"}\n'), endRecord(conn)]));
      expectObservable(source.pipe(detectProtocol(), jsonFrames(), readable())).toBe('--f-e|', {
        f: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"method":"ping"}' },
        e: { type: 'end', connection: conn.id },
      });
    });
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
