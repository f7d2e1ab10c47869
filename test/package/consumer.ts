/**
 * The programs a user's project runs against the installed package, written into
 * that project by install-from-tarball.spec.ts. Each prints one JSON line of what
 * it saw. They import `ringwire` by name, so they exercise the package's exports
 * map, not this repository's sources.
 */

/** ESM: all three entry points, a server, and one call over every framing. */
export const ESM_PROGRAM = `
import { createConnection } from 'node:net';
import { connect, createServer, demoHandlers } from 'ringwire';
import { jsonFrames, detectProtocol } from 'ringwire/operators';
import { runMarbles, testConnection, slicesOf, lettered, readable } from 'ringwire/testing';

const [socketPath] = process.argv.slice(2);
const server = await createServer({ listen: [{ unix: socketPath }, { host: '127.0.0.1', port: 0 }], handlers: demoHandlers });
const tcp = server.listeners[1];
const calls = {};
for (const [name, protocol, extra] of [['ndjson', 'jsonrpc', {}], ['lsp', 'lsp', {}], ['mcp1', 'mcp1', {}], ['mcp1-json', 'mcp1', { json: true }]]) {
  for (const target of [socketPath, 'tcp://127.0.0.1:' + tcp.port]) {
    const client = await connect(target, { protocol, ...extra });
    calls[name + (target === socketPath ? '/unix' : '/tcp')] = await client.call('echo', [name]);
    await client.close();
  }
}
// Concatenated JSON: two requests with nothing between them, as Ethereum-style IPC clients send.
calls.concatenated = await new Promise((resolve, reject) => {
  const socket = createConnection(socketPath);
  let text = '';
  socket.on('error', reject);
  socket.on('data', (d) => {
    text += d;
    if (text.split('\\n').length > 2) { socket.destroy(); resolve(text.trim().split('\\n').map((l) => JSON.parse(l).result).sort()); }
  });
  socket.write('{"jsonrpc":"2.0","id":1,"method":"echo","params":["a"]}{"jsonrpc":"2.0","id":2,"method":"echo","params":["b"]}');
});
let marbles = 'not run';
runMarbles(({ cold, expectObservable }) => {
  const conn = testConnection();
  const source = cold('a|', lettered(slicesOf(conn, '{"method":"ping"}\\n')));
  expectObservable(source.pipe(detectProtocol(), jsonFrames(), readable())).toBe('a|', {
    a: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"method":"ping"}' },
  });
  marbles = 'passed';
});
const transport = server.transport.kind;
await server.close();
process.stdout.write(JSON.stringify({ transport, calls, marbles }) + '\\n');
`;

/** CommonJS: require('ringwire') (Node 20.19+, 22.12+ load ESM packages by require). */
export const CJS_PROGRAM = `
const { connect, createServer, demoHandlers, RpcError } = require('ringwire');
(async () => {
  const [socketPath] = process.argv.slice(2);
  const server = await createServer({ listen: [{ unix: socketPath }], handlers: demoHandlers });
  const client = await connect(socketPath, { protocol: 'jsonrpc' });
  const sum = await client.call('sum', [1, 2, 3]);
  await client.close();
  const transport = server.transport.kind;
  await server.close();
  process.stdout.write(JSON.stringify({ transport, sum, rpcError: typeof RpcError }) + '\\n');
})().catch((error) => { console.error(error); process.exit(1); });
`;
