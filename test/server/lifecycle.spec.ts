import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { delay, forget, matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

describe.each(matrix())('connection lifecycle and drain (%s, %s)', (transport, kind) => {
  it('answers what a peer sent before its FIN, then ends the connection', async () => {
    const { address } = await startServer(transport, kind);
    const c = await rawClient(address, true);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"sleep","params":[80]}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    c.end();
    await c.waitForEnd();
    expect(lines(c.text())).toEqual([
      { jsonrpc: '2.0', id: 2, result: 'pong' },
      { jsonrpc: '2.0', id: 1, result: 80 },
    ]);
  });

  it('ends at once a connection whose peer sent FIN with nothing in flight', async () => {
    const { address } = await startServer(transport, kind);
    const c = await rawClient(address, true);
    await c.send(request(1, 'ping'));
    await readFrames(c, 1);
    c.end();
    await c.waitForEnd(1000);
  });

  it('ends a FIN connection after an unknown-method answer too (every request is counted out)', async () => {
    const { address } = await startServer(transport, kind);
    const c = await rawClient(address, true);
    await c.send(
      '{"jsonrpc":"2.0","id":1,"method":"nope"}\n[{"jsonrpc":"2.0","id":2,"method":"ping"},5]\n{"jsonrpc":"2.0","method":"ping"}\n',
    );
    c.end();
    await c.waitForEnd(2000);
    expect(lines(c.text())).toHaveLength(2);
  });

  it('close() lets in-flight requests finish, writes their answers, then closes', async () => {
    const { server, address, listener } = await startServer(transport, kind);
    const busy = await rawClient(address);
    const idle = await rawClient(address);
    await busy.send('{"jsonrpc":"2.0","id":1,"method":"sleep","params":[150]}\n');
    await until(() => server.stats().requestsInFlight === 1, 'the request in flight');
    forget(server);
    const closing = server.close({ drainTimeoutMs: 5000 });
    await idle.waitForClose(1000);
    expect(busy.closed).toBe(false);
    const result = await closing;
    expect(result).toEqual({ unanswered: 0, timedOut: false });
    expect(lines(busy.text())).toEqual([{ jsonrpc: '2.0', id: 1, result: 150 }]);
    await busy.waitForClose();
    if (listener.kind === 'unix') expect(existsSync(listener.address)).toBe(false);
    await expect(refused(address)).resolves.toBe(true);
  });

  it('close() past drainTimeoutMs closes the rest, aborts their handlers and reports them', async () => {
    let aborted = false;
    const handlers = {
      ...demoHandlers,
      forever: (_p: unknown, ctx: HandlerContext) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
    };
    const { server, address } = await startServer(transport, kind, { handlers });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"forever"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await readLines(c, 1);
    forget(server);
    const result = await server.close({ drainTimeoutMs: 100 });
    expect(result).toEqual({ unanswered: 1, timedOut: true });
    await c.waitForClose();
    await until(() => aborted, 'the handler to be aborted');
  });

  // Unix sockets have no reset: a peer's close reads as a FIN (a half-close), which keeps its handlers running.
  it.skipIf(kind === 'unix')('aborts the handlers of a connection that the peer resets', async () => {
    let aborted = false;
    const handlers = {
      forever: (_p: unknown, ctx: HandlerContext) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = true))),
    };
    const { server, address } = await startServer(transport, kind, { handlers });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"forever"}\n');
    await until(() => server.stats().requestsInFlight === 1, 'the request in flight');
    c.socket.resetAndDestroy();
    await until(() => aborted, 'the handler to be aborted');
    await until(() => server.stats().requestsInFlight === 0, 'nothing in flight');
  });

  it('rejects new requests on a draining server only by not reading them, never with an error', async () => {
    const { server, address } = await startServer(transport, kind);
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"sleep","params":[100]}\n');
    await until(() => server.stats().requestsInFlight === 1, 'the request in flight');
    forget(server);
    const closing = server.close({ drainTimeoutMs: 2000 });
    await delay(10);
    await c.send('{"jsonrpc":"2.0","id":2,"method":"ping"}\n').catch(() => undefined);
    await closing;
    await c.waitForClose();
    expect(lines(c.text())).toEqual([{ jsonrpc: '2.0', id: 1, result: 100 }]);
  });
});

function lines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

function refused(address: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(address as never);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
