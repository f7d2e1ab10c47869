import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError, UnsupportedError } from '../../src/core/errors.js';
import { netReusePort } from '../../src/transport/net.js';
import type { ListenOptions } from '../../src/transport/types.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve } from '../helpers/servers.js';
import { tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';
import { waitUntil } from '../helpers/wait.js';

// Bad or unsupported options are refused up front, before anything is bound.
describe.runIf(transports().includes('net'))('net transport: option checks', () => {
  afterEach(cleanup);

  it.runIf(!netReusePort())('refuses reusePort before Node 22.12 with UnsupportedError and binds nothing', async () => {
    const path = tempSocketPath();
    const reusePort = serve('net', { listen: [{ unix: path }, { port: 0, reusePort: true }] });
    await expect(reusePort).rejects.toBeInstanceOf(UnsupportedError);
    await expect(reusePort).rejects.toMatchObject({ code: 'RINGWIRE_UNSUPPORTED' });
    expect(existsSync(path)).toBe(false);
  });

  it.runIf(netReusePort())('binds reusePort from Node 22.12: two servers share one port and both are reached', async () => {
    const first = await serve('net', { listen: [{ port: 0, reusePort: true }] });
    const port = first.listeners[0]!.port;
    const second = await serve('net', { listen: [{ port, reusePort: true }] });
    expect(second.listeners[0]!.port).toBe(port);
    echo(first);
    echo(second);
    const clients = await Promise.all(Array.from({ length: 32 }, () => RawClient.connect(first.listeners[0]!)));
    await waitUntil(() => first.stats().accepted + second.stats().accepted === 32, 'every connection accepted');
    expect(first.stats().accepted).toBeGreaterThan(0);
    expect(second.stats().accepted).toBeGreaterThan(0);
    for (const client of clients) client.destroy();
  });

  it('refuses allowUids with UnsupportedError and binds nothing', async () => {
    const path = tempSocketPath();
    await expect(serve('net', { listen: [{ unix: path, allowUids: [0] }] })).rejects.toBeInstanceOf(UnsupportedError);
    expect(existsSync(path)).toBe(false);
  });

  it.each<[string, Omit<ListenOptions, 'transport'>]>([
    ['no targets', { listen: [] }],
    ['a port out of range', { listen: [{ port: 70000 }] }],
    ['a mode beyond permission bits', { listen: [{ unix: '/tmp/rw-never.sock', mode: 0o4777 }] }],
    ['maxConnections 0', { listen: [{ port: 0 }], maxConnections: 0 }],
  ])('refuses %s with OptionsError', async (_, options) => {
    await expect(serve('net', options)).rejects.toBeInstanceOf(OptionsError);
  });
});
