import { afterEach, describe, expect, it } from 'vitest';
import type { TransportServer } from '../../src/transport/types.js';
import { openFdCount, settledFdCount } from '../helpers/fds.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const CYCLES = 10_000;
const CONCURRENCY = 100;
/** fds the runtime may open lazily on its own (timers, a worker's pipe): not leaks. */
const SLACK = 4;

/** Odd connections are closed by the server, even ones by the client after the echo. */
function serveClosingHalf(server: TransportServer): void {
  track(
    server.slices$.subscribe((record) => {
      if (record.type === 'data') {
        if (record.connection.id % 2 === 1) record.connection.close();
        else record.connection.write(record.bytes);
      } else if (record.type === 'end') {
        record.connection.end();
      }
    }),
  );
}

async function cycle(server: TransportServer): Promise<void> {
  const client = await RawClient.connect(server.listeners[0]!);
  await client.send('x');
  await client.waitForBytes(1).catch(() => undefined);
  client.destroy();
  await client.waitForClose();
}

async function cycles(server: TransportServer, count: number): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      await cycle(server);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
}

describe.each(transports())('%s transport: no fd leak', (transport) => {
  afterEach(cleanup);

  it.each(SOCKET_KINDS)(`%s: ${CYCLES} connect/close cycles leave no fd behind`, async (kind) => {
    const server = await serve(transport, { listen: [target(kind, { backlog: 1024 })] });
    serveClosingHalf(server);
    // Warm up whatever the runtime opens once (e.g. the transport's poll fd, DNS-free paths).
    await cycles(server, 200);
    await waitUntil(() => server.connections.size === 0, 'warm-up connections to close');
    await sleep(50);
    const before = openFdCount();

    await cycles(server, CYCLES);

    await waitUntil(() => server.connections.size === 0, 'every connection to close', 20_000);
    const after = await settledFdCount(before + SLACK);
    expect(after).toBeLessThanOrEqual(before + SLACK);
    expect(server.stats()).toMatchObject({ open: 0, accepted: CYCLES + 200, rejected: 0 });
  });
});
