import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer } from '../../src/server/createServer.js';
import type { ServerOptions } from '../../src/server/options.js';
import { insertBefore } from '../../src/server/stages.js';
import { matrix, rawClient, readLines, startServer, transports, until, useCleanup } from '../fixtures/harness.js';
import { tempSocketPath } from '../helpers/socketPath.js';

useCleanup();

describe('createServer options', () => {
  it.each([
    ['no listener', { listen: [], handlers: demoHandlers }, /listen must name/],
    ['no handlers', { listen: [{ port: 0 }] }, /give handlers or handlersModule/],
    ['both handlers and a module', { listen: [{ port: 0 }], handlers: demoHandlers, handlersModule: './x.mjs' }, /not both/],
    ['workers without a module', { listen: [{ port: 0 }], handlers: demoHandlers, workers: 2 }, /workers need handlersModule/],
    ['a negative limit', { listen: [{ port: 0 }], handlers: demoHandlers, limits: { maxInFlight: -1 } }, /limits.maxInFlight/],
    ['a socket mode past 0o777', { listen: [{ port: 0 }], handlers: demoHandlers, socketMode: 0o1777 }, /socketMode/],
    ['a module that does not exist', { listen: [{ port: 0 }], handlersModule: '/nonexistent/h.mjs' }, /cannot load handlers module/],
    [
      'a module that does not exist, in workers',
      { listen: [{ port: 0 }], handlersModule: '/nonexistent/h.mjs', workers: 2 },
      /cannot load handlers module .* in a worker/,
    ],
  ])('rejects %s with OptionsError', async (_name, options, message) => {
    const attempt = createServer({ transport: transports()[0], ...options } as ServerOptions);
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_INVALID_OPTIONS', message: expect.stringMatching(message) });
  });

  it('reports a broken stage through onError, drops the connections it held, and serves new ones', async () => {
    const errors: unknown[] = [];
    const explode = (source: Observable<PipelineRecord>) =>
      new Observable<PipelineRecord>((subscriber) =>
        source.subscribe({
          next: (r) => (r.type === 'request' && r.method === 'explode' ? subscriber.error(new Error('stage bug')) : subscriber.next(r)),
          error: (e: unknown) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      );
    const { address } = await startServer(transports()[0]!, 'unix', {
      listen: [{ unix: tempSocketPath() }],
      onError: (e) => errors.push(e),
      pipeline: (stages) => insertBefore(stages, 'handle', 'explode', explode),
    });
    const victim = await rawClient(address);
    await victim.send('{"jsonrpc":"2.0","id":1,"method":"explode"}\n');
    await victim.waitForClose();
    expect(errors).toEqual([expect.objectContaining({ message: 'stage bug' })]);
    const next = await rawClient(address);
    await next.send('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    expect(await readLines(next, 1)).toEqual([{ jsonrpc: '2.0', id: 2, result: 'pong' }]);
  });
});

describe.each(transports())('TCP listener defaults (%s)', (transport) => {
  it('binds 127.0.0.1 when no host is given', async () => {
    const { listener } = await startServer(transport, 'tcp', { listen: [{ port: 0 }] });
    expect(listener.address).toBe('127.0.0.1');
    expect(listener.name).toBe(`tcp:127.0.0.1:${listener.port}`);
  });
});

describe.each(matrix())('server listeners (%s, %s)', (transport, kind) => {
  it('reports its listeners and transport', async () => {
    const { server, listener } = await startServer(transport, kind);
    expect(server.transport.kind).toBe(transport);
    expect(server.listeners).toHaveLength(1);
    expect(listener.kind).toBe(kind);
    if (kind === 'tcp') {
      expect(listener.address).toBe('127.0.0.1');
      expect(listener.port).toBeGreaterThan(0);
    }
    await until(() => server.stats().connections.total === 0, 'a fresh server');
  });
});
