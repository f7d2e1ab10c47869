/**
 * `$/cancelRequest` `{id}` cancels a request on every JSON-RPC connection, as
 * ringwire's own client sends it (src/client/jsonCodec.ts): NDJSON, concatenated
 * JSON and Content-Length framing alike. The handler's ctx.signal fires and the
 * request is answered -32800 "Request cancelled", unless it was already answered
 * (PROTOCOL.md 3 says the same of MCP1's cancel frame).
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers, sleep } from '../../src/handlers/demo.js';
import { delay, matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { jsonValues } from '../fixtures/wire.js';
import type { RawClient } from '../helpers/rawClient.js';

useCleanup();

const CANCELLED = { code: -32800, message: 'Request cancelled' };
const SLEEP_MS = 10_000;

type Framing = 'ndjson' | 'concatenated' | 'lsp';

function message(framing: Framing, value: unknown): string {
  const body = JSON.stringify(value);
  if (framing === 'lsp') return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return framing === 'ndjson' ? `${body}\n` : body;
}

const sleepFor = (id: number) => ({ jsonrpc: '2.0', id, method: 'sleep', params: [SLEEP_MS] });
const cancelOf = (id: number) => ({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } });
const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

/** The JSON values the server wrote, NDJSON or Content-Length framed. */
function answers(client: RawClient, framing: Framing): unknown[] {
  return jsonValues(client.text(), framing === 'lsp');
}

async function answered(client: RawClient, framing: Framing, count: number, timeoutMs = 2000): Promise<unknown[]> {
  await until(() => answers(client, framing).length >= count, `${count} answers`, timeoutMs);
  return answers(client, framing);
}

describe.each(matrix())('$/cancelRequest over JSON-RPC (%s, %s)', (transport, kind) => {
  /** The demo sleep handler, watched: which calls saw their ctx.signal fire. */
  function watchedSleep() {
    const aborted: unknown[] = [];
    const watched = (params: unknown, ctx: HandlerContext) => {
      ctx.signal.addEventListener('abort', () => aborted.push(params));
      return sleep(params, ctx);
    };
    return { aborted, handlers: { ...demoHandlers, sleep: watched } };
  }

  it.each(['ndjson', 'concatenated', 'lsp'] as const)('on %s: fires the handler signal and answers -32800 at once', async (framing) => {
    const { aborted, handlers } = watchedSleep();
    const { server, address } = await startServer(transport, kind, { handlers });
    const c = await rawClient(address);
    await c.send(message(framing, sleepFor(1)));
    await until(() => server.stats().requestsInFlight === 1, 'the sleep in flight');
    const started = Date.now();
    await c.send(message(framing, cancelOf(1)) + message(framing, ping(2)));
    const got = await answered(c, framing, 2);
    expect(Date.now() - started).toBeLessThan(SLEEP_MS / 2);
    expect(got).toContainEqual({ jsonrpc: '2.0', id: 1, error: CANCELLED });
    expect(got).toContainEqual({ jsonrpc: '2.0', id: 2, result: 'pong' });
    expect(aborted).toEqual([[SLEEP_MS]]);
    await until(() => server.stats().requestsInFlight === 0, 'nothing in flight');
    expect(c.closed).toBe(false);
  });

  it.each(['ndjson', 'concatenated', 'lsp'] as const)(
    'on %s: cancels a request sent in the same read, and nothing for one already answered',
    async (framing) => {
      const { aborted, handlers } = watchedSleep();
      const { address } = await startServer(transport, kind, { handlers });
      const c = await rawClient(address);
      await c.send(message(framing, sleepFor(1)) + message(framing, cancelOf(1)));
      expect(await answered(c, framing, 1)).toEqual([{ jsonrpc: '2.0', id: 1, error: CANCELLED }]);
      await c.send(message(framing, ping(2)));
      await answered(c, framing, 2);
      // Cancelling what was answered (or never sent) writes nothing: only the ping after it is answered.
      await c.send(message(framing, cancelOf(2)) + message(framing, cancelOf(99)) + message(framing, ping(3)));
      await answered(c, framing, 3);
      await delay(20);
      expect(answers(c, framing)).toEqual([
        { jsonrpc: '2.0', id: 1, error: CANCELLED },
        { jsonrpc: '2.0', id: 2, result: 'pong' },
        { jsonrpc: '2.0', id: 3, result: 'pong' },
      ]);
      expect(aborted).toEqual([[SLEEP_MS]]);
    },
  );

  it.each(['jsonrpc', 'lsp'] as const)("ringwire's own %s client cancels through its signal", async (protocol) => {
    const { aborted, handlers } = watchedSleep();
    const { server, target } = await startServer(transport, kind, { handlers });
    const client = await connect(target, { protocol });
    const controller = new AbortController();
    const call = client.call('sleep', [SLEEP_MS], { signal: controller.signal });
    await until(() => server.stats().requestsInFlight === 1, 'the sleep in flight');
    controller.abort(new Error('gave up'));
    await expect(call).rejects.toThrow('gave up');
    await until(() => aborted.length === 1 && server.stats().requestsInFlight === 0, 'the server to cancel the sleep', 2000);
    expect(server.stats().errors['-32800']).toBe(1);
    expect(await client.call('ping')).toBe('pong');
    await client.close();
  });
});
