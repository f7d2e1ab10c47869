/**
 * Two servers starting on one stale socket path at the same moment (a restart that
 * races a second start). Each sees the stale file, probes it (nobody answers), and
 * removes it before binding. If the other has meanwhile removed it and bound its own
 * socket there, the late remover deletes a LIVE server's socket file and binds over
 * it: both report success, and the first is left listening on a file that no longer
 * exists, unreachable. PROTOCOL.md section 4: a live server is never stolen from.
 *
 * The interleaving is rare on its own (it was seen with two real `ringwire serve`
 * processes on a loaded machine: both printed "listening"), so here it is forced:
 * the other server starts, and binds, in the instant between this server's probe
 * and its removal of the file.
 */
import * as fsp from 'node:fs/promises';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { demoHandlers } from '../../src/handlers/demo.js';
import { createServer, type RpcServer } from '../../src/server/createServer.js';
import type { TransportKind } from '../../src/transport/types.js';
import { rawClient, readLines, transports, useCleanup } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, unlink: vi.fn(real.unlink) };
});

useCleanup();

afterEach(() => {
  vi.mocked(fsp.unlink).mockReset();
});

/** Leaves a stale socket file at `path`: bound, then its server gone without removing it. */
async function staleSocket(path: string): Promise<void> {
  const first = netServer();
  await new Promise<void>((resolve) => first.listen(path, resolve));
  const alias = `${path}.alias`;
  await fsp.link(path, alias);
  await new Promise<void>((resolve) => first.close(() => resolve()));
  await fsp.rename(alias, path);
}

type Outcome = { server: RpcServer } | { error: string };

function start(path: string, transport: TransportKind): Promise<Outcome> {
  return createServer({ listen: [{ unix: path }], handlers: demoHandlers, transport, onError: () => {} }).then(
    (server) => ({ server }),
    (error: { code?: string; message?: string }) => ({ error: error.code ?? String(error.message) }),
  );
}

describe.each(transports())('two servers racing for one stale socket path (%s)', (transport) => {
  it('exactly one wins, and it is the one behind the path', async () => {
    const path = join(tempDir(), 'race.sock');
    await staleSocket(path);
    const real = vi.mocked(fsp.unlink).getMockImplementation()!;
    let other: Promise<Outcome> | undefined;
    vi.mocked(fsp.unlink).mockImplementationOnce(async (target) => {
      // The other server, a moment ahead of this one's removal of the stale file: it
      // goes through the same steps (look, probe, remove, bind) and binds its own socket.
      other = start(path, transport);
      await other;
      return real(target);
    });

    const outcomes = [await start(path, transport)];
    expect(other, 'the race was not forced: prepareUnixPath no longer removes with fs/promises unlink; adapt the hook').toBeDefined();
    outcomes.push(await other!);
    const winners = outcomes.flatMap((o) => ('server' in o ? [o.server] : []));
    try {
      expect(outcomes.map((o) => ('server' in o ? 'listening' : o.error)).sort()).toEqual(['RINGWIRE_ADDRESS_IN_USE', 'listening']);
      // The winner answers on the path; once it is gone, nobody does (no orphan left listening).
      const c = await rawClient({ path });
      await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
      expect(await readLines(c, 1)).toEqual([{ jsonrpc: '2.0', id: 1, result: 'pong' }]);
      c.destroy();
    } finally {
      await Promise.all(winners.map((server) => server.close({ drainTimeoutMs: 50 })));
    }
  });
});
