import { describe, expect, it } from 'vitest';
import { PauseReason } from '../../src/core/connection.js';
import type { HandlerContext } from '../../src/core/records.js';
import { delay, matrix, RawClient, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

describe.each(matrix())('limits (%s, %s)', (transport, kind) => {
  it('accepts and at once closes connections past maxConnections, and counts them', async () => {
    const { server, address } = await startServer(transport, kind, { limits: { maxConnections: 2 } });
    const a = await rawClient(address);
    const b = await rawClient(address);
    await until(() => server.stats().connections.open === 2, 'two open connections');
    const c = await rawClient(address);
    await c.waitForClose();
    expect(c.received).toBe(0);
    expect(server.stats().connections.rejected).toBe(1);
    await a.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    expect(await readLines(a, 1)).toEqual([{ jsonrpc: '2.0', id: 1, result: 'pong' }]);
    expect(b.closed).toBe(false);
  });

  it('closes a connection whose message is begun and not finished within messageTimeoutMs', async () => {
    const { address } = await startServer(transport, kind, { limits: { messageTimeoutMs: 150 } });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0",');
    await readLines(c, 1);
    const started = Date.now();
    // A slowloris: one byte now and then, never finishing the message.
    for (let i = 0; i < 40 && !c.closed; i++) {
      await c.send(' ').catch(() => undefined);
      await delay(20);
    }
    await c.waitForClose(3000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(lines(c.text())).toEqual(['{"jsonrpc":"2.0","id":1,"result":"pong"}']);
  });

  it('keeps an idle connection open past messageTimeoutMs when no message is begun', async () => {
    const { address } = await startServer(transport, kind, { limits: { messageTimeoutMs: 100 } });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await readLines(c, 1);
    await delay(300);
    expect(c.closed).toBe(false);
  });

  it('stops reading a connection at maxInFlight, errors nothing, and answers every request', async () => {
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const handlers = {
      hold: (_p: unknown, ctx: HandlerContext) =>
        new Promise((resolve) => {
          running++;
          peak = Math.max(peak, running);
          gates.push(() => {
            running--;
            resolve(ctx.method);
          });
        }),
    };
    const { server, address } = await startServer(transport, kind, { handlers, limits: { maxInFlight: 4 } });
    const c = await rawClient(address);
    // Big enough that the requests cannot all arrive in one read.
    const total = 300;
    const pad = 'p'.repeat(2000);
    let input = '';
    for (let id = 1; id <= total; id++) input += `{"jsonrpc":"2.0","id":${id},"method":"hold","params":["${pad}"]}\n`;
    c.socket.write(input);
    await until(() => running >= 4, 'requests in flight');
    await delay(100);
    const conn = [...server.transport.connections][0]!;
    expect(conn.pausedBy & PauseReason.InFlight).toBe(PauseReason.InFlight);
    expect(running).toBeLessThan(total);
    let answered = 0;
    while (answered < total) {
      const batch = gates.splice(0);
      for (const open of batch) open();
      answered += batch.length;
      await delay(5);
      if (batch.length === 0) await until(() => gates.length > 0 || answered >= total, 'more requests to start');
    }
    const out = (await readLines(c, total)) as Array<{ id: number; result?: unknown; error?: unknown }>;
    expect(out.map((r) => r.id).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(out.every((r) => r.result === 'hold' && r.error === undefined)).toBe(true);
    // One read may carry several requests past the mark, but reading stops there.
    expect(peak).toBeLessThan(total);
    expect(server.stats().requestsInFlight).toBe(0);
  });

  it('stops reading a peer that does not read its answers past writeHighWaterBytes, then answers everything', async () => {
    const big = 'w'.repeat(256 * 1024);
    const handlers = { big: () => big };
    const { server, address } = await startServer(transport, kind, { handlers, limits: { writeHighWaterBytes: 64 * 1024 } });
    const c = await RawClient.connect(address, { read: false });
    const total = 40; // 10 MiB of answers: more than the socket buffers hold
    let input = '';
    for (let id = 1; id <= total; id++) input += `{"jsonrpc":"2.0","id":${id},"method":"big"}\n`;
    await c.send(input);
    await until(
      () => [...server.transport.connections].some((k) => (k.pausedBy & PauseReason.Write) !== 0),
      'reading paused for unsent output',
    );
    c.startReading();
    const out = (await readLines(c, total, 20_000)) as Array<{ id: number; result: string }>;
    expect(out.map((r) => r.id).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(out.every((r) => r.result.length === big.length)).toBe(true);
  });
});

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
