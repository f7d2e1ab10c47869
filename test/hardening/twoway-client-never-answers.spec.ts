/**
 * A client that never answers the server's requests (PROTOCOL.md 6.3): each one
 * times out, is rejected, and frees its place, so a handler can go on asking; the
 * server keeps nothing for them once they are given up.
 */
import { describe, expect, it } from 'vitest';
import { ServerRequestTimeoutError } from '../../src/core/errors.js';
import type { HandlerContext, Handlers } from '../../src/core/records.js';
import { matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { call, written } from '../fixtures/wire.js';

useCleanup();

const ROUNDS = 2000;

describe.each(matrix())('a client that never answers server requests (%s, %s)', (transport, kind) => {
  it('sees every request time out and freed, however many are asked, with the heap bounded', async () => {
    const outcomes = { timedOut: 0, other: 0 };
    const handlers: Handlers = {
      // Asks ROUNDS times, at most maxServerRequests (4) waiting at once.
      async flood(_p, ctx: HandlerContext) {
        const asking = new Set<Promise<unknown>>();
        for (let i = 0; i < ROUNDS; i++) {
          const one = ctx.request('never', [i], { timeoutMs: 5 }).then(
            () => outcomes.other++,
            (error: unknown) => (error instanceof ServerRequestTimeoutError ? outcomes.timedOut++ : outcomes.other++),
          );
          asking.add(one);
          one.finally(() => asking.delete(one));
          if (asking.size >= 4) await Promise.race(asking);
        }
        await Promise.all(asking);
        return outcomes.timedOut;
      },
    };
    const { address } = await startServer(transport, kind, { handlers, limits: { maxServerRequests: 4 } });
    const client = await rawClient(address);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    client.socket.write(call('jsonrpc', 1, 'flood'));
    await until(() => written('jsonrpc', client).some((m) => m.kind === 'result'), 'the flood to finish', 30_000);
    expect(outcomes).toEqual({ timedOut: ROUNDS, other: 0 });
    expect(written('jsonrpc', client).filter((m) => m.kind === 'request')).toHaveLength(ROUNDS);
    gc?.();
    // 2,000 requests given up leave nothing behind but a bounded list of late ids.
    if (gc !== undefined) expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});
