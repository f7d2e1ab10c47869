/**
 * Slowloris bench: a normal client's latency with and without 1,000 slowloris
 * connections attached (PROTOCOL.md section 4; the behaviour itself is tested in
 * test/hardening/load-slowloris.spec.ts).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/slowloris.js
 *
 * Three processes per transport: the server (default limits), the slowloris
 * clients, and this one, which calls `echo` N times in a row over a Unix socket and
 * reports p50/p99/p99.9 unloaded, then with the slowloris clients attached, and
 * the p99 ratio.
 * The slowloris clients each begin a message and then send one byte a second (a JSON
 * message, an MCP1 header, an LSP body), half over the Unix socket and half over TCP;
 * the default 30 s message timeout keeps all of them attached for the whole run.
 * (Undecided ones would go at the 5 s detection timeout: see the test for those.)
 *
 * Env: BENCH_CALLS (50000) per measurement, BENCH_LORIS (1000), BENCH_ROUNDS (5)
 * alternating unloaded/loaded rounds (medians are reported), RINGWIRE_TRANSPORTS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/client/connect.js';
import { demoHandlers } from '../src/handlers/demo.js';
import { createServer } from '../src/server/createServer.js';
import type { TransportKind } from '../src/transport/types.js';
import { Child, envNumber, median, sleep } from './harness.js';

const self = fileURLToPath(import.meta.url);

/** What a slowloris sends at once, then one byte a second. */
const KINDS = [
  { first: '{', rest: '"jsonrpc":"2.0","id":1,"method":"ping"}\n' },
  { first: 'MCP1', rest: '\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00' },
  { first: 'Content-Length: 40\r\n\r\n{', rest: '"jsonrpc":"2.0","id":1,"method":"ping"}' },
] as const;

/** `slowloris.js server native|net PATH`: prints `ready`, then answers each stdin line with its TCP port. */
async function runServer(transport: TransportKind, path: string): Promise<void> {
  const server = await createServer({
    listen: [
      { unix: path, backlog: 2048 },
      { host: '127.0.0.1', port: 0, backlog: 2048 },
    ],
    handlers: demoHandlers,
    transport,
  });
  process.stdin.setEncoding('utf8').on('data', () => process.stdout.write(`${server.listeners[1]!.port}\n`));
  process.stdout.write('ready\n');
}

/** `slowloris.js loris PATH PORT COUNT`: prints `connected`, then answers `count` with the live ones. */
async function runLoris(path: string, port: number, count: number): Promise<void> {
  const sockets: Array<{ socket: Socket; kind: (typeof KINDS)[number]; sent: number; closed: boolean }> = [];
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const socket = i % 2 ? netConnect({ host: '127.0.0.1', port }) : netConnect({ path });
          const entry = { socket, kind: KINDS[i % KINDS.length]!, sent: 0, closed: false };
          socket.on('error', () => {});
          socket.on('close', () => (entry.closed = true));
          socket.once('connect', () => {
            socket.write(entry.kind.first);
            sockets.push(entry);
            resolve();
          });
          socket.once('error', reject);
        }),
    ),
  );
  setInterval(() => {
    for (const s of sockets) if (!s.closed && s.sent < s.kind.rest.length) s.socket.write(s.kind.rest[s.sent++]!);
  }, 1000);
  process.stdin.setEncoding('utf8').on('data', () => process.stdout.write(`${sockets.filter((s) => !s.closed).length}\n`));
  process.stdout.write('connected\n');
}

/** N sequential calls; returns latencies in microseconds, sorted. */
async function measure(path: string, calls: number): Promise<number[]> {
  const client = await connect(path);
  for (let i = 0; i < 500; i++) await client.call('echo', ['warm-up']);
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    await client.call('echo', ['0123456789abcdef']);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  await client.close();
  return out.sort((a, b) => a - b);
}

interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const percentiles = (sorted: number[]): Percentiles => ({ p50: pct(sorted, 50), p99: pct(sorted, 99), p999: pct(sorted, 99.9) });
const medians = (rs: Percentiles[]): Percentiles => ({
  p50: median(rs.map((r) => r.p50)),
  p99: median(rs.map((r) => r.p99)),
  p999: median(rs.map((r) => r.p999)),
});

async function main(): Promise<void> {
  const calls = envNumber('BENCH_CALLS', 50_000);
  const lorisCount = envNumber('BENCH_LORIS', 1000);
  const rounds = envNumber('BENCH_ROUNDS', 5);
  const kinds = (process.env.RINGWIRE_TRANSPORTS ?? 'native,net').split(',') as TransportKind[];
  console.log(`ringwire bench:slowloris  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
  console.log(
    `a normal client: ${calls} sequential echo calls over a Unix socket, alone and beside ${lorisCount} slowloris connections; medians of ${rounds} rounds\n`,
  );
  console.log('transport   unloaded p50  p99  p99.9 us   loaded p50  p99  p99.9 us   p99 loaded/unloaded   slowloris attached');
  const dir = mkdtempSync(join(tmpdir(), 'rw-slowloris-'));
  try {
    for (const transport of kinds) {
      const path = join(dir, `${transport}.sock`);
      const server = await Child.start(process.execPath, [self, 'server', transport, path]);
      const unloaded: Percentiles[] = [];
      const loaded: Percentiles[] = [];
      const attached: number[] = [];
      try {
        const port = Number(await server.ask('port'));
        for (let round = 0; round < rounds; round++) {
          const alone = await measure(path, calls);
          unloaded.push(percentiles(alone));
          const loris = await Child.start(process.execPath, [self, 'loris', path, String(port), String(lorisCount)]);
          try {
            await sleep(1500); // a dribble or two first
            const beside = await measure(path, calls);
            loaded.push(percentiles(beside));
            attached.push(Number(await loris.ask('count')));
          } finally {
            await loris.stop();
          }
          await sleep(500);
        }
      } finally {
        await server.stop();
      }
      const u = medians(unloaded);
      const l = medians(loaded);
      const cols = (p: Percentiles): string =>
        `${p.p50.toFixed(0).padStart(13)} ${p.p99.toFixed(0).padStart(4)} ${p.p999.toFixed(0).padStart(6)}   `;
      console.log(
        `${transport.padEnd(9)} ${cols(u)}  ${cols(l)} ${(l.p99 / u.p99).toFixed(2).padStart(19)}x ${String(Math.min(...attached)).padStart(20)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') await runServer(args[0] as TransportKind, args[1]!);
else if (mode === 'loris') await runLoris(args[0]!, Number(args[1]), Number(args[2]));
else await main();
