/**
 * 8,000 concurrent connections, half over a Unix socket and half over TCP, half
 * speaking JSON-RPC and half MCP1, every one of them with requests in flight at the
 * same time: every request is answered, on its own connection, and none is lost.
 * Server and clients share this process: 16,000 fds of the 20,000 it may hold.
 */
import { describe, expect, it } from 'vitest';
import { lines, RawClient, startServer, transports, until, useCleanup } from '../fixtures/harness.js';
import { parseFrames, request } from '../fixtures/mcp1.js';
import { addressOf } from '../helpers/rawClient.js';
import { tempSocketPath } from '../helpers/socketPath.js';

useCleanup();

const CONNECTIONS = 8000;
/** Connects in waves: the listen backlog (somaxconn 4096) must not overflow. */
const CONNECT_WAVE = 500;

/** Three pipelined requests whose answers name the connection they came from. */
function requests(i: number): Uint8Array | string {
  if (i % 4 < 2) {
    return (
      `{"jsonrpc":"2.0","id":1,"method":"echo","params":[${i}]}\n` +
      `{"jsonrpc":"2.0","id":2,"method":"sum","params":[${i},1]}\n` +
      `{"jsonrpc":"2.0","id":3,"method":"ping"}\n`
    );
  }
  return Buffer.concat([request(1, 'echo', [i]), request(2, 'sum', [i, 1]), request(3, 'ping')]);
}

function answers(i: number, client: RawClient): Array<[number, unknown]> | undefined {
  if (i % 4 < 2) {
    const text = client.text();
    if ((text.match(/\n/g) ?? []).length < 3) return undefined;
    return (lines(text) as Array<{ id: number; result: unknown }>).map((a) => [a.id, a.result]);
  }
  const frames = parseFrames(client.bytes());
  return frames.length < 3 ? undefined : frames.map((f) => [f.id, f.value]);
}

describe.each(transports())('%s: 8,000 concurrent connections with traffic on all', (transport) => {
  it('answers every request of every connection, and loses none', async () => {
    const { server } = await startServer(transport, 'unix', {
      listen: [
        { unix: tempSocketPath(), backlog: 4096 },
        { host: '127.0.0.1', port: 0, backlog: 4096 },
      ],
    });
    const targets = server.listeners.map(addressOf);
    const clients: RawClient[] = [];
    for (let start = 0; start < CONNECTIONS; start += CONNECT_WAVE) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(CONNECT_WAVE, CONNECTIONS - start) }, (_, k) => RawClient.connect(targets[(start + k) % 2]!)),
      );
      clients.push(...wave);
    }
    await until(() => server.stats().connections.open === CONNECTIONS, `${CONNECTIONS} open connections`, 20_000);

    // Every connection open at once, then every one sends.
    for (const [i, c] of clients.entries()) c.socket.write(requests(i));
    const pending = new Set(clients.keys());
    await until(
      () => {
        for (const i of pending) if (answers(i, clients[i]!) !== undefined || clients[i]!.closed) pending.delete(i);
        return pending.size === 0;
      },
      'every connection to be answered',
      20_000,
    );

    const wrong: string[] = [];
    for (const [i, c] of clients.entries()) {
      const got = answers(i, c);
      const sorted = got?.sort((a, b) => a[0] - b[0]);
      if (
        c.closed ||
        JSON.stringify(sorted) !==
          JSON.stringify([
            [1, i],
            [2, i + 1],
            [3, 'pong'],
          ])
      )
        wrong.push(`${i}: ${JSON.stringify(got)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    const stats = server.stats();
    expect(stats.messages.in).toBe(3 * CONNECTIONS);
    expect(stats.messages.out).toBe(3 * CONNECTIONS);
    expect(stats.connections.rejected).toBe(0);
    expect(stats.requestsInFlight).toBe(0);

    for (const c of clients) c.end();
    await until(() => server.stats().connections.open === 0, 'every connection to close', 20_000);
  }, 60_000);
});
