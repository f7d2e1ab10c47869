import { statSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

const fixture = fileURLToPath(new URL('../fixtures/workerHandlers.mjs', import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = netServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe.each(transports())('ringwire serve (%s)', (transport) => {
  it('prints one line per listener, with the absolute socket path and the real port', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 'a.sock', '--tcp', '127.0.0.1:0'], dir);
    const lines = await cli.lines(/^ringwire: listening on /, 2);
    expect(lines[0]).toBe(`ringwire: listening on unix:${join(dir, 'a.sock')} (${transport})`);
    expect(lines[1]).toMatch(new RegExp(`^ringwire: listening on tcp:127\\.0\\.0\\.1:[1-9]\\d* \\(${transport}\\)$`));
    const port = Number(/:(\d+) /.exec(lines[1]!)![1]);
    const client = await connect({ host: '127.0.0.1', port });
    expect(await client.call('sum', [2, 3])).toBe(5);
    await client.close();
  });

  it('listens on ./ringwire.sock and 127.0.0.1:7070 when given neither --unix nor --tcp', async (ctx) => {
    if (!(await portFree(7070))) ctx.skip();
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport], dir);
    const lines = await cli.lines(/^ringwire: listening on /, 2);
    expect(lines).toEqual([
      `ringwire: listening on unix:${join(dir, 'ringwire.sock')} (${transport})`,
      `ringwire: listening on tcp:127.0.0.1:7070 (${transport})`,
    ]);
    const client = await connect(join(dir, 'ringwire.sock'), { protocol: 'mcp1' });
    expect(await client.call('echo', ['demo'])).toBe('demo');
    await client.close();
  });

  it('serves a --handlers module in --workers threads', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 's.sock', '--handlers', fixture, '--workers', '2'], dir);
    await cli.lines(/listening on unix:/);
    const client = await connect(join(dir, 's.sock'));
    expect(await client.call('square', [9])).toBe(81);
    expect(await client.call('whereAmI')).toBeGreaterThan(0);
    await client.close();
  });

  it('serves the demo handlers in workers when given --workers alone', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 's.sock', '--workers', '1'], dir);
    await cli.lines(/listening on unix:/);
    const client = await connect(join(dir, 's.sock'), { protocol: 'mcp1' });
    expect(await client.call('stream', [3])).toEqual([0, 1, 2]);
    await expect(client.call('fail')).rejects.toMatchObject({ code: -32603 });
    await client.close();
  });

  it('creates the socket file with --socket-mode', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 's.sock', '--socket-mode', '0660'], dir);
    await cli.lines(/listening on unix:/);
    expect(statSync(join(dir, 's.sock')).mode & 0o777).toBe(0o660);
  });

  it('prints a one-line summary every --stats-every seconds', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 's.sock', '--stats-every', '0.2'], dir);
    await cli.lines(/listening on unix:/);
    const [line] = await cli.lines(/^ringwire: stats: /, 1, 5000);
    expect(line).toMatch(/connections \d+ open\/\d+ total\/\d+ rejected, messages \d+ in\/\d+ out, in flight \d+/);
  });
});
