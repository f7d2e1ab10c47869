/**
 * Peers that vanish in the middle of things: half-way through a request frame, or
 * while a large answer streams to them. TCP peers reset (RST); Unix peers, which
 * have no reset, close. The server lives on, the handler of an abandoned stream is
 * unsubscribed, and its open fds return to the baseline.
 */
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Handlers } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { matrix, type RawClient, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { request } from '../fixtures/mcp1.js';
import { openFdCount, settledFdCount } from '../helpers/fds.js';
import type { Address } from '../helpers/rawClient.js';

useCleanup();

const CLIENTS_PER_SHAPE = 25;
const json = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["' + 'x'.repeat(2000) + '"]}\n';
const mcp1 = Buffer.from(request(1, 'echo', ['y'.repeat(2000)]));
const lspBody = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["' + 'z'.repeat(2000) + '"]}';
const lsp = `Content-Length: ${lspBody.length}\r\n\r\n${lspBody}`;

/** The first part of a request, cut where each framing is mid-way. */
const HALVES: ReadonlyArray<[string, Uint8Array | string]> = [
  ['half a JSON message', json.slice(0, json.length / 2)],
  ['half an MCP1 header', mcp1.subarray(0, 8)],
  ['an MCP1 header and half its payload', mcp1.subarray(0, 16 + (mcp1.length - 16) / 2)],
  ['half an LSP header', lsp.slice(0, 9)],
  ['an LSP header and half its body', lsp.slice(0, lsp.length / 2)],
];

/** A stream of 64 KiB items, one a millisecond, that never ends by itself. */
function floodHandlers(live: { streams: number; unsubscribed: number }): Handlers {
  const chunk = 'f'.repeat(64 * 1024);
  return {
    ...demoHandlers,
    flood: () =>
      new Observable<string>((subscriber) => {
        live.streams++;
        const timer = setInterval(() => subscriber.next(chunk), 1);
        return () => {
          clearInterval(timer);
          live.streams--;
          live.unsubscribed++;
        };
      }),
    big: () => chunk.repeat(4),
  };
}

function vanish(client: RawClient, kind: 'unix' | 'tcp'): void {
  if (kind === 'tcp') client.socket.resetAndDestroy();
  else client.destroy();
}

async function expectServing(address: Address): Promise<void> {
  const c = await rawClient(address);
  await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
  expect(await readLines(c, 1)).toEqual([{ jsonrpc: '2.0', id: 1, result: 'pong' }]);
  c.destroy();
  await c.waitForClose();
}

describe.each(matrix())('peers that vanish mid-frame or mid-response (%s, %s)', (transport, kind) => {
  it(`survives ${HALVES.length * CLIENTS_PER_SHAPE} peers gone half-way through a request, and frees their fds`, async () => {
    const { server, address } = await startServer(transport, kind);
    await expectServing(address);
    await until(() => server.stats().connections.open === 0, 'the probe to close');
    const baseline = openFdCount();

    const clients: RawClient[] = [];
    for (const [, half] of HALVES) {
      for (let i = 0; i < CLIENTS_PER_SHAPE; i++) {
        const c = await rawClient(address);
        await c.send(half);
        clients.push(c);
      }
    }
    await until(() => server.stats().bytes.in >= clients.length * 8, 'the halves to be read');
    for (const c of clients) vanish(c, kind);

    await until(() => server.stats().connections.open === 0, 'every vanished peer to be closed');
    expect(await settledFdCount(baseline)).toBeLessThanOrEqual(baseline);
    expect(clients.every((c) => c.received === 0)).toBe(true);
    expect(server.stats().requestsInFlight).toBe(0);
    await expectServing(address);
  });

  it('survives peers gone while large answers stream to them, unsubscribes their streams, and frees their fds', async () => {
    const live = { streams: 0, unsubscribed: 0 };
    const { server, address } = await startServer(transport, kind, { handlers: floodHandlers(live) });
    await expectServing(address);
    await until(() => server.stats().connections.open === 0, 'the probe to close');
    const baseline = openFdCount();

    const clients: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await rawClient(address);
      // MCP1 streams items as they come; JSON-RPC gets 40 large answers of 256 KiB.
      if (i % 2 === 0) await c.send(request(1, 'flood'));
      else await c.send(Array.from({ length: 40 }, (_, id) => `{"jsonrpc":"2.0","id":${id},"method":"big"}\n`).join(''));
      clients.push(c);
    }
    // Each has had part of its answer (at least 1 MiB), not all of it.
    await until(() => clients.every((c) => c.received >= 1 << 20), 'a megabyte of answers to each peer', 10_000);
    expect(live.streams).toBe(5);
    for (const c of clients) vanish(c, kind);

    await until(() => server.stats().connections.open === 0, 'every vanished peer to be closed');
    await until(() => live.streams === 0, 'every abandoned stream to be unsubscribed');
    expect(live.unsubscribed).toBe(5);
    await until(() => server.stats().requestsInFlight === 0, 'nothing in flight');
    expect(await settledFdCount(baseline)).toBeLessThanOrEqual(baseline);
    await expectServing(address);
  });
});
