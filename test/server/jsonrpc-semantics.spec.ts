import { describe, expect, it } from 'vitest';
import { RpcError } from '../../src/core/errors.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { delay, matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';

useCleanup();

const handlers = {
  ...demoHandlers,
  teapot: () => {
    throw new RpcError(418, "I'm a teapot", { brew: 'earl grey' });
  },
  secret: () => {
    throw new Error('database password is hunter2');
  },
};

describe.each(matrix())('JSON-RPC 2.0 semantics (%s, %s)', (transport, kind) => {
  async function exchange(input: string, expected: number): Promise<unknown[]> {
    const { address } = await startServer(transport, kind, { handlers });
    const client = await rawClient(address);
    await client.send(input);
    return readLines(client, expected);
  }

  it('answers a request with its result and the id echoed exactly', async () => {
    const out = await exchange(
      '{"jsonrpc":"2.0","id":"a-1","method":"echo","params":["x"]}\n' +
        '{"jsonrpc":"2.0","id":1.5,"method":"sum","params":[1,2,3]}\n' +
        '{"jsonrpc":"2.0","id":null,"method":"ping"}\n',
      3,
    );
    expect(out).toEqual(
      expect.arrayContaining([
        { jsonrpc: '2.0', id: 'a-1', result: 'x' },
        { jsonrpc: '2.0', id: 1.5, result: 6 },
        { jsonrpc: '2.0', id: null, result: 'pong' },
      ]),
    );
  });

  it.each([
    ['jsonrpc missing', '{"id":1,"method":"ping"}', 1],
    ['jsonrpc "1.0"', '{"jsonrpc":"1.0","id":2,"method":"ping"}', 2],
    ['method not a string', '{"jsonrpc":"2.0","id":3,"method":7}', 3],
    ['params a string', '{"jsonrpc":"2.0","id":4,"method":"echo","params":"x"}', 4],
    ['id an object (not a valid id)', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', null],
    ['a number after a first request decided the protocol', '{"jsonrpc":"2.0","method":"ping"}\n42', null],
    ['a string', '{"jsonrpc":"2.0","method":"ping"} "hello"', null],
  ])('rejects an invalid request (%s) with -32600', async (_name, input, id) => {
    const out = await exchange(input + '\n', 1);
    expect(out).toEqual([{ jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid Request' } }]);
  });

  it('never answers a notification, not even with an error', async () => {
    const { address } = await startServer(transport, kind, { handlers });
    const client = await rawClient(address);
    await client.send('{"jsonrpc":"2.0","method":"ping"}\n{"jsonrpc":"2.0","method":"nope"}\n{"jsonrpc":"2.0","method":"fail"}\n');
    await client.send('{"jsonrpc":"2.0","id":9,"method":"ping"}\n');
    expect(await readLines(client, 1)).toEqual([{ jsonrpc: '2.0', id: 9, result: 'pong' }]);
    await delay(30);
    expect(client.text().trim().split('\n')).toHaveLength(1);
  });

  it('answers -32601 for an unknown method and -32602 for bad params', async () => {
    const out = await exchange('{"jsonrpc":"2.0","id":1,"method":"nope"}\n{"jsonrpc":"2.0","id":2,"method":"sum","params":[1,"two"]}\n', 2);
    expect(out).toContainEqual({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } });
    expect(out).toContainEqual(expect.objectContaining({ id: 2, error: expect.objectContaining({ code: -32602 }) }));
  });

  it('answers -32603 without the thrown message or a stack for a throwing handler', async () => {
    const out = await exchange('{"jsonrpc":"2.0","id":1,"method":"secret"}\n{"jsonrpc":"2.0","id":2,"method":"fail"}\n', 2);
    expect(out).toContainEqual({ jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } });
    expect(out).toContainEqual({ jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'Internal error' } });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|at .*\.ts/);
  });

  it("gives an RpcError's own code, message and data", async () => {
    const out = await exchange('{"jsonrpc":"2.0","id":7,"method":"teapot"}\n', 1);
    expect(out).toEqual([{ jsonrpc: '2.0', id: 7, error: { code: 418, message: "I'm a teapot", data: { brew: 'earl grey' } } }]);
  });

  it('answers an empty batch with one -32600 error object, not an array', async () => {
    const out = await exchange('[]\n', 1);
    expect(out).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } }]);
  });

  it('answers [1,2] with an array of two -32600 errors', async () => {
    const out = await exchange('[1,2]\n', 1);
    const invalid = { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } };
    expect(out).toEqual([[invalid, invalid]]);
  });

  it('answers a mixed batch with one array: a response per non-notification member', async () => {
    const out = await exchange(
      '[{"jsonrpc":"2.0","id":1,"method":"sum","params":[1,2]},{"jsonrpc":"2.0","method":"ping"},' +
        '{"foo":"boo"},{"jsonrpc":"2.0","id":"5","method":"nope"},{"jsonrpc":"2.0","id":6,"method":"sleep","params":[20]}]\n',
      1,
    );
    expect(out).toHaveLength(1);
    const batch = out[0] as unknown[];
    expect(batch).toHaveLength(4);
    expect(batch).toEqual(
      expect.arrayContaining([
        { jsonrpc: '2.0', id: 1, result: 3 },
        { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } },
        { jsonrpc: '2.0', id: '5', error: { code: -32601, message: 'Method not found' } },
        { jsonrpc: '2.0', id: 6, result: 20 },
      ]),
    );
  });

  it('writes nothing for a batch of notifications only', async () => {
    const { address } = await startServer(transport, kind, { handlers });
    const client = await rawClient(address);
    await client.send('[{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"echo","params":[1]}]\n');
    await client.send('{"jsonrpc":"2.0","id":"after","method":"ping"}\n');
    expect(await readLines(client, 1)).toEqual([{ jsonrpc: '2.0', id: 'after', result: 'pong' }]);
    await delay(30);
    expect(client.text().trim().split('\n')).toHaveLength(1);
  });

  it('answers a streaming handler with the array of all its values', async () => {
    const out = await exchange(
      '{"jsonrpc":"2.0","id":1,"method":"stream","params":[4]}\n{"jsonrpc":"2.0","id":2,"method":"stream","params":[0]}\n',
      2,
    );
    expect(out).toContainEqual({ jsonrpc: '2.0', id: 1, result: [0, 1, 2, 3] });
    expect(out).toContainEqual({ jsonrpc: '2.0', id: 2, result: [] });
  });

  it('answers pipelined requests in any order, each paired by id', async () => {
    const out = await exchange(
      '{"jsonrpc":"2.0","id":1,"method":"sleep","params":[60]}\n{"jsonrpc":"2.0","id":2,"method":"sleep","params":[1]}\n',
      2,
    );
    expect(out).toEqual([
      { jsonrpc: '2.0', id: 2, result: 1 },
      { jsonrpc: '2.0', id: 1, result: 60 },
    ]);
  });
});
