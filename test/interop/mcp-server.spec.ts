/**
 * examples/mcp-server/handlers.mjs (docs/MCP.md), served by createServer() and
 * driven by the official MCP TypeScript SDK's Client over a socket, on every
 * transport and socket kind: initialize, tools, progress, a request from the
 * server answered by the client, and tools/list_changed.
 *
 * The module imports `ringwire`, which resolves to dist/: the server comes from
 * dist/ too, since a server built from src/ would not recognize dist's RpcError
 * (its errors would all be answered -32603).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ListRootsRequestSchema, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RpcServer } from '../../src/server/createServer.js';
import type { TransportKind } from '../../src/transport/types.js';
import { ensureBuilt, ROOT } from '../fixtures/cli.js';
import { matrix, rawClient, readLines, type SocketKind, until, useCleanup } from '../fixtures/harness.js';
import { SocketClientTransport } from '../fixtures/mcpSocketTransport.js';
import type { Address } from '../helpers/rawClient.js';
import { tempSocketPath } from '../helpers/socketPath.js';

type Ringwire = typeof import('../../src/index.js');

const MODULE_PATH = join(ROOT, 'examples', 'mcp-server', 'handlers.mjs');
const MODULE = pathToFileURL(MODULE_PATH).href;

let ringwire: Ringwire;
beforeAll(async () => {
  await ensureBuilt();
  ringwire = (await import(pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href)) as Ringwire;
}, 180_000);

useCleanup();
const servers: RpcServer[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close({ drainTimeoutMs: 50 })));
});

let instances = 0;

/** Serves the example module, a fresh instance of it each time (its tool list is the module's own state). */
async function serve(transport: TransportKind, kind: SocketKind): Promise<Address> {
  const server = await ringwire.createServer({
    listen: [kind === 'unix' ? { unix: tempSocketPath() } : { host: '127.0.0.1', port: 0 }],
    transport,
    handlersModule: `${MODULE}?instance=${++instances}`,
  });
  servers.push(server);
  const listener = server.listeners[0]!;
  return listener.kind === 'unix' ? { path: listener.address } : { host: listener.address, port: listener.port };
}

/** An SDK client, connected and initialized (initialize, then notifications/initialized). */
async function mcpClient(address: Address, setUp: (client: Client) => void = () => {}, roots = false): Promise<Client> {
  const client = new Client({ name: 'ringwire-mcp-server-spec', version: '1.0.0' }, roots ? { capabilities: { roots: {} } } : {});
  setUp(client);
  clients.push(client);
  await client.connect(new SocketClientTransport(address));
  return client;
}

const line = (message: object): string => `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`;
const initializeParams = (protocolVersion: string) => ({ protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } });

