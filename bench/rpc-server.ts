/**
 * The servers of bench/rpc.ts, one per child process, each serving `echo` on a Unix
 * socket:
 *   node --expose-gc dist/bench/rpc-server.js ringwire-native|ringwire-net|plain|jayson|floor PATH
 * Speaks bench/echo-server.ts's stdin protocol: `mem` prints memory after GC and the
 * open connections as JSON; the first line, `ready`, names the native transport's io
 * backend (`ready backend=io_uring`), which RINGWIRE_IO_BACKEND in the environment picks.
 * `plain` is what a competent user writes with node:net alone: split on newline and
 * JSON.parse (or Buffer.concat and msgpackr for MCP1), one write per chunk.
 * `floor` is no server anyone should run: ringwire's native transport and codecs
 * with no pipeline at all (no detection, limits, routing, in-flight accounting or
 * errors beyond a parse failure), each reply encoded and written as ringwire
 * writes it (the transport hands a read's replies to the addon as one write). It
 * is the least CPU a server built on this transport and these codecs can spend
 * per request, decoding and parsing each JSON-RPC message on its own as any
 * per-message pipeline must.
 * FLOOR_JSON=read decodes each read's text once and parses lines of it;
 * FLOOR_JSON=batch also parses all of a read's lines with one JSON.parse: what
 * records carrying a whole read could reach.
 */

import { createRequire } from 'node:module';
import { type Server as NetServer, createServer as netServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { Packr } from 'msgpackr';
import { responseJson } from '../operators/codec/jsonrpc.js';
import { decodeMsgpack, packAfter } from '../operators/codec/msgpack.js';
import { decodeFast, NOT_FAST } from '../operators/codec/msgpackFast.js';
import { packFastAfter } from '../operators/codec/msgpackPackFast.js';
import { resultLine } from '../operators/codec/resultLine.js';
import { decodeUtf8, encodeLine } from '../operators/codec/utf8.js';
import type { Connection } from '../src/core/connection.js';
import type { RpcId } from '../src/core/records.js';
import { demoHandlers } from '../src/handlers/demo.js';
import { createServer } from '../src/server/createServer.js';
import { listenNative } from '../src/transport/native.js';

const [kind, path] = process.argv.slice(2) as [string, string];
const MCP1_REPLY = new Uint8Array([0x4d, 0x43, 0x50, 0x31, 2, 0, 0, 0]);
const PARSE_ERROR_LINE = encodeLine('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}').slice();
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
      out +=
        req.method === 'echo'
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

/** The server's open connections, for `mem`. */
let open: () => Promise<number>;
/** The native transport's io backend (`epoll`, `io_uring`, `kqueue`), undefined on node:net; and why 'auto' did not take io_uring. */
let backend: unknown;
let fallback: unknown;
/** node:net counts its connections itself, so plain's own code need not. */
const netConnections = (server: NetServer) => (): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));

