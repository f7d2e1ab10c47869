import type { Subscription } from 'rxjs';
import type { Connection } from '../../src/core/connection.js';
import type { Slice } from '../../src/core/records.js';
import { listen } from '../../src/transport/listen.js';
import type { ListenOptions, ListenTarget, TransportKind, TransportServer } from '../../src/transport/types.js';
import { destroyClients } from './rawClient.js';
import { removeTempDirs, tempSocketPath } from './socketPath.js';
import type { SocketKind } from './transports.js';

const servers = new Set<TransportServer>();
const subscriptions: Subscription[] = [];

/** Listens through `listen()` with the given transport; closed by {@link cleanup}. */
export async function serve(transport: TransportKind, options: Omit<ListenOptions, 'transport'>): Promise<TransportServer> {
  const server = await listen({ ...options, transport });
  servers.add(server);
  return server;
}

/** A listen target of `kind`: a socket in a fresh temp dir, or 127.0.0.1 on a free port. */
export function target(kind: SocketKind, extra: { backlog?: number } = {}): ListenTarget {
  return kind === 'unix' ? { unix: tempSocketPath(), ...extra } : { port: 0, ...extra };
}

/** Keeps a subscription until {@link cleanup}. */
export function track(subscription: Subscription): Subscription {
  subscriptions.push(subscription);
  return subscription;
}

/** Echoes every data record back and ends each connection once its input ends. */
export function echo(server: TransportServer): Subscription {
  return track(
    server.slices$.subscribe((record) => {
      if (record.type === 'data') record.connection.write(record.bytes);
      else if (record.type === 'end') record.connection.end();
    }),
  );
}

/** A slice kept past its emission (`bytes` copied, as the contract requires). */
export interface KeptSlice {
  readonly type: Slice['type'];
  readonly connection: Connection;
  readonly bytes?: Buffer;
}

/** A copy of `record` that outlives its emission. */
export function keep(record: Slice): KeptSlice {
  return record.type === 'data'
    ? { type: 'data', connection: record.connection, bytes: Buffer.from(record.bytes) }
    : { type: record.type, connection: record.connection };
}

/** Records every slice of `source` (copying bytes) into the returned array. */
export function recordSlices(source: TransportServer['slices$']): KeptSlice[] {
  const log: KeptSlice[] = [];
  track(source.subscribe((record) => log.push(keep(record))));
  return log;
}

/** The data a connection has sent, from a {@link recordSlices} log. */
export function dataOf(log: readonly KeptSlice[], connection: Connection): Buffer {
  return Buffer.concat(log.filter((r) => r.connection === connection && r.bytes).map((r) => r.bytes as Buffer));
}

/** afterEach: clients, subscriptions, servers, temp dirs. */
export async function cleanup(): Promise<void> {
  destroyClients();
  for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
  const open = [...servers];
  servers.clear();
  await Promise.all(open.map((server) => server.close()));
  removeTempDirs();
}
