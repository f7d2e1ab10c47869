import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ConnectionClosedError } from '../../src/core/errors.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { forget, matrix, startServer, useCleanup } from '../fixtures/harness.js';

useCleanup();

describe.each(matrix())('client when the connection drops (%s, %s)', (transport, kind) => {
  it.each(['jsonrpc', 'mcp1'] as const)('rejects pending %s calls with ConnectionClosedError', async (protocol) => {
    const handlers = { ...demoHandlers, hang: () => new Promise(() => {}) };
    const { server, target } = await startServer(transport, kind, { handlers });
    const client = await connect(target, { protocol });
    // Caught at once: it rejects while the server closes, before the assertion below runs.
    const pending = client.call('hang').catch((e: unknown) => e);
    const stream = new Promise((resolve) => client.stream('hang').subscribe({ error: resolve }));
    await new Promise((r) => setTimeout(r, 30));
    forget(server);
    await server.close({ drainTimeoutMs: 20 });
    expect(await pending).toBeInstanceOf(ConnectionClosedError);
    await expect(stream).resolves.toMatchObject({ code: 'RINGWIRE_CONNECTION_CLOSED' });
    expect(client.closed).toBe(true);
    await expect(client.call('ping')).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('says what the server said when it closes after a protocol error', async () => {
    const { target } = await startServer(transport, kind, { limits: { maxMessageBytes: 64 } });
    const client = await connect(target, { protocol: 'jsonrpc' });
    const error = await client.call('echo', ['x'.repeat(100)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).message).toContain('-32600 Message too large');
  });

  it('fails to connect with the socket error when nothing listens', async () => {
    const refused = kind === 'unix' ? connect('/nonexistent/ringwire-test.sock') : connect('tcp://127.0.0.1:1');
    await expect(refused).rejects.toMatchObject({ code: kind === 'unix' ? 'ENOENT' : 'ECONNREFUSED' });
  });
});
