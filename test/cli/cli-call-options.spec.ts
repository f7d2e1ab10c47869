import { createServer as netServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, run, serveIn } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';
import { waitUntil } from '../helpers/wait.js';

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

/** A JSON-RPC peer on a Unix socket that records what it is sent and answers as `reply` says. */
class FakeServer {
  received = '';
  closed = 0;
  private readonly server: Server;
  readonly path = join(tempDir(), 'fake.sock');

  constructor(reply: (text: string, socket: Socket) => void = () => {}) {
    this.server = netServer((socket) => {
      socket.setEncoding('utf8').on('data', (text: string) => {
        this.received += text;
        reply(this.received, socket);
      });
      socket.on('error', () => {});
      socket.on('close', () => this.closed++);
    });
  }

  listen(): Promise<this> {
    return new Promise((resolve) => this.server.listen(this.path, () => resolve(this)));
  }

  close(): void {
    this.server.close();
  }
}

const fakes: FakeServer[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.close();
});
function fake(reply?: (text: string, socket: Socket) => void): Promise<FakeServer> {
  const server = new FakeServer(reply);
  fakes.push(server);
  return server.listen();
}

describe('ringwire call --timeout', () => {
  it.each([[['ping']], [['--batch', '[{"method":"ping"}]']]])(
    'gives up on a server that never answers, says so, exits 1 and closes the connection (%j)',
    async (args) => {
      const server = await fake();
      const started = Date.now();
      const result = await run(['call', server.path, ...args, '--timeout', '300']);
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: `ringwire: no answer from unix:${server.path} within 300 ms\n` });
      expect(elapsed).toBeGreaterThanOrEqual(300);
      expect(elapsed).toBeLessThan(5000);
      await waitUntil(() => server.closed === 1, 'the connection to close', 2000);
    },
  );

  it('applies to stats too', async () => {
    const server = await fake();
    const result = await run(['stats', server.path, '--timeout', '200']);
    expect(result).toMatchObject({ code: 1, stderr: `ringwire: no answer from unix:${server.path} within 200 ms\n` });
  });
});

describe('ringwire call --batch', () => {
  it('sends one batch array and prints the answers in the batch order, whatever order they come in', async () => {
    const server = await fake((text, socket) => {
      if (!text.endsWith('\n')) return;
      const batch = JSON.parse(text) as Array<{ id?: number }>;
      const answers = batch.filter((m) => m.id !== undefined).map((m) => ({ jsonrpc: '2.0', id: m.id, result: `answer ${m.id}` }));
      socket.write(JSON.stringify(answers.reverse()) + '\n');
    });
    const batch = [{ method: 'a', params: [1] }, { method: 'log', params: { x: 1 }, notify: true }, { method: 'b' }];
    const result = await run(['call', server.path, '--batch', JSON.stringify(batch)]);
    expect(result).toEqual({ code: 0, stdout: '{"result":"answer 1"}\n{"result":"answer 3"}\n', stderr: '' });
    expect(JSON.parse(server.received)).toEqual([
      { jsonrpc: '2.0', method: 'a', params: [1], id: 1 },
      { jsonrpc: '2.0', method: 'log', params: { x: 1 } },
      { jsonrpc: '2.0', method: 'b', id: 3 },
    ]);
  });

  it('rejects what is not a batch of calls, in plain words', async () => {
    const target = 'unix:/nonexistent/x.sock';
    const cases: Array<[string, string]> = [
      ['[]', '--batch expects a JSON array of calls, e.g. [{"method":"ping"},{"method":"sum","params":[1,2]}]'],
      ['{"method":"ping"}', '--batch expects a JSON array of calls, e.g. [{"method":"ping"},{"method":"sum","params":[1,2]}]'],
      ['[{"method":"ping"},{"params":[1]}]', '--batch member 2 needs a "method" string'],
      ['[{"method":"ping","id":7}]', '--batch member 1 has "id": give only method, params and notify (ids are assigned)'],
      ['[{"method":"ping","params":3}]', '--batch member 1: "params" must be a JSON array or object'],
      ['[1]', '--batch member 1 is not an object'],
    ];
    for (const [batch, message] of cases) {
      expect(await run(['call', target, '--batch', batch])).toEqual({ code: 1, stdout: '', stderr: `ringwire: ${message}\n` });
    }
    expect((await run(['call', target, '--batch', '[{"method":"ping"}]', '--protocol', 'mcp1'])).stderr).toBe(
      'ringwire: --batch is JSON-RPC only: MCP1 has no batches (use --protocol jsonrpc or lsp)\n',
    );
    expect((await run(['call', target, 'ping', '--notify', '--batch', '[]'])).stderr).toMatch(/--notify and --batch do not go together/);
  });
});

describe.each(transports())('ringwire call against ringwire serve (%s)', (transport) => {
  it.each(['jsonrpc', 'lsp'])('--batch over %s: results and errors, one line each, exit 1 if any failed', async (protocol) => {
    const { unix } = await serveIn(tempDir(), ['--transport', transport]);
    const batch =
      '[{"method":"sum","params":[1,2]},{"method":"ping"},{"method":"sum","params":["x"]},{"method":"echo","params":["n"],"notify":true}]';
    const failed = await run(['call', unix, '--batch', batch, '--protocol', protocol]);
    expect(failed.code).toBe(1);
    expect(
      failed.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { result: 3 },
      { result: 'pong' },
      { error: { code: -32602, message: 'Invalid params', data: 'expected an array of numbers' } },
    ]);
    const fine = await run([
      'call',
      unix,
      '--batch',
      '[{"method":"echo","params":[{"a":1}]},{"method":"stream","params":[2]}]',
      '--protocol',
      protocol,
    ]);
    expect(fine).toEqual({ code: 0, stdout: '{"result":{"a":1}}\n{"result":[0,1]}\n', stderr: '' });
  });

  it('--notify sends a notification: nothing printed, exit 0, and the server received it', async () => {
    const { unix } = await serveIn(tempDir(), ['--transport', transport, '--expose-stats']);
    const before = JSON.parse((await run(['stats', unix])).stdout) as { messages: { in: number; out: number } };
    for (const protocol of ['jsonrpc', 'mcp1']) {
      expect(await run(['call', unix, 'echo', '["quiet"]', '--notify', '--protocol', protocol])).toEqual({
        code: 0,
        stdout: '',
        stderr: '',
      });
    }
    expect(await run(['call', unix, '--batch', '[{"method":"ping","notify":true}]'])).toEqual({ code: 0, stdout: '', stderr: '' });
    const after = JSON.parse((await run(['stats', unix])).stdout) as { messages: { in: number; out: number } };
    // Three notifications and the second rpc.stats came in; only the rpc.stats was answered.
    expect(after.messages.in - before.messages.in).toBe(4);
    expect(after.messages.out - before.messages.out).toBe(1);
  });

  it('--timeout cuts a slow call short', async () => {
    const { unix } = await serveIn(tempDir(), ['--transport', transport]);
    const result = await run(['call', unix, 'sleep', '[5000]', '--timeout', '200', '--protocol', 'mcp1']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `ringwire: no answer from unix:${unix} within 200 ms\n` });
    expect(await run(['call', unix, 'sleep', '[10]', '--timeout', '5000'])).toMatchObject({ code: 0, stdout: '10\n' });
  });
});
