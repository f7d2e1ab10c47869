import { describe, expect, it } from 'vitest';
import { matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

describe.each(matrix())('server stats (%s, %s)', (transport, kind) => {
  it('counts connections by protocol and listener, messages, errors, violations and latency', async () => {
    const { server, address, listener } = await startServer(transport, kind, { limits: { maxMessageBytes: 200 } });
    const json = await rawClient(address);
    await json.send(
      '{"jsonrpc":"2.0","id":1,"method":"sleep","params":[5]}\n{"jsonrpc":"2.0","id":2,"method":"nope"}\n{"jsonrpc":"2.0","method":"ping"}\n',
    );
    await readLines(json, 2);
    const mcp = await rawClient(address);
    await mcp.send(request(1, 'ping'));
    await readFrames(mcp, 1);
    const bad = await rawClient(address);
    await bad.send('HELO\r\n');
    await bad.waitForClose();
    const big = await rawClient(address);
    await big.send(`{"x":"${'y'.repeat(300)}"}`);
    await big.waitForClose();
    await until(() => server.stats().connections.open === 2, 'two connections left open');

    const s = server.stats();
    expect(s.transport).toBe(transport);
    expect(s.connections).toMatchObject({ open: 2, total: 4, rejected: 0 });
    expect(s.connections.byListener[listener.name]).toEqual({ open: 2, total: 4 });
    expect(s.connections.byProtocol.jsonrpc).toEqual({ open: 1, total: 2 });
    expect(s.connections.byProtocol.mcp1).toEqual({ open: 1, total: 1 });
    expect(s.connections.byProtocol.lsp).toEqual({ open: 0, total: 0 });
    expect(s.messages).toEqual({ in: 4, out: 5, responsesDropped: 0 });
    expect(s.requestsInFlight).toBe(0);
    expect(s.errors).toEqual({ '-32601': 1, '-32700': 1, '-32600': 1 });
    expect(s.violations).toEqual({ 'unknown-protocol': 1, 'too-large': 1 });
    expect(s.latencyMs.count).toBe(3);
    expect(s.latencyMs.p99).toBeGreaterThanOrEqual(4);
    expect(s.latencyMs.p50).toBeLessThanOrEqual(s.latencyMs.p90);
    expect(s.bytes.in).toBeGreaterThan(0);
    expect(s.bytes.out).toBeGreaterThan(0);
  });

  it('counts requests in flight', async () => {
    const { server, address } = await startServer(transport, kind);
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"sleep","params":[100]}\n{"jsonrpc":"2.0","id":2,"method":"sleep","params":[100]}\n');
    await until(() => server.stats().requestsInFlight === 2, 'two requests in flight');
    await readLines(c, 2);
    expect(server.stats().requestsInFlight).toBe(0);
  });

  it('answers rpc.stats only when exposeStats is set', async () => {
    const hidden = await startServer(transport, kind);
    const a = await rawClient(hidden.address);
    await a.send('{"jsonrpc":"2.0","id":1,"method":"rpc.stats"}\n');
    expect(await readLines(a, 1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } }]);

    const shown = await startServer(transport, kind, { exposeStats: true });
    const b = await rawClient(shown.address);
    await b.send('{"jsonrpc":"2.0","id":1,"method":"rpc.stats"}\n');
    const [answer] = (await readLines(b, 1)) as Array<{ result: { connections: { open: number }; transport: string } }>;
    expect(answer!.result.connections.open).toBe(1);
    expect(answer!.result.transport).toBe(transport);
  });
});
