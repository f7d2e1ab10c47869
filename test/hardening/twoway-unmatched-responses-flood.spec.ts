/**
 * A client that floods the server with answers to requests it never got
 * (PROTOCOL.md 6.1): each is dropped and counted, none is answered, nothing is
 * kept, and the connection goes on serving.
 */
import { describe, expect, it } from 'vitest';
import { matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { call, readWritten, written } from '../fixtures/wire.js';

useCleanup();

const FLOOD = 50_000;

describe.each(matrix())('a client flooding answers that match nothing (%s, %s)', (transport, kind) => {
  it('has every one dropped and counted, is answered nothing for them, and is still served', async () => {
    const { address, server } = await startServer(transport, kind);
    const client = await rawClient(address);
    let flood = '';
    for (let i = 0; i < FLOOD; i++) flood += `{"jsonrpc":"2.0","id":"s${i}","result":${i}}\n`;
    client.socket.write(flood);
    await until(() => server.stats().messages.responsesDropped === FLOOD, 'every answer counted', 20_000);
    client.socket.write(call('jsonrpc', 1, 'ping'));
    expect(await readWritten('jsonrpc', client, 1)).toEqual([{ kind: 'result', id: 1, result: 'pong' }]);
    expect(written('jsonrpc', client)).toHaveLength(1);
  }, 60_000);
});
