/**
 * The client receives the server's notifications (PROTOCOL.md 6) in every framing,
 * in the order they were sent, at `onNotification` and on `notifications$`,
 * whether they come one per write, several per write or cut across writes. A fake
 * server (test/fixtures/fakeServer.ts) plays the server's side byte by byte.
 */
import { config } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RpcClient, ServerNotification } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { closeFakeServers, type FakeServer, fakeServer, type Received, WIRES } from '../fixtures/fakeServer.js';
import { removeTempDirs } from '../helpers/socketPath.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const clients: RpcClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  closeFakeServers();
  removeTempDirs();
});

describe.each(WIRES)('the client receives server notifications ($name)', (wire) => {
  async function open(react?: (message: Received, server: FakeServer) => void): Promise<{ server: FakeServer; client: RpcClient }> {
    const server = await fakeServer(wire, react);
    const client = await connect(`unix:${server.path}`, wire.options);
    clients.push(client);
    return { server, client };
  }

  it('delivers them in order to onNotification and notifications$, all before the answer they precede', async () => {
    const { client } = await open((message, server) => {
      if (message.method !== 'countdown') return;
      const bytes = Buffer.concat([
        wire.notification('countdown', [2]),
        wire.notification('other'),
        wire.notification('countdown', [1]),
        wire.notification('countdown', [0]),
        wire.result(message.id!, 'done'),
      ]);
      // Cut inside the second notification, and the rest a moment later: the client must put it together.
      const cut = wire.notification('countdown', [2]).length + 7;
      void server.send(bytes.subarray(0, cut));
      setTimeout(() => void server.send(bytes.subarray(cut)), 10);
    });
    const all: ServerNotification[] = [];
    const countdown: unknown[] = [];
    client.notifications$.subscribe((n) => all.push(n));
    client.onNotification('countdown', (params) => countdown.push(params));
    expect(await client.call('countdown', [3])).toBe('done');
    expect(countdown).toEqual([[2], [1], [0]]);
    expect(all).toEqual([
      { method: 'countdown', params: [2] },
      { method: 'other', params: undefined },
      { method: 'countdown', params: [1] },
      { method: 'countdown', params: [0] },
    ]);
  });

  it('answers none of them, with or without a listener', async () => {
    const { server, client } = await open();
    client.onNotification('heard', () => {});
    await server.send(wire.notification('heard', { a: 1 }), wire.notification('unheard', [1]));
    client.onRequest('ping', () => 'pong');
    await server.send(wire.request(wire.serverId(1), 'ping'));
    expect(await server.take()).toMatchObject({ id: wire.serverId(1), result: 'pong' });
    await sleep(20);
    expect(server.received).toHaveLength(1);
  });

  it('stops a listener with the function onNotification returned, and only that one', async () => {
    const { server, client } = await open();
    const first: unknown[] = [];
    const second: unknown[] = [];
    const stopFirst = client.onNotification('tick', (params) => first.push(params));
    client.onNotification('tick', (params) => second.push(params));
    await server.send(wire.notification('tick', [1]));
    await waitUntil(() => second.length === 1, 'the first tick');
    stopFirst();
    await server.send(wire.notification('tick', [2]));
    await waitUntil(() => second.length === 2, 'the second tick');
    expect(first).toEqual([[1]]);
    expect(second).toEqual([[1], [2]]);
  });

  it('a listener that throws is reported as RxJS reports errors, and the others still get every notification', async () => {
    const reported: unknown[] = [];
    config.onUnhandledError = (error) => reported.push(error);
    try {
      const { server, client } = await open();
      const got: unknown[] = [];
      client.onNotification('tick', () => {
        throw new Error('listener bug');
      });
      client.onNotification('tick', (params) => got.push(params));
      await server.send(wire.notification('tick', [1]), wire.notification('tick', [2]));
      await waitUntil(() => got.length === 2 && reported.length === 2, 'both ticks and both reports');
      expect(got).toEqual([[1], [2]]);
      expect(reported).toMatchObject([{ message: 'listener bug' }, { message: 'listener bug' }]);
    } finally {
      config.onUnhandledError = null;
    }
  });

  it('completes notifications$ when the connection closes, from either end', async () => {
    for (const close of ['server', 'client'] as const) {
      const { server, client } = await open();
      let completed = false;
      client.notifications$.subscribe({ complete: () => (completed = true) });
      if (close === 'server') server.hangUp();
      else await client.close();
      await waitUntil(() => completed, `notifications$ to complete when the ${close} closes`);
      // Subscribing later completes at once: nothing is kept for a closed connection.
      let late = false;
      client.notifications$.subscribe({ complete: () => (late = true) });
      expect(late).toBe(true);
    }
  });
});
