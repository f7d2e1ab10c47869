/**
 * createServer() that fails after its listeners are open must close them again:
 * otherwise the process never exits and the socket accepts connections nobody
 * answers. Each failure below happens after listen(); the promise must reject with
 * that very error, the Unix socket file must be gone and the TCP port free.
 */
import { existsSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect, createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Observable, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/core/errors.js';
import type { PipelineRecord } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer } from '../../src/server/createServer.js';
import type { ServerOptions } from '../../src/server/options.js';
import { insertAfter, type PipelineStages } from '../../src/server/stages.js';
import { transports, until, useCleanup } from '../fixtures/harness.js';
import { tempSocketPath } from '../helpers/socketPath.js';

useCleanup();

const handlersModule = fileURLToPath(new URL('../fixtures/workerHandlers.mjs', import.meta.url));

/** A TCP port nothing listens on right now (bound and released by the OS). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
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

/** Threads of this process, where Linux says (worker threads are threads). */
function threadCount(): number | undefined {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : undefined;
}

const breaksOnSubscribe = (): Observable<PipelineRecord> => throwError(() => new Error('stage broke on subscribe'));

const failures: Array<[string, ServerOptions['pipeline'], RegExp]> = [
  [
    'a pipeline callback naming a stage that does not exist',
    (s) => insertAfter(s, 'decodeJsonRCP', 'auth', (x) => x),
    /no pipeline stage named decodeJsonRCP/,
  ],
  [
    'a pipeline callback that throws',
    () => {
      throw new Error('pipeline callback bug');
    },
    /pipeline callback bug/,
  ],
  ['stages that checkStages refuses', (s) => [...s, s[0]!], /two pipeline stages are named/],
  ['stages that are not stages', () => [{ name: 'x' }] as unknown as PipelineStages, /every pipeline stage must be/],
  [
    'a stage that throws when composed',
    (s) =>
      insertAfter(s, 'decodeJsonRpc', 'bad', () => {
        throw new Error('stage broke when composed');
      }),
    /stage broke when composed/,
  ],
  [
    'a stage whose Observable errors at once on subscribe',
    (s) => insertAfter(s, 'decodeJsonRpc', 'bad', breaksOnSubscribe),
    /stage broke on subscribe/,
  ],
];

describe.each(transports())('createServer failing after listen (%s)', (transport) => {
  it.each(failures)('closes its listeners on %s, and rejects with the error', async (_name, pipeline, message) => {
    const path = tempSocketPath();
    const port = await freePort();
    const reported: unknown[] = [];
    const attempt = createServer({
      transport,
      listen: [{ unix: path }, { host: '127.0.0.1', port }],
      handlers: demoHandlers,
      pipeline,
      onError: (e) => reported.push(e),
    });
    await expect(attempt).rejects.toThrow(message);
    expect(existsSync(path)).toBe(false);
    await expect(refused({ path })).resolves.toBe(true);
    await expect(refused({ host: '127.0.0.1', port })).resolves.toBe(true);
    // The port can be taken again at once: nothing holds it.
    await new Promise<void>((resolve, reject) => {
      const again = createNetServer().once('error', reject);
      again.listen(port, '127.0.0.1', () => again.close(() => resolve()));
    });
    // Closing cleanly is not an error the server survived.
    expect(reported).toEqual([]);
  });

  it('rejects with the OptionsError itself', async () => {
    const attempt = createServer({
      transport,
      listen: [{ unix: tempSocketPath() }],
      handlers: demoHandlers,
      pipeline: (s) => insertAfter(s, 'nope', 'x', (x) => x),
    });
    await expect(attempt).rejects.toBeInstanceOf(OptionsError);
  });

  it('ends its worker pool too', async () => {
    await stat('/'); // starts libuv's thread pool now, so that it does not count below
    const before = threadCount();
    const path = tempSocketPath();
    const attempt = createServer({
      transport,
      listen: [{ unix: path }],
      handlersModule,
      workers: 2,
      pipeline: () => {
        throw new Error('pipeline callback bug');
      },
    });
    await expect(attempt).rejects.toThrow(/pipeline callback bug/);
    expect(existsSync(path)).toBe(false);
    if (before !== undefined) await until(() => threadCount()! <= before, 'the worker threads to end', 5000);
  });
});
