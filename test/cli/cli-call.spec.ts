import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, ringwire, run } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

describe.each(transports())('ringwire call and stats (%s)', (transport) => {
  async function server(extra: string[] = []) {
    const dir = tempDir();
    const cli = ringwire(['serve', '--transport', transport, '--unix', 's.sock', '--tcp', '127.0.0.1:0', ...extra], dir);
    const [tcp] = await cli.lines(/listening on tcp:/);
    const port = Number(/:(\d+) /.exec(tcp!)![1]);
    return { unix: join(dir, 's.sock'), tcp: `127.0.0.1:${port}` };
  }

  it('prints the JSON result, over each target form and protocol', async () => {
    const { unix, tcp } = await server();
    expect(await run(['call', unix, 'sum', '[1,2,3]'])).toMatchObject({ code: 0, stdout: '6\n' });
    expect(await run(['call', `unix:${unix}`, 'echo', '[{"a":1}]', '--protocol', 'mcp1'])).toMatchObject({ code: 0, stdout: '{"a":1}\n' });
    expect(await run(['call', `tcp://${tcp}`, 'stream', '[3]', '--protocol', 'lsp'])).toMatchObject({ code: 0, stdout: '[0,1,2]\n' });
    expect(await run(['call', tcp, 'ping', '--protocol', 'mcp1', '--json'])).toMatchObject({ code: 0, stdout: '"pong"\n' });
  });

  it('prints an error reply on stderr and exits 1', async () => {
    const { unix } = await server();
    const result = await run(['call', unix, 'sum', '[1,"x"]']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ringwire: error -32602: Invalid params/);
  });

  it('prints rpc.stats with --expose-stats, and says why without it', async () => {
    const shown = await server(['--expose-stats']);
    const result = await run(['stats', shown.unix]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ transport, connections: { open: 1 } });
    const hidden = await server();
    const refused = await run(['stats', hidden.unix]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('ringwire: the server does not expose rpc.stats (start it with --expose-stats)\n');
  });
});
