import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve, target } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const LIMIT = 4;
const EXTRA = 3;

async function roundTrip(client: RawClient, text: string): Promise<string> {
  const before = client.received;
  await client.send(text);
  await client.waitForBytes(before + text.length);
  return client.bytes().subarray(before).toString();
}

describe.each(transports())('%s transport: maxConnections', (transport) => {
  afterEach(cleanup);

  it.each(SOCKET_KINDS)(`%s: with ${LIMIT} allowed, ${LIMIT + EXTRA} clients leave exactly ${LIMIT} open`, async (kind) => {
    const server = await serve(transport, { listen: [target(kind)], maxConnections: LIMIT });
    echo(server);
    const admitted: RawClient[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const client = await RawClient.connect(server.listeners[0]!);
      expect(await roundTrip(client, `in ${i}`)).toBe(`in ${i}`);
      admitted.push(client);
    }

    // The kernel completes the handshake; the server then closes them at once.
    const refused = await Promise.all(Array.from({ length: EXTRA }, () => RawClient.connect(server.listeners[0]!)));
    await Promise.all(refused.map((client) => client.waitForClose(2000)));
    expect(refused.every((client) => client.received === 0)).toBe(true);

    await sleep(50);
    expect(server.connections.size).toBe(LIMIT);
    expect(server.stats()).toMatchObject({ open: LIMIT, rejected: EXTRA });
    for (const [i, client] of admitted.entries()) {
      expect(client.closed).toBe(false);
      expect(await roundTrip(client, `still ${i}`)).toBe(`still ${i}`);
    }

    admitted[0]!.end();
    await waitUntil(() => server.connections.size === LIMIT - 1, 'a slot to free up');
    const late = await RawClient.connect(server.listeners[0]!);
    expect(await roundTrip(late, 'room again')).toBe('room again');
    expect(server.stats()).toMatchObject({ open: LIMIT, rejected: EXTRA });
  });
});
