import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/core/connection.js';
import type { ConnectionEvent } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, recordSlices, serve, target, track } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

describe.each(transports())('%s transport: peers that reset or vanish', (transport) => {
  afterEach(cleanup);

  it('a TCP reset gives an end record and a close event with ECONNRESET; the server goes on', async () => {
    const server = await serve(transport, { listen: [target('tcp')] });
    echo(server);
    const log = recordSlices(server.slices$);
    const events: ConnectionEvent[] = [];
    track(server.connections$.subscribe((event) => events.push(event)));

    const client = await RawClient.connect(server.listeners[0]!);
    await client.send('hello');
    await client.waitForText('hello');
    const conn = [...server.connections][0]!;
    client.socket.resetAndDestroy();

    await waitUntil(() => conn.closed, 'the server to see the reset');
    const own = log.filter((r) => r.connection === conn).map((r) => r.type);
    expect(own).toEqual(['open', 'data', 'end']);
    expect(events.map((e) => e.type)).toEqual(['open', 'close']);
    expect(events[1]!.error).toBe('ECONNRESET');
    expect(conn.inputEnded).toBe(true);
    expect(server.connections.size).toBe(0);
    expect(conn.write(Buffer.from('late'))).toBe(false);

    const next = await RawClient.connect(server.listeners[0]!);
    await next.send('after');
    await next.waitForText('after');
    expect(next.text()).toBe('after');
  });

  it.each(SOCKET_KINDS)('over %s: a peer gone while the server writes fails only that connection', async (kind) => {
    const server = await serve(transport, { listen: [target(kind)] });
    const closes: ConnectionEvent[] = [];
    track(server.connections$.subscribe((event) => event.type === 'close' && closes.push(event)));
    const block = Buffer.alloc(256 * 1024, 0x61);
    let writer: Connection | undefined;
    track(
      server.slices$.subscribe((record) => {
        if (record.type === 'data' && record.connection === writer) {
          // Keep the pipe full: 8 MiB of output the peer never reads.
          for (let i = 0; i < 32; i++) record.connection.write(block);
        } else if (record.type === 'data') {
          record.connection.write(record.bytes);
        } else if (record.type === 'end') {
          record.connection.end();
        }
      }),
    );
    const victim = await RawClient.connect(server.listeners[0]!, { read: false });
    await waitUntil(() => server.connections.size === 1, 'the victim to be accepted');
    writer = [...server.connections][0]!;
    await victim.send('go');
    await waitUntil(() => writer!.writableLength > 0, 'output to queue up');

    if (kind === 'tcp') victim.socket.resetAndDestroy();
    else victim.destroy();
    await waitUntil(() => writer!.closed, 'the server to notice the peer is gone');

    expect(closes).toHaveLength(1);
    expect(['ECONNRESET', 'EPIPE']).toContain(closes[0]!.error);
    expect(writer.write(block)).toBe(false);
    expect(writer.writableLength).toBe(0);

    const next = await RawClient.connect(server.listeners[0]!);
    await next.send('alive');
    await next.waitForText('alive');
    expect(next.text()).toBe('alive');
  });
});
