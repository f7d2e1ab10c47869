import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, serveIn } from '../fixtures/cli.js';
import { delay, transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';
import { within } from '../helpers/wait.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

/** A raw connection, and a promise of how long after opening the server closed it. */
function rawSocket(path: string): Promise<{ socket: Socket; closedAfter: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ path });
    socket.once('error', reject);
    socket.once('connect', () => {
      const opened = Date.now();
      const closedAfter = new Promise<number>((done) => socket.once('close', () => done(Date.now() - opened)));
      socket.on('error', () => {});
      socket.resume();
      resolve({ socket, closedAfter });
    });
  });
}

describe.each(transports())('ringwire serve limit flags reach the server (%s)', (transport) => {
  const serve = (...args: string[]) => serveIn(tempDir(), ['--transport', transport, ...args]);

  it('--detect-timeout closes a connection that sends nothing', async () => {
    const { unix } = await serve('--detect-timeout', '200');
    const { closedAfter } = await rawSocket(unix);
    expect(await within(closedAfter, 'the silent connection to be closed', 3000)).toBeGreaterThanOrEqual(150);
  });

  it('--message-timeout closes a connection that leaves a message unfinished', async () => {
    const { unix } = await serve('--message-timeout', '300');
    const { socket, closedAfter } = await rawSocket(unix);
    socket.write('{"jsonrpc":"2.0","id":1,"method":"ping"');
    expect(await within(closedAfter, 'the slow connection to be closed', 3000)).toBeGreaterThanOrEqual(250);
  });

  it('--max-in-flight: a connection with that many requests running is not read until one is answered', async () => {
    const { unix } = await serve('--max-in-flight', '1');
    const client = await connect(unix, { protocol: 'mcp1' });
    const started = Date.now();
    const calls: Array<Promise<unknown>> = [];
    // Separate writes: requests that came in one read are all decoded already.
    for (let i = 0; i < 3; i++) {
      calls.push(client.call('sleep', [300]));
      await delay(30);
    }
    expect(await Promise.all(calls)).toEqual([300, 300, 300]);
    // At most one ran at a time for at least the first two: >= 600 ms, where in parallel they take 360.
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    await client.close();
  });

  it('--concurrency: handlers across all connections wait their turn', async () => {
    const { unix } = await serve('--concurrency', '1');
    const [a, b] = await Promise.all([connect(unix), connect(unix)]);
    const started = Date.now();
    expect(await Promise.all([a.call('sleep', [300]), b.call('sleep', [300])])).toEqual([300, 300]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    await Promise.all([a.close(), b.close()]);
  });

  it('--write-high-water: a stream past 16 times it, unread, is cancelled (-32603)', async () => {
    const { unix } = await serve('--write-high-water', '4096');
    const client = await connect(unix, { protocol: 'mcp1' });
    // 200000 items (about 3.4 MB) are produced in one go: far past 64 KiB unsent, far under the default 16 MiB.
    await expect(client.call('stream', [200_000])).rejects.toMatchObject({ code: -32603 });
    expect(await client.call('echo', ['still here'])).toBe('still here');
    await client.close();
  });

  it('--server-request-timeout: a client that does not answer the demo ask is given up on in that time', async () => {
    const { unix } = await serve('--server-request-timeout', '200');
    const client = await connect(unix);
    // The client has no handler for 'quiet': it answers -32601, so give it none at all.
    const silent = await rawSocket(unix);
    silent.socket.write('{"jsonrpc":"2.0","id":1,"method":"ask","params":["quiet"]}\n');
    let text = '';
    silent.socket.on('data', (d: Buffer) => (text += d.toString()));
    const started = Date.now();
    while (!text.includes('"id":1,"error"') && Date.now() - started < 5000) await delay(10);
    expect(text).toContain('"id":1,"error":{"code":-32603');
    expect(Date.now() - started).toBeLessThan(2000);
    silent.socket.destroy();
    await client.close();
  });

  it("--max-server-requests: past it, a handler's request to its client fails at once", async () => {
    const { unix } = await serve('--max-server-requests', '1');
    const { socket } = await rawSocket(unix);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.write(
      '{"jsonrpc":"2.0","id":1,"method":"ask","params":["first"]}\n{"jsonrpc":"2.0","id":2,"method":"ask","params":["second"]}\n',
    );
    const started = Date.now();
    while (!text.includes('"id":2,"error"') && Date.now() - started < 5000) await delay(10);
    expect(text).toContain('"id":2,"error":{"code":-32603');
    expect(text.match(/"method":"(first|second)"/g)).toEqual(['"method":"first"']);
    socket.destroy();
  });

  it('--drain-timeout bounds the SIGTERM drain, and the drain message says how long', async () => {
    const { cli, unix } = await serve('--drain-timeout', '300');
    const client = await connect(unix, { protocol: 'mcp1' });
    const slow = client.call('sleep', [20_000]).catch((error: unknown) => error);
    await delay(100);
    const signalled = Date.now();
    cli.child.kill('SIGTERM');
    expect(await within(cli.exited, 'ringwire serve to exit', 8000)).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(cli.stdout).toContain('ringwire: SIGTERM received\nringwire: draining 1 request in flight (up to 300 ms)\n');
    expect(cli.stderr).toContain('ringwire: warn: drain timed out; 1 request(s) were cut off\n');
    await slow;
    await client.close();
  });
});
