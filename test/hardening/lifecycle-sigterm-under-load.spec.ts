/**
 * SIGTERM under load, with the real command line (PROTOCOL.md section 4): every
 * request the server accepted is answered before it exits 0 and removes its socket
 * file; requests sent after the signal are not taken in, and their clients see the
 * connection close rather than wait forever.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { type ClientProtocol, connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { delay, transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

const CLIENTS: ReadonlyArray<{ protocol: ClientProtocol; over: 'unix' | 'tcp' }> = [
  { protocol: 'jsonrpc', over: 'unix' },
  { protocol: 'jsonrpc', over: 'tcp' },
  { protocol: 'mcp1', over: 'unix' },
  { protocol: 'mcp1', over: 'tcp' },
  { protocol: 'lsp', over: 'unix' },
  { protocol: 'lsp', over: 'tcp' },
];
const CALLS_PER_CLIENT = 25;

describe.each(transports())('ringwire serve: SIGTERM under load (%s)', (transport) => {
  it('answers every accepted request, refuses nothing silently, removes the socket file and exits 0', async () => {
    const dir = tempDir();
    const socket = join(dir, 'load.sock');
    const cli = ringwire(['serve', '--transport', transport, '--unix', socket, '--tcp', '127.0.0.1:0', '--expose-stats'], dir);
    const [tcpLine] = await cli.lines(/listening on tcp:/);
    const port = Number(/:(\d+) /.exec(tcpLine!)![1]);
    const clients: RpcClient[] = await Promise.all(
      CLIENTS.map(({ protocol, over }) => connect(over === 'unix' ? socket : { host: '127.0.0.1', port }, { protocol })),
    );

    // 150 sleeps of 200..500 ms, spread over six clients, three protocols, two listeners.
    const expected: number[] = [];
    const calls: Array<Promise<unknown>> = [];
    clients.forEach((client, c) => {
      for (let i = 0; i < CALLS_PER_CLIENT; i++) {
        const ms = 200 + (((c * CALLS_PER_CLIENT + i) * 37) % 301);
        expected.push(ms);
        calls.push(client.call('sleep', [ms]));
      }
    });
    const total = calls.length;
    const all = Promise.allSettled(calls);

    // Signal only once the server has read every request: they are all accepted.
    const probe = await connect(socket);
    for (;;) {
      const stats = (await probe.call('rpc.stats')) as { requestsInFlight: number };
      if (stats.requestsInFlight - 1 >= total) break; // minus the rpc.stats call itself
      await delay(5);
    }
    await probe.close();
    const signalled = Date.now();
    cli.child.kill('SIGTERM');

    // Sent after the signal: never taken in, and its client learns that from the close.
    await delay(20);
    const late = clients[0]!.call('echo', ['too late']).then(
      (value) => ({ answered: value }),
      (error: unknown) => error,
    );
    const code = await cli.exited;
    const settled = await all;

    expect(code).toBe(0);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(settled.map((s) => (s as PromiseFulfilledResult<unknown>).value)).toEqual(expected);
    expect(await late).toMatchObject({ code: 'RINGWIRE_CONNECTION_CLOSED' });
    expect(existsSync(socket)).toBe(false);
    expect(cli.stdout).toContain(`ringwire: SIGTERM received\nringwire: draining ${total} requests in flight`);
    expect(cli.stderr + cli.stdout).not.toContain('cut off');
    // It waited for the slowest sleep, not for the drain timeout (10 s).
    expect(Date.now() - signalled).toBeLessThan(5000);
    await expect(connect(socket, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(connect({ host: '127.0.0.1', port }, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    for (const client of clients) expect(client.closed).toBe(true);
  });
});
