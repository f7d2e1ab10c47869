/**
 * PROTOCOL.md 1 and 2-3: bytes are never lost or misread at a read boundary. A
 * conversation in every framing is fed one byte per read, and cut at every offset
 * into two reads (the server is known to have read the first part before the second
 * is sent); every connection must get exactly the answers PROTOCOL.md prescribes,
 * which are also what the same bytes in one write get.
 */
import { describe, expect, it } from 'vitest';
import type { RpcServer } from '../../src/server/createServer.js';
import { matrix, rawClient, startServer, useCleanup } from '../fixtures/harness.js';
import type { Address } from '../helpers/rawClient.js';
import { byteByByte, CONVERSATIONS, canonical, FRAMINGS, type Framing, feedInLockstep, splitAt } from './input-wire.js';

useCleanup();

/** Connections per batch when every offset gets its own connection. */
const BATCH = 40;

/** Opens one connection per chunk list, feeds them in lockstep, half-closes, and returns what each received. */
async function converse(server: RpcServer, address: Address, chunkLists: Uint8Array[][]): Promise<Buffer[]> {
  const clients = await Promise.all(chunkLists.map(() => rawClient(address)));
  await feedInLockstep(server, clients, chunkLists);
  for (const client of clients) client.end();
  await Promise.all(clients.map((client) => client.waitForClose(10_000)));
  return clients.map((client) => client.bytes());
}

function answers(framing: Framing, outputs: Buffer[]): string[][] {
  return outputs.map((bytes) => canonical(framing, bytes));
}

describe.each(matrix())('a conversation split anywhere is answered as one write (%s, %s)', (transport, kind) => {
  it.each(FRAMINGS)('%s in one write gets the answers PROTOCOL.md prescribes', async (framing) => {
    const { server, address } = await startServer(transport, kind);
    const { input, expected } = CONVERSATIONS[framing];
    const [output] = await converse(server, address, [[input]]);
    expect(canonical(framing, output!)).toEqual(expected);
  });

  it('every framing, fed one byte per read, gets the same answers', async () => {
    const { server, address } = await startServer(transport, kind);
    const outputs = await converse(
      server,
      address,
      FRAMINGS.map((f) => byteByByte(CONVERSATIONS[f].input)),
    );
    FRAMINGS.forEach((framing, i) => expect(canonical(framing, outputs[i]!), framing).toEqual(CONVERSATIONS[framing].expected));
  });

  it.each(FRAMINGS)('%s cut into two reads at every offset gets the same answers on every connection', async (framing) => {
    const { server, address } = await startServer(transport, kind);
    const { input, expected } = CONVERSATIONS[framing];
    expect(input.length).toBeGreaterThan(150);
    const offsets = Array.from({ length: input.length - 1 }, (_, i) => i + 1);
    const got: string[][] = [];
    for (let at = 0; at < offsets.length; at += BATCH) {
      const batch = offsets.slice(at, at + BATCH);
      got.push(
        ...answers(
          framing,
          await converse(
            server,
            address,
            batch.map((offset) => splitAt(input, offset)),
          ),
        ),
      );
    }
    const wrong = got.flatMap((answer, i) => (JSON.stringify(answer) === JSON.stringify(expected) ? [] : [offsets[i]]));
    expect(wrong, `offsets answered differently: ${wrong.join(', ')}`).toEqual([]);
    expect(got).toHaveLength(input.length - 1);
  });
});
