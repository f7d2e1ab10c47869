import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OptionsError, UnsupportedError } from '../../src/core/errors.js';
import type { ListenOptions } from '../../src/transport/types.js';
import { cleanup, serve } from '../helpers/servers.js';
import { tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';

// Bad or unsupported options are refused up front, before anything is bound.
describe.runIf(transports().includes('net'))('net transport: option checks', () => {
  afterEach(cleanup);

  it('refuses reusePort and allowUids with UnsupportedError and binds nothing', async () => {
    const path = tempSocketPath();
    const reusePort = serve('net', { listen: [{ unix: path }, { port: 0, reusePort: true }] });
    await expect(reusePort).rejects.toBeInstanceOf(UnsupportedError);
    await expect(reusePort).rejects.toMatchObject({ code: 'RINGWIRE_UNSUPPORTED' });
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
