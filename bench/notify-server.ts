/**
 * The servers of bench/notify.ts, one per child process, each answering
 * `countdown [n]` on a Unix socket: n notifications `countdown` with params [n-1]
 * … [0], then the answer "done".
 *   node dist/bench/notify-server.js ringwire-native|ringwire-net|plain PATH
 * `plain` is what a competent user writes with node:net alone: split on newline,
 * JSON.parse, and a loop writing each notification's line.
 */
import { createServer as netServer, type Socket } from 'node:net';
import { demoHandlers } from '../src/handlers/demo.js';
import { createServer } from '../src/server/createServer.js';

const [kind, path] = process.argv.slice(2) as [string, string];

function plainCountdown(socket: Socket): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      const req = JSON.parse(line) as { id?: unknown; method?: string; params?: unknown };
      const n = Array.isArray(req.params) ? Number(req.params[0]) : 0;
      for (let i = n - 1; i >= 0; i--) socket.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'countdown', params: [i] })}\n`);
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: req.id, result: 'done' })}\n`);
    }
  });
}

if (kind === 'ringwire-native' || kind === 'ringwire-net') {
  await createServer({ listen: [{ unix: path }], handlers: demoHandlers, transport: kind === 'ringwire-native' ? 'native' : 'net' });
} else if (kind === 'plain') {
  const server = netServer((socket) => {
    socket.on('error', () => {});
    plainCountdown(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
} else {
  throw new Error(`unknown server kind ${kind}`);
}
process.stdout.write('ready\n');
