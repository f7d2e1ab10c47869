import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { delay, transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

describe.each(transports())('ringwire serve on SIGTERM / SIGINT (%s)', (transport) => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: answers in-flight requests, removes the socket file, exits 0', async (signal) => {
    const dir = tempDir();
    const socket = join(dir, 'drain.sock');
    const cli = ringwire(['serve', '--transport', transport, '--unix', socket, '--tcp', '127.0.0.1:0'], dir);
    await cli.lines(/listening on tcp:/);
    const client = await connect(socket, { protocol: 'mcp1' });
    const answers = Promise.all([client.call('sleep', [300]), client.call('sleep', [200]), client.call('echo', ['now'])]);
    await delay(80);
    cli.child.kill(signal);
    expect(await answers).toEqual([300, 200, 'now']);
    expect(await cli.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(cli.stdout).toContain(`ringwire: ${signal} received\nringwire: draining 2 requests in flight`);
    expect(cli.stdout).toMatch(/\nringwire: stopped\n$/);
    await client.close();
  });
});