if (kind === 'ringwire-native' || kind === 'ringwire-net') {
  const server = await createServer({
    listen: [{ unix: path }],
    handlers: demoHandlers,
    transport: kind === 'ringwire-native' ? 'native' : 'net',
  });
  open = async () => server.transport.connections.size;
  ({ backend, ioBackendFallback: fallback } = server.transport as { readonly backend?: unknown; readonly ioBackendFallback?: unknown });
} else if (kind === 'floor') {
  const transport = await listenNative({ listen: [{ unix: path }] });
  open = async () => transport.connections.size;
  ({ backend, ioBackendFallback: fallback } = transport as { readonly backend?: unknown; readonly ioBackendFallback?: unknown });
  const leftover = new Map<Connection, Uint8Array>();
  transport.slices$.subscribe((slice) => {
    if (slice.type === 'end') {
      leftover.delete(slice.connection);
      slice.connection.end();
    }
    if (slice.type !== 'data') return;
    const conn = slice.connection;
    const kept = leftover.get(conn);
    const bytes = kept === undefined ? slice.bytes : Buffer.concat([kept, slice.bytes]);
    const used = bytes[0] === 0x4d ? floorMcp1(conn, bytes) : floorJson(conn, bytes);
    if (used < bytes.length) leftover.set(conn, bytes.slice(used));
    else if (kept !== undefined) leftover.delete(conn);
  });
} else if (kind === 'plain') {
  const server = netServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first: Buffer) => (first.subarray(0, 4).toString('latin1') === 'MCP1' ? plainMcp1 : plainJson)(socket, first));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  open = netConnections(server);
} else if (kind === 'jayson') {
  const jayson = createRequire(import.meta.url)('jayson') as {
    server: (methods: Record<string, (args: unknown, cb: (e: unknown, r?: unknown) => void) => void>) => {
      tcp: () => NetServer;
    };
  };
  const server = jayson.server({ echo: (args, cb) => cb(null, echo(args)) }).tcp();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  open = netConnections(server);
} else {
  throw new Error(`unknown server kind ${kind}`);
}

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'mem') return;
  // Garbage of the requests answered is not what a connection holds: collect it first.
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  void open().then((count) => {
    process.stdout.write(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, open: count }) + '\n');
  });
});
process.stdout.write(
  `ready${typeof backend === 'string' ? ` backend=${backend}` : ''}${typeof fallback === 'string' ? ` (io_uring unavailable: ${fallback})` : ''}\n`,
);

const FLOOR_JSON = process.env.FLOOR_JSON ?? '';
function floorJson(conn: Connection, bytes: Uint8Array): number {
  if (FLOOR_JSON !== '') return floorJsonPerRead(conn, bytes);
  let start = 0;
  for (let nl = bytes.indexOf(10); nl >= 0; start = nl + 1, nl = bytes.indexOf(10, start)) {
    let req: { id?: unknown; method?: unknown; params?: unknown };
    try {
      req = JSON.parse(decodeUtf8(bytes.subarray(start, nl)));
    } catch {
      conn.write(PARSE_ERROR_LINE);
      continue;
    }
    if (req.id !== undefined) conn.write(replyLine(req.id as RpcId, echo(req.params)));
  }
  return start;
}

/** The reply as ringwire's encoder writes it (consecutive writes reach the addon as one). */
function replyLine(id: RpcId, result: unknown): Uint8Array {
  return resultLine(id, result) ?? encodeLine(responseJson(id, result, undefined));
}

function floorMcp1(conn: Connection, bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (bytes.length - at >= 16) {
    const length = view.getUint32(at + 12);
    if (bytes.length - at - 16 < length) break;
    const body = bytes.subarray(at + 16, at + 16 + length);
    let request = decodeFast(body);
    if (request === NOT_FAST) request = decodeMsgpack(body);
    const id = view.getUint32(at + 8);
    const type = bytes[at + 4];
    at += 16 + length;
    if (type !== 1) continue;
    const result = echo((request as { params: unknown }).params);
    const frame = packFastAfter(16, result) ?? packAfter(16, result);
    frame.set(MCP1_REPLY, 0);
    new DataView(frame.buffer, frame.byteOffset, 16).setUint32(8, id);
    new DataView(frame.buffer, frame.byteOffset, 16).setUint32(12, frame.length - 16);
    conn.write(frame);
  }
  return at;
}

function floorJsonPerRead(conn: Connection, bytes: Uint8Array): number {
  const last = bytes.lastIndexOf(10);
  if (last < 0) return 0;
  const text = decodeUtf8(bytes.subarray(0, last));
  if (FLOOR_JSON === 'batch') {
    let all: Array<{ id?: unknown; params?: unknown }> | undefined;
    try {
      all = JSON.parse('[' + text.replaceAll('\n', ',') + ']');
    } catch {
      all = undefined;
    }
    if (all !== undefined) {
      for (const req of all) if (req.id !== undefined) conn.write(replyLine(req.id as RpcId, echo(req.params)));
      return last + 1;
    }
  }
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
    try {
      const req = JSON.parse(line) as { id?: unknown; params?: unknown };
      if (req.id !== undefined) conn.write(replyLine(req.id as RpcId, echo(req.params)));
    } catch {
      conn.write(PARSE_ERROR_LINE);
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return last + 1;
}
