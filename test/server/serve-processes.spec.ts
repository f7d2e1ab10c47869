import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, ROOT } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

// The processes run dist/src/processes/entry.js, so the helper is taken from dist/ too.
type Module = typeof import('../../src/index.js');
let ringwire: Module;
const open: Array<{ close(): Promise<boolean> }> = [];

beforeAll(async () => {
  await ensureBuilt();
  ringwire = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href)) as Module;
}, 180_000);
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

describe.each(transports())('serveProcesses (%s)', (transport) => {
  it('serves one handlers module from several processes on shared listeners, reports each, and drains them', async () => {
    const socket = join(tempDir(), 'lib.sock');
    const logged: string[] = [];
    const server = await ringwire.serveProcesses({
      processes: 2,
      transport,
      listen: [{ unix: socket }, { port: 0 }],
      handlersModule: join(ROOT, 'test', 'fixtures', 'processHandlers.mjs'),
      log: (level, message) => logged.push(`${level}: ${message}`),
    });
    open.push(server);
    const [unix, tcp] = server.listeners;
    expect(unix).toMatchObject({ kind: 'unix', address: socket });
    expect(tcp!.port).toBeGreaterThan(0);
    const pids = server.pids as number[];
    expect(pids).toHaveLength(2);
    // Rounds of 30 connections until both have answered: on a node:net socket shared by
    // both (Node 20), every process is woken and one busy with a round may take it all.
    const answered = new Set<number>();
    const clients: Awaited<ReturnType<typeof connect>>[] = [];
    for (let round = 0; round < 10 && answered.size < 2; round++) {
      const more = await Promise.all(Array.from({ length: 30 }, () => connect(`127.0.0.1:${tcp!.port}`)));
      for (const pid of await Promise.all(more.map((c) => c.call('pid') as Promise<number>))) answered.add(pid);
      clients.push(...more);
    }
    expect(answered).toEqual(new Set(pids));
    const overUnix = await connect(socket);
    expect(pids).toContain(await overUnix.call('pid'));
    const stats = await server.stats();
    expect(stats.processes.map((p) => p.pid).sort()).toEqual([...pids].sort());
    expect(stats.connections.open).toBe(clients.length + 1);
    await Promise.all([...clients, overUnix].map((c) => c.close()));
    open.pop();
    expect(await server.close()).toBe(true);
    expect(existsSync(socket)).toBe(false);
    expect(logged).toEqual([]);
  });

  it('rejects with ProcessStartError when the handlers module cannot load, leaving nothing listening', async () => {
    const socket = join(tempDir(), 'bad.sock');
    const failure = await ringwire
      .serveProcesses({ processes: 2, transport, listen: [{ unix: socket }], handlersModule: join(tempDir(), 'nope.mjs') })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ringwire.ProcessStartError);
    expect(failure).toMatchObject({ code: 'RINGWIRE_PROCESS_START_FAILED' });
    expect(existsSync(socket)).toBe(false);
  });
});
