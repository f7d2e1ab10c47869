import { describe, expect, it } from 'vitest';
import { delay, matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';

useCleanup();

const TOO_LARGE = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}\n';
const PARSE_ERROR = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };

describe.each(matrix())('JSON-RPC framing (%s, %s)', (transport, kind) => {
  async function client(options = {}) {
    const { address } = await startServer(transport, kind, options);
    return rawClient(address);
  }

  it('reads NDJSON and writes each response followed by a newline', async () => {
    const c = await client();
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await readLines(c, 2);
    expect(c.text()).toBe('{"jsonrpc":"2.0","id":1,"result":"pong"}\n{"jsonrpc":"2.0","id":2,"result":"pong"}\n');
  });

  it('reads concatenated JSON with no separator, and values separated by any whitespace', async () => {
    const c = await client();
    await c.send(
      '{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}\t \r\n[{"jsonrpc":"2.0","id":3,"method":"ping"}]',
    );
    const out = await readLines(c, 3);
    expect(out).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'pong' },
      { jsonrpc: '2.0', id: 2, result: 'pong' },
      [{ jsonrpc: '2.0', id: 3, result: 'pong' }],
    ]);
  });

  it('answers a value that is not JSON with -32700 and goes on reading', async () => {
    const c = await client();
    await c.send(
      '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"echo","params":[tru]}\n{"jsonrpc":"2.0","id":3,"method":"ping"}\n',
    );
    expect(await readLines(c, 3)).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'pong' },
      PARSE_ERROR,
      { jsonrpc: '2.0', id: 3, result: 'pong' },
    ]);
  });

  it('skips bytes that start no value to the next newline', async () => {
    const c = await client();
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\nhello there {"not":"read"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    expect(await readLines(c, 3)).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'pong' },
      PARSE_ERROR,
      { jsonrpc: '2.0', id: 2, result: 'pong' },
    ]);
  });

  it('respects brackets inside strings when finding the end of a value', async () => {
    const c = await client();
    await c.send('{"jsonrpc":"2.0","id":"}{","method":"echo","params":["]\\"["]}{"jsonrpc":"2.0","id":2,"method":"ping"}');
    expect(await readLines(c, 2)).toEqual([
      { jsonrpc: '2.0', id: '}{', result: ']"[' },
      { jsonrpc: '2.0', id: 2, result: 'pong' },
    ]);
  });

  it('answers a message over maxMessageBytes with "Message too large", then closes', async () => {
    const c = await client({ limits: { maxMessageBytes: 256 } });
    await c.send(`{"jsonrpc":"2.0","id":1,"method":"echo","params":["${'x'.repeat(300)}"]}\n`);
    await c.waitForClose();
    expect(c.text()).toBe(TOO_LARGE);
  });

  it('closes on a never-ending message once it passes maxMessageBytes, before it ends', async () => {
    const c = await client({ limits: { maxMessageBytes: 1024 } });
    await c.send('{"jsonrpc":"2.0","id":1,"method":"echo","params":["');
    for (let i = 0; i < 20 && !c.closed; i++) {
      await c.send('y'.repeat(200)).catch(() => undefined);
      await delay(2);
    }
    await c.waitForClose();
    expect(c.text()).toBe(TOO_LARGE);
  });

  it('accepts a message of exactly maxMessageBytes', async () => {
    const c = await client({ limits: { maxMessageBytes: 256 } });
    const head = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["';
    const tail = '"]}';
    const msg = head + 'z'.repeat(256 - head.length - tail.length) + tail;
    expect(Buffer.byteLength(msg)).toBe(256);
    await c.send(msg + '\n');
    const [answer] = await readLines(c, 1);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 1, result: 'z'.repeat(256 - head.length - tail.length) });
  });
});

describe.each(matrix())('LSP Content-Length framing (%s, %s)', (transport, kind) => {
  async function client(options = {}) {
    const { address } = await startServer(transport, kind, options);
    return rawClient(address);
  }

  function lsp(body: string, extra = ''): string {
    return `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
  }

  it('answers each message with the same framing, ignoring other headers', async () => {
    const c = await client();
    await c.send(
      lsp('{"jsonrpc":"2.0","id":1,"method":"echo","params":["é"]}', 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n') +
        lsp('{"jsonrpc":"2.0","id":2,"method":"ping"}'),
    );
    const one = '{"jsonrpc":"2.0","id":1,"result":"é"}';
    const two = '{"jsonrpc":"2.0","id":2,"result":"pong"}';
    const expected = lsp(one) + lsp(two);
    await c.waitForBytes(Buffer.byteLength(expected));
    expect(c.text()).toBe(expected);
  });

  it.each([
    ['a missing Content-Length', 'Content-Type: x\r\n\r\n{}'],
    ['a malformed Content-Length', 'Content-Length: twelve\r\n\r\n{}'],
  ])('answers %s with an error, then closes', async (_name, input) => {
    const c = await client();
    await c.send(`Content-Length: 40\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"ping"}${input}`);
    await c.waitForClose();
    // PROTOCOL.md 2.3 "error as in 2.1": an id-null error (a broken header does not parse: -32700), then close.
    const error = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}';
    expect(c.text()).toBe(lsp('{"jsonrpc":"2.0","id":1,"result":"pong"}') + lsp(error));
  });

  it('answers a Content-Length over maxMessageBytes with "Message too large" before reading the body', async () => {
    const c = await client({ limits: { maxMessageBytes: 100 } });
    await c.send('Content-Length: 101\r\n\r\n');
    await c.waitForClose();
    expect(c.text()).toContain('"Message too large"');
  });
});
