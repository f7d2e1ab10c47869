/**
 * PROTOCOL.md 6, rule by rule, over real sockets, both transports, every framing:
 * handlers that notify their callers and ask them, the client's answers, and the
 * limits of 6.3.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, ProtocolUnknownError, WriteBackpressureError } from '../../src/core/errors.js';
import type { HandlerContext, Handlers } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { delay, matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { answer, call, FRAMINGS, type Framing, readWritten, written } from '../fixtures/wire.js';

useCleanup();

const isMcp1 = (framing: Framing): boolean => framing.startsWith('mcp1');

describe.each(matrix())('messages from the server (%s, %s)', (transport, kind) => {
  describe.each(FRAMINGS)('over %s', (framing) => {
    it('6: countdown writes its notifications in order, all before its answer', async () => {
      const { address } = await startServer(transport, kind);
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'countdown', [3]));
      const got = await readWritten(framing, client, 4);
      expect(got).toEqual([
        { kind: 'notification', method: 'countdown', params: [2] },
        { kind: 'notification', method: 'countdown', params: [1] },
        { kind: 'notification', method: 'countdown', params: [0] },
        { kind: 'result', id: 1, result: 'done' },
      ]);
    });

    it("6: ask sends the caller a request with the server's own id and answers with the caller's result or error", async () => {
      const { address } = await startServer(transport, kind);
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'ask', ['config', { section: 'a' }]));
      const [request] = await readWritten(framing, client, 1);
      expect(request).toMatchObject({ kind: 'request', method: 'config', params: { section: 'a' } });
      const id = (request as { id: string | number }).id;
      expect(typeof id).toBe(isMcp1(framing) ? 'number' : 'string');
      client.socket.write(answer(framing, id, { result: { tabs: 2 } }));
      expect((await readWritten(framing, client, 2))[1]).toEqual({ kind: 'result', id: 1, result: { tabs: 2 } });

      client.socket.write(call(framing, 2, 'ask', ['confirm']));
      const second = (await readWritten(framing, client, 3))[2] as { id: string | number };
      expect(second.id).not.toEqual(id);
      client.socket.write(answer(framing, second.id, { error: { code: -32001, message: 'refused' } }));
      expect((await readWritten(framing, client, 4))[3]).toEqual({ kind: 'error', id: 2, error: { code: -32001, message: 'refused' } });
    });

    it('6.3: a server request not answered in time is rejected, the client told where it can be, and its late answer dropped', async () => {
      const { address, server } = await startServer(transport, kind, { limits: { serverRequestTimeoutMs: 100 } });
      const client = await rawClient(address);
      client.socket.write(call(framing, 1, 'ask', ['slow']));
      const [request] = await readWritten(framing, client, 1);
      const id = (request as { id: string | number }).id;
      // The handler's ask rejects with a timeout, not an RpcError: its caller gets -32603.
      const after = await readWritten(framing, client, framing === 'jsonrpc' ? 2 : 3);
      const told = after.slice(1).map((m) => m.kind);
      expect(told.sort()).toEqual(framing === 'jsonrpc' ? ['error'] : ['cancel', 'error']);
      if (framing !== 'jsonrpc') expect(after.find((m) => m.kind === 'cancel')).toEqual({ kind: 'cancel', id });
      client.socket.write(answer(framing, id, { result: 'too late' }));
      client.socket.write(call(framing, 2, 'ping'));
      const last = await readWritten(framing, client, after.length + 1);
      expect(last.at(-1)).toEqual({ kind: 'result', id: 2, result: 'pong' });
      expect(client.closed).toBe(false);
      if (!isMcp1(framing)) await until(() => server.stats().messages.responsesDropped === 1, 'the late answer counted');
    });

    it('6: a handler whose caller cancels it gives up its server request; the client is told where it can be', async () => {
      const { address } = await startServer(transport, kind);
      const client = await rawClient(address);
      client.socket.write(call(framing, 5, 'ask', ['long']));
      const [request] = await readWritten(framing, client, 1);
      const id = (request as { id: string | number }).id;
      client.socket.write(isMcp1(framing) ? cancelFrame(framing, 5) : call(framing, undefined, '$/cancelRequest', { id: 5 }));
      const after = await readWritten(framing, client, framing === 'jsonrpc' ? 2 : 3);
      expect(after.slice(1)).toContainEqual({ kind: 'error', id: 5, error: { code: -32800, message: 'Request cancelled' } });
      if (framing !== 'jsonrpc') expect(after.slice(1)).toContainEqual({ kind: 'cancel', id });
      // The late answer to a request given up is dropped, not a violation (6.2).
      client.socket.write(answer(framing, id, { result: 1 }));
      client.socket.write(call(framing, 6, 'ping'));
      expect((await readWritten(framing, client, after.length + 1)).at(-1)).toEqual({ kind: 'result', id: 6, result: 'pong' });
    });
  });

  it('6.1: JSON-RPC answers that match no server request are dropped and counted, never answered, batch members too', async () => {
    const { address, server } = await startServer(transport, kind);
    const client = await rawClient(address);
    client.socket.write(answer('jsonrpc', 's99', { result: 1 }));
    client.socket.write('[{"jsonrpc":"2.0","id":"s98","error":{"code":1,"message":"x"}},{"jsonrpc":"2.0","id":3,"method":"ping"}]\n');
    const got = await readWritten('jsonrpc', client, 1);
    expect(JSON.parse(client.text())).toEqual([{ jsonrpc: '2.0', id: 3, result: 'pong' }]);
    expect(got).toHaveLength(1);
    await until(() => server.stats().messages.responsesDropped === 2, 'two answers counted');
    // Still -32600 without a method: both result and error, or a bad error object.
    client.socket.write('{"jsonrpc":"2.0","id":4,"result":1,"error":{"code":1,"message":"x"}}\n');
    expect((await readWritten('jsonrpc', client, 2))[1]).toEqual({
      kind: 'error',
      id: 4,
      error: { code: -32600, message: 'Invalid Request' },
    });
  });

  it('6.2: an MCP1 answer to no request the server sent is a frame violation: an error frame with id 0, then close', async () => {
    const { address } = await startServer(transport, kind);
    const client = await rawClient(address);
    client.socket.write(answer('mcp1', 77, { result: 1 }));
    const [violation] = await readWritten('mcp1', client, 1);
    expect(violation).toEqual({ kind: 'error', id: 0, error: { code: -32600, message: 'Response to no request' } });
    await until(() => client.closed, 'the connection closed');
  });

  it('6.3: past maxServerRequests a request is rejected at once and nothing is sent', async () => {
    const { address } = await startServer(transport, kind, { limits: { maxServerRequests: 1 } });
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'ask', ['first']));
    await readWritten('jsonrpc', client, 1);
    client.socket.write(call('jsonrpc', 2, 'ask', ['second']));
    const got = await readWritten('jsonrpc', client, 2);
    expect(got[1]).toEqual({ kind: 'error', id: 2, error: { code: -32603, message: 'Internal error' } });
    await delay(50);
    expect(written('jsonrpc', client).filter((m) => m.kind === 'request')).toHaveLength(1);
  });

  it('6.3: every server request of a connection that closes is rejected', async () => {
    const outcomes: unknown[] = [];
    const handlers: Handlers = {
      wait: (_p, ctx: HandlerContext) => ctx.request('never').catch((error: unknown) => outcomes.push(error)),
    };
    const { address } = await startServer(transport, kind, { handlers });
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'wait'));
    client.socket.write(call('jsonrpc', 2, 'wait'));
    await readWritten('jsonrpc', client, 2);
    client.socket.destroy();
    await until(() => outcomes.length === 2, 'both rejected');
    for (const error of outcomes) expect(error).toBeInstanceOf(ConnectionClosedError);
  });

  it('6: ctx.session is one object per connection, shared by its requests and no other', async () => {
    const handlers: Handlers = {
      set: ([v]: unknown[], ctx: HandlerContext) => {
        ctx.session.v = v;
        return true;
      },
      get: (_p, ctx: HandlerContext) => ctx.session.v ?? null,
    };
    const { address } = await startServer(transport, kind, { handlers });
    const a = await rawClient(address);
    const b = await rawClient(address);
    a.socket.write(call('jsonrpc', 1, 'set', ['mine']));
    await readWritten('jsonrpc', a, 1);
    a.socket.write(call('jsonrpc', 2, 'get'));
    b.socket.write(call('jsonrpc', 3, 'get'));
    expect((await readWritten('jsonrpc', a, 2))[1]).toEqual({ kind: 'result', id: 2, result: 'mine' });
    expect((await readWritten('jsonrpc', b, 1))[0]).toEqual({ kind: 'result', id: 3, result: null });
  });

  it('6: server.notify reaches every connection whose protocol is known, and refuses one whose protocol is not', async () => {
    const { address, server } = await startServer(transport, kind);
    const json = await rawClient(address);
    const mcp = await rawClient(address);
    const silent = await rawClient(address);
    json.socket.write(call('jsonrpc', 1, 'ping'));
    mcp.socket.write(call('mcp1-json', 1, 'ping'));
    await readWritten('jsonrpc', json, 1);
    await readWritten('mcp1-json', mcp, 1);
    await until(() => server.transport.connections.size === 3, 'three connections');
    expect(server.connections()).toHaveLength(2);
    for (const connection of server.connections()) server.notify(connection, 'list_changed');
    expect((await readWritten('jsonrpc', json, 2))[1]).toEqual({ kind: 'notification', method: 'list_changed' });
    // JSON payloads to a connection that sends JSON ones.
    expect((await readWritten('mcp1-json', mcp, 2))[1]).toEqual({ kind: 'notification', method: 'list_changed' });
    const unknown = [...server.transport.connections].find((c) => !server.connections().includes(c))!;
    expect(() => server.notify(unknown, 'x')).toThrow(ProtocolUnknownError);
    expect(silent.received).toBe(0);
  });

  it('6.3: a client that does not read is not written to without bound: notify refuses once writeHighWaterBytes is passed', async () => {
    let refusal: unknown;
    let sent = 0;
    const handlers: Handlers = {
      flood: (_p, ctx: HandlerContext) => {
        const chunk = 'x'.repeat(16 * 1024);
        try {
          for (; sent < 10_000; sent++) ctx.notify('chunk', [chunk]);
        } catch (error) {
          refusal = error;
        }
        return sent;
      },
    };
    const { address, server } = await startServer(transport, kind, { handlers, limits: { writeHighWaterBytes: 64 * 1024 } });
    const client = await rawClient(address);
    client.socket.pause();
    client.socket.write(call('jsonrpc', 1, 'flood'));
    await until(() => refusal !== undefined, 'notify refused');
    expect(refusal).toBeInstanceOf(WriteBackpressureError);
    // What the server holds is bounded by the high-water mark (plus one message); the
    // kernel's socket buffer takes some first (how much depends on the socket and the transport).
    expect(sent).toBeLessThan(10_000);
    const [connection] = [...server.transport.connections];
    expect(connection!.writableLength).toBeLessThan(64 * 1024 + 17 * 1024);
  });

  it('5: whoami answers who the caller is', async () => {
    const { address, listener } = await startServer(transport, kind, { handlers: demoHandlers });
    const client = await rawClient(address);
    client.socket.write(call('jsonrpc', 1, 'whoami'));
    const [answered] = await readWritten('jsonrpc', client, 1);
    const me = (answered as { result: Record<string, unknown> }).result;
    expect(me.listener).toBe(listener.name);
    if (kind === 'tcp') {
      expect(me).toMatchObject({ family: 'IPv4', address: '127.0.0.1', port: client.socket.localPort });
    } else {
      expect(me.family).toBe('unix');
      if (transport === 'native') expect(me).toMatchObject({ uid: process.getuid!(), pid: process.pid });
    }
  });
});

function cancelFrame(framing: Framing, id: number): Buffer {
  // An MCP1 cancel (type 7) has an empty payload.
  const frame = Buffer.alloc(16);
  frame.write('MCP1', 0, 'latin1');
  frame[4] = 7;
  frame[5] = framing === 'mcp1-json' ? 1 : 0;
  frame.writeUInt32BE(id, 8);
  return frame;
}
