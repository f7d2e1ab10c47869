/**
 * maxConnections (PROTOCOL.md section 4): with 10 allowed and 50 clients arriving
 * at once, exactly 10 are served, each completing its call; the other 40 are
 * accepted and closed at once, see the close without any reply, and are counted.
 */
import { describe, expect, it } from 'vitest';
import { matrix, type RawClient, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

const LIMIT = 10;
const CLIENTS = 50;

interface Outcome {
  readonly served: boolean;
  readonly reply: string;
  /** From connect() to seeing the close, for the refused ones. */
  readonly closedAfterMs: number;
}

describe.each(matrix())(`maxConnections ${LIMIT} under a burst (%s, %s)`, (transport, kind) => {
  it(`serves exactly ${LIMIT} of ${CLIENTS} clients and closes the other ${CLIENTS - LIMIT} at once, counted`, async () => {
    const { server, address } = await startServer(transport, kind, { limits: { maxConnections: LIMIT } });
    const clients: RawClient[] = [];
    const started: number[] = [];
    // All at once: whichever the server accepts first are the served ones.
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        started[i] = Date.now();
        const c = await rawClient(address);
        clients[i] = c;
        // Each asks for the same thing; the served ones hold their connection open
        // (the sleep) so that no slot frees up while the others arrive.
        await c.send(`{"jsonrpc":"2.0","id":${i},"method":"sleep","params":[300]}\n`).catch(() => undefined);
      }),
    );
    const outcomes: Outcome[] = await Promise.all(
      clients.map(async (c, i) => {
        await until(() => c.closed || c.text().endsWith('\n'), `client ${i} to be answered or closed`);
        return { served: !c.closed, reply: c.text(), closedAfterMs: c.closed ? Date.now() - started[i]! : -1 };
      }),
    );

    const served = outcomes.filter((o) => o.served);
    const refused = outcomes.filter((o) => !o.served);
    expect(served).toHaveLength(LIMIT);
    expect(refused).toHaveLength(CLIENTS - LIMIT);
    for (const [i, c] of clients.entries()) {
      if (!c.closed) expect(JSON.parse(c.text())).toEqual({ jsonrpc: '2.0', id: i, result: 300 });
    }
    // Refused: not one byte of reply, and closed long before a served call could finish.
    for (const o of refused) {
      expect(o.reply).toBe('');
      expect(o.closedAfterMs).toBeLessThan(300);
    }
    expect(server.stats().connections.rejected).toBe(CLIENTS - LIMIT);
    expect(server.stats().connections.total).toBe(LIMIT);
    expect(server.stats().connections.open).toBe(LIMIT);

    // Once the served ones leave, new clients are served again.
    for (const c of clients) c.destroy();
    await until(() => server.stats().connections.open === 0, 'the served clients to leave');
    const next = await rawClient(address);
    await next.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await until(() => next.text().endsWith('\n'), 'the next client to be answered');
    expect(JSON.parse(next.text())).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
    expect(server.stats().connections.rejected).toBe(CLIENTS - LIMIT);
  });
});
