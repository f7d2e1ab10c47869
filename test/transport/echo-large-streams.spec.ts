import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, sha256 } from '../helpers/rawClient.js';
import { cleanup, echo, serve, target } from '../helpers/servers.js';
import { SOCKET_KINDS, transports } from '../helpers/transports.js';

describe.each(transports())('%s transport: echo of large streams', (transport) => {
  afterEach(cleanup);

  describe.each(SOCKET_KINDS)('over %s', (kind) => {
    it.each([1, 64])('echoes a %i MiB stream byte-exact, with write backpressure on both sides', async (mib) => {
      const server = await serve(transport, { listen: [target(kind)] });
      echo(server);
      const payload = randomBytes(mib * 1024 * 1024);
      const client = await RawClient.connect(server.listeners[0]!, { keep: false });

      await client.sendAll(payload);
      client.end();
      await client.waitForEnd(20_000);

      expect(client.received).toBe(payload.length);
      expect(client.digest()).toBe(sha256(payload));
      expect(server.stats()).toMatchObject({ accepted: 1, bytesIn: payload.length, bytesOut: payload.length });
    });
  });
});
