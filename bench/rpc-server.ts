/**
 * The servers of bench/rpc.ts, one per child process, each serving `echo` on a Unix
 * socket:
 *   node dist/bench/rpc-server.js ringwire-native|ringwire-net|plain|jayson PATH
 * `plain` is what a competent user writes with node:net alone: split on newline and
 * JSON.parse (or Buffer.concat and msgpackr for MCP1), one write per chunk.
 */
import { createServer as netServer, type Socket } from 'node:net';
import { Packr } from 'msgpackr';
import { createServer } from '../src/server/createServer.js';
import { demoHandlers } from '../src/handlers/demo.js';
import { createRequire } from 'node:module';

const [kind, path] = process.argv.slice(2) as [string, string];
const echo = (params: unknown): unknown => (Array.isArray(params) && params.length === 1 ? params[0] : params);

function plainJson(socket: Socket, first: Buffer): void {
  let pending = '';
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    let out = '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let req: { id?: unknown; method?: unknown; params?: unknown };
      try {
        req = JSON.parse(line);
      } catch {
        out += '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}\n';
        continue;
      }
      if (req.id === undefined) continue;
      out += req.method === 'echo'
        ? JSON.stringify({ jsonrpc: '2.0', id: req.id, result: echo(req.params) }) + '\n'
        : JSON.stringify({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'Method not found' } }) + '\n';
    }
    if (out) socket.write(out);
  };
  socket.on('data', onData);
  onData(first);
}

function plainMcp1(socket: Socket, first: Buffer): void {
  const packr = new Packr({ useRecords: false });
  let buf = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 16) {
      const len = buf.readUInt32BE(12);
      if (buf.length < 16 + len) break;
      const type = buf[4]!;
      const id = buf.readUInt32BE(8);
      const body = packr.unpack(buf.subarray(16, 16 + len)) as { method: string; params: unknown };
      buf = buf.subarray(16 + len);
      if (type !== 1) continue;
      const payload = packr.pack(echo(body.params));
      const header = Buffer.alloc(16);
      header.write('MCP1', 0, 'latin1');
      header[4] = 2;
      header.writeUInt32BE(id, 8);
      header.writeUInt32BE(payload.length, 12);
      out.push(header, payload);
    }
    if (out.length) socket.write(Buffer.concat(out));
  };
  socket.on('data', onData);
  onData(first);
}

if (kind === 'ringwire-native' || kind === 'ringwire-net') {
  await createServer({
    listen: [{ unix: path }],
    handlers: demoHandlers,
    transport: kind === 'ringwire-native' ? 'native' : 'net',
  });
} else if (kind === 'plain') {
  const server = netServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => (first.subarray(0, 4).toString('latin1') === 'MCP1' ? plainMcp1 : plainJson)(socket, first));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
} else if (kind === 'jayson') {
  const jayson = createRequire(import.meta.url)('jayson') as {
    server: (methods: Record<string, (args: unknown, cb: (e: unknown, r?: unknown) => void) => void>) => { tcp: () => { listen: (p: string, cb: () => void) => void } };
  };
  const server = jayson.server({ echo: (args, cb) => cb(null, echo(args)) }).tcp();
  await new Promise<void>((resolve) => server.listen(path, resolve));
} else {
  throw new Error(`unknown server kind ${kind}`);
}
process.stdout.write('ready\n');
