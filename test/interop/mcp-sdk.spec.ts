import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/core/errors.js';
import type { Handlers } from '../../src/core/records.js';
import { ErrorCode } from '../../src/core/wire/jsonrpc.js';
import { matrix, startServer, useCleanup } from '../fixtures/harness.js';
import { SocketClientTransport } from '../fixtures/mcpSocketTransport.js';

useCleanup();

/** A minimal MCP server as plain ringwire handlers: one tool, `add`. */
function mcpHandlers(seen: string[]): Handlers {
  return {
    initialize: (params) => ({
      protocolVersion: (params as { protocolVersion: string }).protocolVersion,
      capabilities: { tools: {} },
      serverInfo: { name: 'ringwire-test', version: '1.0.0' },
    }),
    'notifications/initialized': () => void seen.push('initialized'),
    'tools/list': () => ({
      tools: [
        {
          name: 'add',
          description: 'Adds two numbers',
          inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
        },
      ],
    }),
    'tools/call': (params) => {
      const { name, arguments: args } = params as { name: string; arguments: { a: number; b: number } };
      if (name !== 'add') throw new RpcError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
      return { content: [{ type: 'text', text: String(args.a + args.b) }] };
    },
  };
}

describe.each(matrix())('the official MCP TypeScript SDK Client (%s, %s)', (transport, kind) => {
  it('initializes, lists tools and calls one', async () => {
    const seen: string[] = [];
    const { address } = await startServer(transport, kind, { handlers: mcpHandlers(seen) });
    const client = new Client({ name: 'interop-test', version: '1.0.0' });
    await client.connect(new SocketClientTransport(address));
    expect(client.getServerVersion()).toEqual({ name: 'ringwire-test', version: '1.0.0' });
    expect(client.getServerCapabilities()).toEqual({ tools: {} });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['add']);
    const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    expect(seen).toEqual(['initialized']);
    await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/Unknown tool: nope/);
    await client.close();
  });
});
