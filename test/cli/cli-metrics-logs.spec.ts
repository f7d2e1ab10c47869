/**
 * `ringwire serve --metrics HOST:PORT`, `--log-format` and `--log-level`: the
 * metrics URL is logged (with the real port when 0 is given) and scraped; JSON
 * logs are one object a line; debug adds connection lines; silent prints nothing.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { ensureBuilt, killAll, ringwire, run, serveIn } from '../fixtures/cli.js';
import { delay } from '../fixtures/harness.js';
import { promtoolCheck, sample, scrape } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

describe('ringwire serve --metrics', () => {
  it('logs the URL with the port it bound, and serves the server figures there', async () => {
    const { cli, unix } = await serveIn(tempDir(), ['--metrics', '127.0.0.1:0']);
    const [line] = await cli.lines(/^ringwire: metrics on /);
    expect(line).toMatch(/^ringwire: metrics on http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/);
    const url = line!.slice('ringwire: metrics on '.length);
    const client = await connect(unix);
    expect(await client.call('sum', [1, 2])).toBe(3);
    await client.close();
    const { status, body } = await scrape(url);
    expect(status).toBe(200);
    expect(sample(body, 'ringwire_requests_total{protocol="jsonrpc",outcome="ok"}')).toBe(1);
    expect(sample(body, 'ringwire_processes')).toBe(1);
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('fails before listening when the metrics port is taken, and names the flag', async () => {
    const first = await serveIn(tempDir(), ['--metrics', '127.0.0.1:0']);
    const [line] = await first.cli.lines(/^ringwire: metrics on /);
    const port = /:(\d+)\/metrics$/.exec(line!)![1];
    const result = await run(['serve', '--unix', 'x.sock', '--metrics', `127.0.0.1:${port}`], tempDir());
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringwire: cannot listen on metrics http:\/\/127\.0\.0\.1:\d+: .*EADDRINUSE.*\n$/);
  });

  it('rejects an address that is not HOST:PORT', async () => {
    expect(await run(['serve', '--metrics', 'nowhere'])).toMatchObject({
      code: 1,
      stderr: 'ringwire: --metrics expects HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070 (got nowhere)\n',
    });
  });
});

describe('ringwire serve --log-format / --log-level', () => {
  const records = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('json: one pino object a line, info on stdout and handler failures at warn on stderr', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--unix', 's.sock', '--log-format', 'json'], dir);
    await cli.lines(/listening on unix:/);
    const [backend, listening] = records(cli.stdout);
    // First the io backend's line (native transport), then the listener's.
    expect(backend).toMatchObject({ level: 30, name: 'ringwire', ioBackend: expect.stringMatching(/^(io_uring|epoll|kqueue)$/) });
    expect(listening).toMatchObject({
      level: 30,
      name: 'ringwire',
      listener: `unix:${join(dir, 's.sock')}`,
      msg: expect.stringMatching(/^listening on unix:/),
    });
    expect(listening).toHaveProperty('pid', cli.child.pid);
    const client = await connect(join(dir, 's.sock'));
    await expect(client.call('fail')).rejects.toMatchObject({ code: -32603 });
    await client.close();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(records(cli.stderr)).toEqual([
      expect.objectContaining({
        level: 40,
        method: 'fail',
        code: -32603,
        msg: 'handler fail failed: fail: this handler always fails (-32603)',
      }),
    ]);
    expect(records(cli.stdout).map((r) => r.msg)).toEqual([
      backend!.msg,
      `listening on unix:${join(dir, 's.sock')} (${listening!.transport as string})`,
      'SIGTERM received',
      'draining 0 requests in flight (up to 10 s)',
      'stopped',
    ]);
  });

  it('debug adds a line for each connection opening and closing, with listener and peer', async () => {
    const { cli, unix } = await serveIn(tempDir(), ['--log-level', 'debug']);
    const client = await connect(unix);
    await client.call('ping');
    await client.close();
    const lines = await cli.lines(/^ringwire: debug: connection /, 2);
    expect(lines[0]).toBe(`ringwire: debug: connection open on unix:${unix} from ${lines[0]!.split(' from ')[1]}`);
    expect(lines[1]).toMatch(
      new RegExp(`^ringwire: debug: connection closed on unix:${unix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} from unix`),
    );
  });

  it('silent prints nothing, not even the listeners', async () => {
    const dir = tempDir();
    const cli = ringwire(['serve', '--unix', 's.sock', '--log-level', 'silent'], dir);
    const started = Date.now();
    for (;;) {
      try {
        const client = await connect(join(dir, 's.sock'));
        await client.call('fail').catch(() => undefined);
        await client.close();
        break;
      } catch {
        if (Date.now() - started > 10_000) throw new Error('ringwire serve did not listen');
        await delay(50);
      }
    }
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect({ stdout: cli.stdout, stderr: cli.stderr }).toEqual({ stdout: '', stderr: '' });
  });

  it('rejects an unknown format or level', async () => {
    expect((await run(['serve', '--log-format', 'xml'])).stderr).toBe('ringwire: --log-format must be pretty or json (got xml)\n');
    expect((await run(['serve', '--log-level', 'loud'])).stderr).toBe(
      'ringwire: --log-level must be fatal, error, warn, info, debug, trace or silent (got loud)\n',
    );
  });
});
