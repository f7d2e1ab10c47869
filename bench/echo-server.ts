/**
 * The server side of bench/transport.ts, run as a child process so that server and
 * load generator do not share an event loop. Speaks a tiny stdin protocol:
 * `mem` prints memory after GC as JSON. Its first line, `ready`, names the native
 * transport's io backend (`ready backend=epoll`), which RINGWIRE_IO_BACKEND in its
 * environment picks: the bench checks it is the one it asked for.
 *
 *   node --expose-gc dist/bench/echo-server.js native|net|plain /path/to.sock
 */
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { listen } from '../src/transport/listen.js';

const [kind, path] = process.argv.slice(2) as [string, string];
let open = (): number => 0;
/** What the ready line says of the io backend. */
let ready = 'ready';

if (kind === 'plain') {
  // What a competent user writes with node:net alone.
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: false }, (socket) => {
    sockets.add(socket);
    socket.on('data', (d) => socket.write(d));
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  open = () => sockets.size;
} else {
  const transport = await listen({ transport: kind as 'native' | 'net', listen: [{ unix: path }] });
  transport.slices$.subscribe((r) => {
    if (r.type === 'data') r.connection.write(r.bytes);
    else if (r.type === 'end') r.connection.end();
  });
  open = () => transport.connections.size;
  const { backend, ioBackendFallback } = transport as { readonly backend?: unknown; readonly ioBackendFallback?: unknown };
  if (typeof backend === 'string') ready = `ready backend=${backend}`;
  // Why io_uring was not taken, where 'auto' fell back (a build that has it).
  if (typeof ioBackendFallback === 'string') ready += ` (io_uring unavailable: ${ioBackendFallback})`;
}

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'mem') return;
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  process.stdout.write(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external, open: open() }) + '\n');
});
process.stdout.write(`${ready}\n`);
