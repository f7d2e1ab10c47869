import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError } from '../../src/core/errors.js';
import { openFdCount, settledFdCount } from '../helpers/fds.js';
import { cleanup, serve } from '../helpers/servers.js';
import { tempDir, tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';

let squatter: Server | undefined;

/** A port some other program holds. */
function busyPort(): Promise<number> {
  return new Promise((resolve) => {
    squatter = createServer().listen({ host: '127.0.0.1', port: 0 }, () => resolve((squatter!.address() as AddressInfo).port));
  });
}

describe.each(transports())('%s transport: listen failures', (transport) => {
  afterEach(async () => {
    await new Promise((resolve) => (squatter ? squatter.close(resolve) : resolve(undefined)));
    squatter = undefined;
    await cleanup();
  });

  it('rejects with ListenError EADDRINUSE for a TCP port in use', async () => {
    const port = await busyPort();
    const attempt = serve(transport, { listen: [{ port }] });
    await expect(attempt).rejects.toBeInstanceOf(ListenError);
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_LISTEN_FAILED', errno: 'EADDRINUSE' });
    await expect(attempt).rejects.toThrow(`127.0.0.1:${port}`);
    // Said once, in plain words, alike on both transports (the native one once named the listener twice).
    await expect(attempt).rejects.toThrow(
      new RegExp(`^cannot listen on tcp:127\\.0\\.0\\.1:${port}: the address is already in use \\(EADDRINUSE\\)$`),
    );
  });

  it('rejects with ListenError for a socket path whose directory does not exist', async () => {
    const path = join(tempDir(), 'missing', 's.sock');
    await expect(serve(transport, { listen: [{ unix: path }] })).rejects.toMatchObject({
      code: 'RINGWIRE_LISTEN_FAILED',
      errno: 'ENOENT',
      message: `cannot listen on unix:${path}: directory ${join(path, '..')} does not exist`,
    });
  });

  it('leaves nothing listening when a later target fails', async () => {
    const port = await busyPort();
    const path = tempSocketPath();
    const fds = openFdCount();
    await expect(serve(transport, { listen: [{ unix: path }, { port: 0 }, { port }] })).rejects.toMatchObject({
      errno: 'EADDRINUSE',
    });
    expect(existsSync(path)).toBe(false);
    expect(await settledFdCount(fds)).toBeLessThanOrEqual(fds);
  });
});