describe.each(matrix())('examples/mcp-server/handlers.mjs with the MCP SDK Client (%s, %s)', (transport, kind) => {
  it('initialize negotiates, tools/list lists the tools, an unknown tool is -32602', async () => {
    const client = await mcpClient(await serve(transport, kind));
    expect(client.getServerVersion()).toEqual({ name: 'ringwire-mcp-example', version: '1.0.0' });
    expect(client.getServerCapabilities()).toEqual({ tools: { listChanged: true } });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['count', 'list-roots', 'define']);
    const unknown = await client.callTool({ name: 'nope', arguments: {} }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(McpError);
    expect(unknown).toMatchObject({ code: -32602, message: expect.stringContaining('Unknown tool: nope') });
    // Bad arguments to a known tool are the tool's error, for the model to read.
    expect(await client.callTool({ name: 'count', arguments: { n: 0 } })).toMatchObject({ isError: true });
  });

  it('count: notifications/progress for each step, all written before the result, only when a token was given', async () => {
    const raw = await rawClient(await serve(transport, kind));
    raw.socket.write(line({ id: 1, method: 'initialize', params: initializeParams('2025-11-25') }));
    raw.socket.write(line({ method: 'notifications/initialized' }));
    const call = { name: 'count', arguments: { n: 3 } };
    raw.socket.write(line({ id: 2, method: 'tools/call', params: { ...call, _meta: { progressToken: 'p' } } }));
    raw.socket.write(line({ id: 3, method: 'tools/call', params: call }));
    const progress = (n: number) => ({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 'p', progress: n, total: 3 },
    });
    const result = (id: number) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'Counted to 3' }] } });
    expect((await readLines(raw, 6)).slice(1)).toEqual([progress(1), progress(2), progress(3), result(2), result(3)]);
  });

  it("count: the SDK's onprogress sees the steps in order, before the result", async () => {
    const errors: Error[] = [];
    const client = await mcpClient(await serve(transport, kind), (c) => (c.onerror = (e) => errors.push(e)));
    const events: string[] = [];
    const result = await client
      .callTool({ name: 'count', arguments: { n: 3, delayMs: 20 } }, undefined, {
        onprogress: ({ progress, total }) => events.push(`${progress}/${total}`),
      })
      .then((r) => (events.push('result'), r));
    expect(result.content).toEqual([{ type: 'text', text: 'Counted to 3' }]);
    // The SDK dispatches a notification a microtask late but a response at once, and
    // drops the request's progress handler with it: a step that arrives in the same
    // read as the result is reported as an unknown token instead (typescript-sdk#2580).
    // The wire order is exact (the spec above); here every step the SDK delivers
    // comes in order and before the result, and the first, 40 ms ahead, always does.
    const seen = events.slice(0, -1);
    expect(events.at(-1)).toBe('result');
    expect(seen).toEqual(['1/3', '2/3', '3/3'].slice(0, seen.length));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(errors.map((e) => /unknown token/.test(e.message))).toEqual(Array(3 - seen.length).fill(true));
  });

  it("list-roots sends the client roots/list and answers with the client's roots; only to a client that declared roots", async () => {
    const address = await serve(transport, kind);
    let asked = 0;
    const withRoots = await mcpClient(
      address,
      (c) =>
        c.setRequestHandler(ListRootsRequestSchema, () => {
          asked++;
          return { roots: [{ uri: 'file:///work', name: 'work' }, { uri: 'file:///tmp' }] };
        }),
      true,
    );
    const listed = await withRoots.callTool({ name: 'list-roots', arguments: {} });
    expect(listed).toEqual({ content: [{ type: 'text', text: 'file:///work (work)\nfile:///tmp' }] });
    expect(asked).toBe(1);

    const refusing = await mcpClient(
      address,
      (c) =>
        c.setRequestHandler(ListRootsRequestSchema, () => {
          throw new McpError(-32001, 'not today');
        }),
      true,
    );
    const refused = await refusing.callTool({ name: 'list-roots', arguments: {} });
    expect(refused).toMatchObject({ isError: true, content: [{ type: 'text', text: expect.stringContaining('not today') }] });

    const without = await mcpClient(address);
    const notAsked = await without.callTool({ name: 'list-roots', arguments: {} });
    expect(notAsked).toEqual({ isError: true, content: [{ type: 'text', text: 'The client did not declare the roots capability' }] });
  });

  it('define: tools/list_changed reaches every initialized client and not a connection that did not finish initializing', async () => {
    const address = await serve(transport, kind);
    const told: string[] = [];
    const listening = (name: string) => (c: Client) =>
      c.setNotificationHandler(ToolListChangedNotificationSchema, () => void told.push(name));
    const a = await mcpClient(address, listening('a'));
    const b = await mcpClient(address, listening('b'));
    // Initialize asked and answered, notifications/initialized never sent.
    const raw = await rawClient(address);
    raw.socket.write(line({ id: 1, method: 'initialize', params: initializeParams('2025-11-25') }));
    await readLines(raw, 1);

    const defined = await a.callTool({ name: 'define', arguments: { name: 'greet', text: 'hello' } });
    expect(defined.content).toEqual([{ type: 'text', text: 'Defined greet; told 2 client(s) the tool list changed' }]);
    // The caller's own notification was written before its answer.
    expect(told).toContain('a');
    await until(() => told.includes('b'), 'b told');
    expect(told.sort()).toEqual(['a', 'b']);
    expect((await b.listTools()).tools.map((t) => t.name)).toEqual(['count', 'list-roots', 'define', 'greet']);
    expect((await b.callTool({ name: 'greet', arguments: {} })).content).toEqual([{ type: 'text', text: 'hello' }]);

    // Anything sent to the raw connection before this ping would come before its answer.
    raw.socket.write(line({ id: 2, method: 'ping' }));
    expect((await readLines(raw, 2))[1]).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(raw.text()).not.toContain('list_changed');

    // A client gone is not counted.
    await b.close();
    await until(() => servers[0]!.stats().connections.open === 2, 'b closed on the server');
    const again = await a.callTool({ name: 'define', arguments: { name: 'greet', text: 'hi' } });
    expect(again.content).toEqual([{ type: 'text', text: 'Defined greet; told 1 client(s) the tool list changed' }]);
  });

  it('initialize answers the version asked for when it is supported, else the newest; tools need initialize first', async () => {
    const address = await serve(transport, kind);
    const old = await rawClient(address);
    old.socket.write(line({ id: 1, method: 'tools/list' }));
    old.socket.write(line({ id: 2, method: 'initialize', params: initializeParams('2024-11-05') }));
    old.socket.write(line({ id: 3, method: 'initialize', params: initializeParams('2024-11-05') }));
    const [early, first, second] = (await readLines(old, 3)) as Array<Record<string, unknown>>;
    expect(early).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'Not initialized: send initialize first' } });
    expect(first).toMatchObject({ id: 2, result: { protocolVersion: '2024-11-05', capabilities: { tools: { listChanged: true } } } });
    expect(second).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32600, message: 'Already initialized' } });

    const future = await rawClient(address);
    future.socket.write(line({ id: 1, method: 'initialize', params: initializeParams('2999-01-01') }));
    expect((await readLines(future, 1))[0]).toMatchObject({ id: 1, result: { protocolVersion: '2025-11-25' } });
  });
});

describe('docs/MCP.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'MCP.md'), 'utf8');

  it('quotes the module word for word', () => {
    const source = readFileSync(MODULE_PATH, 'utf8');
    const excerpts = [...doc.matchAll(/```js\n\/\/ examples\/mcp-server\/handlers\.mjs \(excerpt\)\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(excerpts.length).toBeGreaterThanOrEqual(6);
    for (const excerpt of excerpts) expect(source).toContain(excerpt);
  });

  it('shows a session exactly as the server writes it', async () => {
    const session = doc.split('\n').filter((l) => l.startsWith('→ ') || l.startsWith('← '));
    expect(session.length).toBeGreaterThan(10);
    const raw = await rawClient(await serve(matrix()[0]![0], 'unix'));
    let expected = 0;
    for (let i = 0; i < session.length; i++) {
      raw.socket.write(`${session[i]!.slice(2)}\n`);
      // The lines that follow it are read before the next message goes: a server request is seen before it is answered.
      while (session[i + 1]?.startsWith('← ')) {
        expected++;
        i++;
      }
      await readLines(raw, expected);
    }
    expect(raw.text().split('\n').filter(Boolean)).toEqual(session.filter((l) => l.startsWith('← ')).map((l) => l.slice(2)));
  });
});
