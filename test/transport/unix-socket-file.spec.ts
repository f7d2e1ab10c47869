import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressInUseError, ListenError, NotASocketError } from '../../src/core/errors.js';
import { RawClient } from '../helpers/rawClient.js';
import { cleanup, echo, serve } from '../helpers/servers.js';
import { tempDir, tempSocketPath } from '../helpers/socketPath.js';
import { transports } from '../helpers/transports.js';

/** Leaves a socket file with no server behind it, as a killed server does. */
function makeStaleSocket(path: string): void {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
  if (!lstatSync(path).isSocket()) throw new Error('no stale socket was left');
}

async function roundTrip(path: string, text: string): Promise<string> {
  const client = await RawClient.connect({ path });
  await client.send(text);
  await client.waitForText(text);
  client.destroy();
  return client.text();
}

function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

describe.each(transports())('%s transport: Unix socket files', (transport) => {
  afterEach(cleanup);

  it('creates the socket with mode 0600 by default', async () => {
    const path = tempSocketPath();
    await serve(transport, { listen: [{ unix: path }] });
    const stat = statSync(path);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it.each([
    ['0660', 0o660],
    ['0666', 0o666],
    ['0700', 0o700],
  ])('creates the socket with mode %s whatever the umask, and restores the umask', async (_, mode) => {
    const path = tempSocketPath();
    const saved = process.umask(0o077);
    try {
      await serve(transport, { listen: [{ unix: path, mode }] });
      expect(statSync(path).mode & 0o777).toBe(mode);
      expect(currentUmask()).toBe(0o077);
    } finally {
      process.umask(saved);
    }
  });

  it('takes over a stale socket file', async () => {
    const path = tempSocketPath();
    makeStaleSocket(path);
    const server = await serve(transport, { listen: [{ unix: path }] });
    echo(server);
    expect(await roundTrip(path, 'taken over')).toBe('taken over');
  });

  it('refuses a path a live server listens on, and the live server keeps working', async () => {
    const path = tempSocketPath();
    const live = await serve(transport, { listen: [{ unix: path }] });
    echo(live);

    const attempt = serve(transport, { listen: [{ unix: path }] });
    await expect(attempt).rejects.toBeInstanceOf(AddressInUseError);
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_ADDRESS_IN_USE' });

    expect(lstatSync(path).isSocket()).toBe(true);
    expect(await roundTrip(path, 'still mine')).toBe('still mine');
  });

  it('never removes a regular file or a directory at the path', async () => {
    const file = join(tempDir(), 'not-a-socket');
    writeFileSync(file, 'precious');
    const attempt = serve(transport, { listen: [{ unix: file }] });
    await expect(attempt).rejects.toBeInstanceOf(NotASocketError);
    await expect(attempt).rejects.toMatchObject({ code: 'RINGWIRE_NOT_A_SOCKET' });
    expect(readFileSync(file, 'utf8')).toBe('precious');

    const dir = join(tempDir(), 'a-dir');
    mkdirSync(dir);
    await expect(serve(transport, { listen: [{ unix: dir }] })).rejects.toBeInstanceOf(NotASocketError);
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it('removes the socket file on close()', async () => {
    const path = tempSocketPath();
    const server = await serve(transport, { listen: [{ unix: path }] });
    echo(server);
    const client = await RawClient.connect({ path });
    expect(existsSync(path)).toBe(true);
    await server.close();
    expect(existsSync(path)).toBe(false);
    await client.waitForClose();
  });

  it('refuses a path too long for sun_path instead of binding a truncated name', async () => {
    const dir = tempDir();
    const path = join(dir, 'x'.repeat(120 - dir.length));
    const attempt = serve(transport, { listen: [{ unix: path }] });
    await expect(attempt).rejects.toBeInstanceOf(ListenError);
    await expect(attempt).rejects.toMatchObject({ errno: 'ENAMETOOLONG' });
    expect(readdirSync(dir)).toEqual([]);
  });
});
