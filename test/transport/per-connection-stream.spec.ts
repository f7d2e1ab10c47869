import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.js';
import type { Slice } from '../../src/core/records.js';
import type { TransportServer } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, type KeptSlice, keep, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

interface Recorded {
  readonly log: KeptSlice[];
  completed: boolean;
  subscription?: Subscription;
}

function recordOwn(conn: Connection): Recorded {
  const recorded: Recorded = { log: [], completed: false };
  recorded.subscription = track(
    conn.slices$.subscribe({
      next: (record: Slice) => recorded.log.push(keep(record)),
      complete: () => (recorded.completed = true),
    }),
  );
  return recorded;
}

async function connectBoth(server: TransportServer): Promise<[RawClient, Connection, RawClient, Connection]> {
  const a = await RawClient.connect(server.listeners[0]!);
  await waitUntil(() => server.connections.size === 1, 'a');
  const b = await RawClient.connect(server.listeners[0]!);
  await waitUntil(() => server.connections.size === 2, 'b');
  const [connA, connB] = [...server.connections];
  return [a, connA!, b, connB!];
}

describe.each(transports())('%s transport: connection.slices$', (transport) => {
  afterEach(cleanup);

  describe.each(SOCKET_KINDS)('over %s', (kind) => {
    it("gives just that connection's data, no open record, and completes on its end", async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      echo(server);
      const [a, connA, b, connB] = await connectBoth(server);
      const own = recordOwn(connA);

      await b.send('from b');
      await a.send('from a, ');
      await a.waitForText('from a, ');
      await a.send('twice');
      await b.waitForText('from b');
      a.end();
      await waitUntil(() => own.completed, "a's stream to complete");

      expect(own.log.every((r) => r.connection === connA)).toBe(true);
      expect(own.log.at(-1)!.type).toBe('end');
      expect(own.log.slice(0, -1).every((r) => r.type === 'data')).toBe(true);
      expect(Buffer.concat(own.log.flatMap((r) => (r.bytes ? [r.bytes] : []))).toString()).toBe('from a, twice');
      expect(connB.closed).toBe(false);
    });

    it('a subscription made after the input ended gives the end record and completes', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      track(server.slices$.subscribe());
      const client = await RawClient.connect(server.listeners[0]!, { allowHalfOpen: true });
      await waitUntil(() => server.connections.size === 1, 'the connection');
      const conn = [...server.connections][0]!;
      client.end();
      await waitUntil(() => conn.inputEnded, 'the input to end');

      const own = recordOwn(conn);
      expect(own.log.map((r) => r.type)).toEqual(['end']);
      expect(own.completed).toBe(true);
    });

    it('reads that connection alone while nobody subscribes to the merged stream', async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      const [a, connA, b, connB] = await connectBoth(server);
      await a.send('aaa');
      await b.send('bbbb');
      const own = recordOwn(connA);
      await waitUntil(() => own.log.length === 1, "a's bytes");
      expect(own.log[0]!.bytes!.toString()).toBe('aaa');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(server.stats().bytesIn).toBe(3);
      expect(connB.pausedBy).not.toBe(0);
    });

    it("unsubscribing one connection's stream leaves the merged stream and the connection running", async () => {
      const server = await serve(transport, { listen: [target(kind)] });
      echo(server);
      const [a, connA] = await connectBoth(server);
      const own = recordOwn(connA);
      await a.send('x');
      await waitUntil(() => own.log.length === 1, 'the first record');
      own.subscription!.unsubscribe();
      await a.send('y');
      await a.waitForText('xy');
      expect(a.text()).toBe('xy');
      expect(own.log.map((r) => r.bytes?.toString())).toEqual(['x']);
      expect(own.completed).toBe(false);
      expect(connA.pausedBy).toBe(0);
    });
  });
});
