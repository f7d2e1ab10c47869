import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { delay, matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { frame, readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

const handlersModule = fileURLToPath(new URL('../fixtures/workerHandlers.mjs', import.meta.url));
const call = (id: number, method: string, params?: unknown) =>
  JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }) + '\n';
type Answer = { id: number; result?: unknown; error?: { code: number; message: string; data?: unknown } };

describe.each(matrix())('worker pool (%s, %s)', (transport, kind) => {
  const start = (workers = 2) => startServer(transport, kind, { handlersModule, workers, onError: () => {} });

  it('runs handlers in worker threads, with named and default-object exports', async () => {
    const { server, address } = await start();
    expect(server.workers).toBe(2);
    const c = await rawClient(address);
    await c.send(call(1, 'square', [7]) + call(2, 'whereAmI') + call(3, 'tools/echo', ['hi']) + call(4, 'peer') + call(5, 'nope'));
    const out = new Map(((await readLines(c, 5)) as Answer[]).map((a) => [a.id, a]));
    expect(out.get(1)!.result).toBe(49);
    expect(out.get(2)!.result).toBeGreaterThan(0); // threadId 0 is the main thread
    expect(out.get(3)!.result).toBe('hi');
    expect(out.get(4)!.result).toEqual({ family: kind === 'unix' ? 'unix' : 'IPv4', method: 'peer' });
    expect(out.get(5)!.error).toEqual({ code: -32601, message: 'Method not found' });
  });

  it("keeps an RpcError's code and data, and hides other errors as -32603", async () => {
    const { address } = await start();
    const c = await rawClient(address);
    await c.send(call(1, 'invalid') + call(2, 'secret'));
    const out = new Map(((await readLines(c, 2)) as Answer[]).map((a) => [a.id, a]));
    expect(out.get(1)!.error).toEqual({ code: -32602, message: 'Invalid params', data: { expected: 'a number' } });
    expect(out.get(2)!.error).toEqual({ code: -32603, message: 'Internal error' });
  });

  it('streams a worker Observable as MCP1 items, and as an array in JSON-RPC', async () => {
    const { address } = await start();
    const m = await rawClient(address);
    await m.send(request(1, 'ticks', [3]));
    const frames = await readFrames(m, 4);
    expect(frames.map((f) => [f.type, f.id, f.value])).toEqual([
      [8, 1, 0],
      [8, 1, 1],
      [8, 1, 2],
      [2, 1, null],
    ]);
    const j = await rawClient(address);
    await j.send(call(1, 'ticks', [4]) + call(2, 'asyncTicks', [2]));
    const out = new Map(((await readLines(j, 2)) as Answer[]).map((a) => [a.id, a]));
    expect(out.get(1)!.result).toEqual([0, 1, 2, 3]);
    expect(out.get(2)!.result).toEqual([0, 1]);
  });

  it("fires the worker handler's ctx.signal on an MCP1 cancel", async () => {
    const { address } = await start(1);
    const c = await rawClient(address);
    await c.send(request(1, 'slow', [5000]));
    await delay(100);
    await c.send(frame({ type: 7, id: 1 }));
    await c.send(request(2, 'lastAborted'));
    const frames = await readFrames(c, 2);
    expect(frames[0]).toMatchObject({ type: 3, id: 1, value: { code: -32800 } });
    expect(frames[1]).toMatchObject({ type: 2, id: 2, value: 'Request cancelled' });
  });

  it('terminates a worker whose handler ignores cancellation, and goes on', async () => {
    const { address } = await start(1);
    const c = await rawClient(address);
    await c.send(request(1, 'spin', [60_000]));
    await delay(100);
    await c.send(frame({ type: 7, id: 1 }));
    await c.send(request(2, 'square', [3]));
    const frames = await readFrames(c, 2, 10_000);
    expect(frames[0]).toMatchObject({ type: 3, id: 1, value: { code: -32800 } });
    expect(frames[1]).toMatchObject({ type: 2, id: 2, value: 9 });
  });

  it.each(['exit', 'throwLater'])(
    'fails only the in-flight requests of a worker that dies (%s) with -32603, and recovers',
    async (method) => {
      const { server, address } = await start(2);
      const c = await rawClient(address);
      // Both workers up first (slow machines start threads slowly), so that the slow call
      // and the fatal one surely run in different workers.
      await c.send(call(101, 'slow', [50]) + call(102, 'slow', [50]));
      await readLines(c, 2);
      await c.send(call(1, 'slow', [600]));
      await until(() => server.stats().requestsInFlight === 1, 'the slow call in flight');
      await delay(100);
      await c.send(call(2, method));
      const first = ((await readLines(c, 3)) as Answer[]).slice(2);
      expect(first).toEqual([{ jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'Internal error' } }]);
      const all = (await readLines(c, 4)) as Answer[];
      expect(all[3]).toEqual({ jsonrpc: '2.0', id: 1, result: 600 });
      await c.send(call(3, 'square', [5]) + call(4, 'square', [6]));
      const after = (await readLines(c, 6)) as Answer[];
      expect(
        after
          .slice(4)
          .map((a) => a.result)
          .sort(),
      ).toEqual([25, 36]);
    },
  );

  it('answers every request of a burst larger than the pool', async () => {
    const { server, address } = await start(2);
    const c = await rawClient(address);
    let input = '';
    for (let id = 1; id <= 50; id++) input += call(id, 'square', [id]);
    await c.send(input);
    const out = (await readLines(c, 50)) as Answer[];
    expect(out.map((a) => a.result).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1) ** 2));
    await until(() => server.stats().requestsInFlight === 0, 'nothing in flight');
  });
});
