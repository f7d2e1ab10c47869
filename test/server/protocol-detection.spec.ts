import { describe, expect, it } from 'vitest';
import { lspBytes } from '../../src/testing/wire.js';
import { delay, matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

const UNKNOWN = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Unrecognized protocol"}}\n';

describe.each(matrix())('protocol detection (%s, %s)', (transport, kind) => {
  async function client(options = {}) {
    const { address } = await startServer(transport, kind, options);
    return rawClient(address);
  }

  it('speaks MCP1 to a connection that opens with MCP1', async () => {
    const c = await client();
    await c.send(request(1, 'ping'));
    expect(await readFrames(c, 1)).toMatchObject([{ type: 2, id: 1, value: 'pong' }]);
  });

  it.each([
    ['{', '{"jsonrpc":"2.0","id":1,"method":"ping"}\n'],
    ['[', '[{"jsonrpc":"2.0","id":1,"method":"ping"}]\n'],
    ['whitespace, then {', ' \t\r\n {"jsonrpc":"2.0","id":1,"method":"ping"}\n'],
  ])('speaks JSON-RPC to a connection that opens with %s', async (_name, input) => {
    const c = await client();
    await c.send(input);
    const [answer] = await readLines(c, 1);
    expect(JSON.stringify(answer)).toContain('"result":"pong"');
  });

  it.each(['Content-Length', 'content-length', 'CONTENT-LENGTH'])('speaks LSP to a connection that opens with %s:', async (name) => {
    const c = await client();
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    await c.send(`${name}: ${body.length}\r\n\r\n${body}`);
    const expected = '{"jsonrpc":"2.0","id":1,"result":"pong"}';
    await c.waitForText(`Content-Length: ${expected.length}\r\n\r\n${expected}`);
    expect(c.text()).toBe(`Content-Length: ${expected.length}\r\n\r\n${expected}`);
  });

  it('writes the exact unknown-protocol line, then closes', async () => {
    const c = await client();
    await c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitForClose();
    expect(c.text()).toBe(UNKNOWN);
  });

  it('treats a PROXY header as unknown on a listener that does not expect one', async () => {
    const c = await client();
    await c.send('PROXY TCP4 10.0.0.1 10.0.0.2 1234 80\r\n{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await c.waitForClose();
    expect(c.text()).toBe(UNKNOWN);
  });

  it('closes a connection that sends nothing decisive within detectTimeoutMs, writing nothing', async () => {
    const c = await client({ limits: { detectTimeoutMs: 100 } });
    await c.send('  \n ');
    await c.waitForClose(3000);
    expect(c.received).toBe(0);
  });

  it('keeps a connection that decided before detectTimeoutMs', async () => {
    const c = await client({ limits: { detectTimeoutMs: 100 } });
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    await readLines(c, 1);
    await delay(250);
    expect(c.closed).toBe(false);
    await c.send('{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    expect(await readLines(c, 2)).toHaveLength(2);
  });

  it('loses no byte at the boundary when MCP1 arrives one byte per write', async () => {
    const c = await client();
    const bytes = Buffer.concat([request(1, 'echo', ['a']), request(2, 'echo', ['b'])]);
    for (const byte of bytes) {
      await c.send(Buffer.from([byte]));
      await delay(1);
    }
    const frames = await readFrames(c, 2);
    expect(frames.map((f) => [f.id, f.value])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('loses no byte at the boundary when JSON and LSP messages are split across writes', async () => {
    const json = await client();
    for (const part of [
      ' ',
      '\n',
      '{"jsonr',
      'pc":"2.0","id":1,"method":"echo","params":["s"]}{"jsonrpc":"2.0","id":2,',
      '"method":"ping"}\n',
    ]) {
      await json.send(part);
      await delay(5);
    }
    expect(await readLines(json, 2)).toEqual([
      { jsonrpc: '2.0', id: 1, result: 's' },
      { jsonrpc: '2.0', id: 2, result: 'pong' },
    ]);
    const lsp = await client();
    const bytes = Buffer.from(lspBytes('{"jsonrpc":"2.0","id":3,"method":"ping"}'));
    const cuts = [0, 3, 9, 17, 30, bytes.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      await lsp.send(bytes.subarray(cuts[i], cuts[i + 1]));
      await delay(5);
    }
    await lsp.waitForText('Content-Length: 40\r\n\r\n{"jsonrpc":"2.0","id":3,"result":"pong"}');
    expect(lsp.text()).toBe('Content-Length: 40\r\n\r\n{"jsonrpc":"2.0","id":3,"result":"pong"}');
  });
});
