/**
 * npm run bench:transport — echo round trips of 100-byte messages over a Unix socket:
 * ringwire native vs ringwire net vs a plain node:net echo, each a child process,
 * driven by bench/loadgen.c (one C thread, epoll). Its ceiling is measured against
 * its own trivial C echo server in the same run. Then server memory per idle
 * connection at BENCH_IDLE (8,000) connections.
 *
 * Env: BENCH_SECONDS (3) per case, BENCH_ROUNDS (3) alternating rounds, BENCH_IDLE (8000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildLoadgen,
  Child,
  envNumber,
  IDLE_MEMORY_HEADER,
  idleMemory,
  idleMemoryRow,
  loadArgs,
  median,
  root,
  runLoad,
} from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 3);
const rounds = envNumber('BENCH_ROUNDS', 3);
const idleConns = envNumber('BENCH_IDLE', 8000);
const contenders = ['native', 'net', 'plain'] as const;
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
];

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-bench-'));
const serverScript = join(root, 'dist', 'bench', 'echo-server.js');
const startServer = (kind: string, path: string): Promise<Child> =>
  Child.start(process.execPath, ['--expose-gc', serverScript, kind, path]);

console.log(`ringwire bench:transport  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(`${seconds}s per case after 1s warm-up, ${rounds} alternating rounds, medians quoted\n`);

const servers = new Map<string, { child: Child; path: string }>();
try {
  const ceilingPath = join(dir, 'ceiling.sock');
  servers.set('loadgen ceiling', { child: await Child.start(loadgen, ['echo', '--unix', ceilingPath]), path: ceilingPath });
  for (const kind of contenders) {
    const path = join(dir, `${kind}.sock`);
    servers.set(kind, { child: await startServer(kind, path), path });
  }
  for (const shape of shapes) {
    const samples = new Map<string, { rps: number[]; p50: number[]; p99: number[] }>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, { path }] of servers) {
        const r = runLoad(loadArgs({ path, conns: shape.conns, inflight: shape.inflight, seconds, frame: 'echo:100' }));
        const s = samples.get(name) ?? { rps: [], p50: [], p99: [] };
        s.rps.push(r.rps);
        s.p50.push(r.p50_us);
        s.p99.push(r.p99_us);
        samples.set(name, s);
      }
    }
    const net = median(samples.get('net')!.rps);
    console.log(`shape ${shape.name} (${shape.conns} connections x ${shape.inflight} in flight), 100-byte echo, Unix socket`);
    console.log('  contender         msgs/s    p50 us   p99 us   vs ringwire-net');
    for (const [name, s] of samples) {
      const rps = median(s.rps);
      console.log(
        `  ${name.padEnd(16)} ${rps.toFixed(0).padStart(8)} ${median(s.p50).toFixed(0).padStart(8)} ${median(s.p99).toFixed(0).padStart(8)}   ${(rps / net).toFixed(2)}x`,
      );
    }
    console.log('');
  }
  for (const [, { child }] of servers) await child.stop();
  servers.clear();

  console.log(`server memory per idle connection, ${idleConns} connections (after GC)`);
  console.log(IDLE_MEMORY_HEADER);
  for (const kind of contenders) {
    const path = join(dir, `idle-${kind}.sock`);
    const server = await startServer(kind, path);
    try {
      console.log(idleMemoryRow(kind, await idleMemory(server, { path, conns: idleConns, hold: 120 })));
    } finally {
      await server.stop();
    }
  }
} finally {
  for (const [, { child }] of servers) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
