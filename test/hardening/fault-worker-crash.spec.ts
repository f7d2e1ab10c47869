/**
 * A worker thread that dies mid-request (docs/WORKERS.md, "Crashes"): with
 * `workers: 2`, a handler that calls process.exit() or throws asynchronously fails
 * only its own request, with -32603; requests running on the other worker or queued
 * behind it succeed; the connection and the server live on, the pool is refilled,
 * and later calls on the same connection succeed — crash after crash.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

const handlersModule = fileURLToPath(new URL('../fixtures/workerHandlers.mjs', import.meta.url));
const INTERNAL = { code: -32603, message: 'Internal error' };
const CRASHES = ['exit', 'throwLater'] as const;
const ROUNDS = 4;
type Answer = { id: number; result?: unknown; error?: { code: number; message: string } };
const call = (id: number, method: string, params?: unknown): string =>
  JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }) + '\n';

describe.each(matrix())('worker crashes (%s, %s)', (transport, kind) => {
  it('fail only the crashed request with -32603, round after round, on one JSON-RPC connection', async () => {
    const errors: unknown[] = [];
    const { server, address } = await startServer(transport, kind, { handlersModule, workers: 2, onError: (e) => errors.push(e) });
    const c = await rawClient(address);
    let id = 0;
    let seen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const crash = CRASHES[round % CRASHES.length]!;
      // One request busy on the other worker, the crash, and ten queued behind it.
      const slow = ++id;
      const crashed = ++id;
      let batch = call(slow, 'slow', [150]) + call(crashed, crash);
      const queued: number[] = [];
      for (let k = 0; k < 10; k++) {
        queued.push(++id);
        batch += call(id, 'square', [id]);
      }
      await c.send(batch);
      seen += 12;
      const out = new Map(((await readLines(c, seen, 10_000)) as Answer[]).map((a) => [a.id, a]));
      expect(out.get(crashed), `${crash}, round ${round}`).toEqual({ jsonrpc: '2.0', id: crashed, error: INTERNAL });
      expect(out.get(slow)).toEqual({ jsonrpc: '2.0', id: slow, result: 150 });
      for (const q of queued) expect(out.get(q)).toEqual({ jsonrpc: '2.0', id: q, result: q * q });
    }
    expect(c.closed).toBe(false);
    expect(server.workers).toBe(2);
    expect(server.stats().errors['-32603']).toBe(ROUNDS);
    await until(() => server.stats().requestsInFlight === 0, 'nothing in flight');

    // The refilled pool answers from worker threads (threadId 0 would be the main thread).
    await c.send(call(++id, 'slow', [100]) + call(++id, 'whereAmI') + call(++id, 'whereAmI'));
    const last = ((await readLines(c, seen + 3)) as Answer[]).slice(seen);
    expect(last.map((a) => a.error)).toEqual([undefined, undefined, undefined]);
    expect(last.every((a) => typeof a.result === 'number' && a.result > 0)).toBe(true);
  });

  it('fails only the crashed request of an MCP1 connection, while another connection is served', async () => {
    const { address } = await startServer(transport, kind, { handlersModule, workers: 2, onError: () => {} });
    const m = await rawClient(address);
    const j = await rawClient(address);
    await m.send(Buffer.concat([request(1, 'slow', [150]), request(2, 'exit'), request(3, 'square', [3])]));
    await j.send(call(1, 'square', [4]) + call(2, 'tools/echo', ['json']));
    const frames = await readFrames(m, 3, 10_000);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(2)).toMatchObject({ type: 3, value: INTERNAL });
    expect(byId.get(1)).toMatchObject({ type: 2, value: 150 });
    expect(byId.get(3)).toMatchObject({ type: 2, value: 9 });
    expect(((await readLines(j, 2)) as Answer[]).map((a) => a.result).sort()).toEqual([16, 'json']);

    await m.send(Buffer.concat([request(4, 'throwLater'), request(5, 'square', [5])]));
    const after = new Map((await readFrames(m, 5, 10_000)).map((f) => [f.id, f]));
    expect(after.get(4)).toMatchObject({ type: 3, value: INTERNAL });
    expect(after.get(5)).toMatchObject({ type: 2, value: 25 });
    expect(m.closed || j.closed).toBe(false);
  });
});
