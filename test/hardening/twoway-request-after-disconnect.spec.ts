/**
 * A handler that asks its caller after the caller has gone (PROTOCOL.md 6.3): the
 * request is rejected at once, nothing is sent, nothing waits for a timeout. On
 * TCP the server sees a client's close as the end of its input (it cannot tell it
 * from a half-close): a client that sends nothing more cannot answer either.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError } from '../../src/core/errors.js';
import type { HandlerContext, Handlers } from '../../src/core/records.js';
import { matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { call, written } from '../fixtures/wire.js';

useCleanup();

describe.each(matrix())('a server request after the caller disconnected (%s, %s)', (transport, kind) => {
  it('rejects at once with ConnectionClosedError and sends nothing', async () => {
    const seen: Array<{ error: unknown; ms: number }> = [];
    let release: () => void = () => {};
    const gone = new Promise<void>((resolve) => (release = resolve));
    const handlers: Handlers = {
      async late(_p, ctx: HandlerContext) {
        await gone;
        const started = Date.now();
        await ctx.request('anyone', [], { timeoutMs: 10_000 }).catch((error: unknown) => seen.push({ error, ms: Date.now() - started }));
      },
    };
    const { address, server } = await startServer(transport, kind, { handlers });
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'late'));
    await until(() => server.stats().messages.in === 1, 'the call to arrive');
    const [connection] = [...server.transport.connections];
    client.socket.destroy();
    await until(() => connection!.inputEnded, "the client's end to be seen");
    release();
    await until(() => seen.length === 1, 'the request to be rejected');
    expect(seen[0]!.error).toBeInstanceOf(ConnectionClosedError);
    expect(seen[0]!.ms).toBeLessThan(1000);
    expect(written('jsonrpc', client).filter((m) => m.kind === 'request')).toEqual([]);
  });
});
