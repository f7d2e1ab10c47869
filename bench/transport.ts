/**
 * npm run bench:transport — echo round trips of 100-byte messages over a Unix socket:
 * ringwire native on each of its Linux io backends (`native-epoll`, `native-io_uring`)
 * vs ringwire net vs a plain node:net echo, each a child process, driven by
 * bench/loadgen.c (one C thread, epoll). Its ceiling is measured against its own
 * trivial C echo server in the same run. Each row gives the server's CPU a request,
 * user and kernel (/proc/PID/stat, over warm-up and measurement). The native
 * contenders pick their backend with RINGWIRE_IO_BACKEND, and the bench stops before
 * measuring anything unless each server names the backend asked for.
 *
 * Then (`syscalls`, untimed) system calls a request of the native contenders and net,
 * at each shape: `strace -c -f` attached to the server for BENCH_SYSCALL_SECONDS while
 * loadgen runs, and all calls counted by perf (when it works here) in a window of
 * its own without strace. Then (`idle`) server memory per idle connection at
 * BENCH_IDLE (8,000) connections.
 *
 * Env: BENCH_SECONDS (3) per case, BENCH_ROUNDS (3) alternating rounds, BENCH_IDLE
 * (8000; 0 skips the memory phase), BENCH_SYSCALL_SECONDS (3; 0 skips the syscall
 * phase), BENCH_ONLY (comma-separated contenders, shapes or phases to keep:
 * native-epoll, native-io_uring, native (both), net, plain; 256x1, 16x16; throughput,
 * syscalls, idle; default all). A build without io_uring fails at once:
 * BENCH_ONLY=native-epoll,net,plain measures the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildLoadgen,
  Child,
  CPU_HEADER,
  type CpuTime,
  countSyscalls,
  cpuColumns,
  cpuPerRequest,
  cpuSeconds,
  envNumber,
  IDLE_MEMORY_HEADER,
  type IoBackend,
  idleMemory,
  idleMemoryRow,
  type LoadResult,
  loadArgs,
  median,
  root,
  runLoad,
  STALL_US,
  stallNote,
  startServerChild,
  syscallPhase,
} from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 3);
const rounds = envNumber('BENCH_ROUNDS', 3);
const idleConns = envNumber('BENCH_IDLE', 8000);
const syscallSeconds = envNumber('BENCH_SYSCALL_SECONDS', 3);
/** BENCH_ONLY=a,b keeps the contenders, shapes and phases named; `native` names both native contenders. */
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .filter(Boolean)
  .flatMap((n) => (n === 'native' ? ['native-epoll', 'native-io_uring'] : [n]));
const groups = [
  ['native-epoll', 'native-io_uring', 'net', 'plain'],
  ['256x1', '16x16'],
  ['throughput', 'syscalls', 'idle'],
];
const unknown = only.filter((n) => !groups.some((g) => g.includes(n)));
if (unknown.length > 0) throw new Error(`BENCH_ONLY names ${unknown.join(', ')}: none of ${groups.flat().join(', ')}, native`);
/** Kept unless BENCH_ONLY names others of its kind and not it. */
const keep = (name: string): boolean => {
  const named = (groups.find((g) => g.includes(name)) ?? []).filter((n) => only.includes(n));
  return named.length === 0 || named.includes(name);
};

interface Contender {
  name: string;
  /** echo-server.ts's server kind. */
  kind: 'native' | 'net' | 'plain';
  /** The native transport's io backend, asked for with RINGWIRE_IO_BACKEND and checked. */
  backend?: IoBackend;
}
const contenders = (
  [
    { name: 'native-epoll', kind: 'native', backend: 'epoll' },
    { name: 'native-io_uring', kind: 'native', backend: 'io_uring' },
    { name: 'net', kind: 'net' },
    { name: 'plain', kind: 'plain' },
  ] satisfies Contender[]
).filter((c) => keep(c.name)) as Contender[];
/** Whose system calls are counted: the native backends, and node:net's for comparison. */
const syscallContenders = contenders.filter((c) => c.kind !== 'plain');
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
].filter((s) => keep(s.name));

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-bench-'));
const serverScript = join(root, 'dist', 'bench', 'echo-server.js');
const startServer = (c: Contender, path: string): Promise<Child> =>
  startServerChild(
    c.name,
    process.execPath,
    ['--expose-gc', serverScript, c.kind, path],
    c.backend,
    `To measure the others without it: BENCH_ONLY=${contenders
      .filter((o) => o !== c)
      .map((o) => o.name)
      .join(',')} npm run bench:transport`,
  );

console.log(`ringwire bench:transport  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(`${seconds}s per case after 1s warm-up, ${rounds} alternating rounds, medians quoted\n`);

const servers = new Map<string, { child: Child; path: string }>();
/** Contenders that went silent in a timed run (see STALL_US): the bench ends with an error after printing everything. */
const stalled: string[] = [];
try {
  const timed = keep('throughput') && shapes.length > 0;
  const traced = keep('syscalls') && syscallSeconds > 0 && shapes.length > 0 && syscallContenders.length > 0;
  if (timed) {
    const ceilingPath = join(dir, 'ceiling.sock');
    servers.set('loadgen ceiling', { child: await Child.start(loadgen, ['echo', '--unix', ceilingPath]), path: ceilingPath });
  }
  if (timed || traced) {
    // Every server up, and on its backend, before anything is measured.
    for (const c of timed ? contenders : syscallContenders) {
      const path = join(dir, `${c.name}.sock`);
      servers.set(c.name, { child: await startServer(c, path), path });
    }
    const backends = contenders.filter((c) => servers.has(c.name) && c.backend).map((c) => `${c.name} on ${c.backend}`);
    if (backends.length > 0) console.log(`io backends confirmed by the servers: ${backends.join(', ')}\n`);
  }
  for (const shape of timed ? shapes : []) {
    const samples = new Map<string, { runs: LoadResult[]; rps: number[]; p50: number[]; p99: number[]; cpu: Array<CpuTime | undefined> }>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, { child, path }] of servers) {
        const before = cpuSeconds(child.process.pid);
        const r = runLoad(loadArgs({ path, conns: shape.conns, inflight: shape.inflight, seconds, frame: 'echo:100' }));
        const after = cpuSeconds(child.process.pid);
        const s = samples.get(name) ?? { runs: [], rps: [], p50: [], p99: [], cpu: [] };
        s.runs.push(r);
        s.rps.push(r.rps);
        s.p50.push(r.p50_us);
        s.p99.push(r.p99_us);
        s.cpu.push(cpuPerRequest(before, after, r, seconds));
        samples.set(name, s);
      }
    }
    // Ratios are to ringwire net; a BENCH_ONLY run without it takes them to the ceiling.
    const base = samples.has('net') ? 'net' : 'loadgen ceiling';
    const baseRps = median(samples.get(base)!.rps);
    console.log(`shape ${shape.name} (${shape.conns} connections x ${shape.inflight} in flight), 100-byte echo, Unix socket`);
    const vs = base === 'net' ? 'vs ringwire-net' : 'vs ceiling';
    console.log(`  contender         msgs/s    p50 us   p99 us   ${vs}${CPU_HEADER}`);
    for (const [name, s] of samples) {
      const rps = median(s.rps);
      const stall = stallNote(s.runs);
      if (stall !== '') stalled.push(`${name} at ${shape.name}`);
      console.log(
        `  ${name.padEnd(16)} ${rps.toFixed(0).padStart(8)} ${median(s.p50).toFixed(0).padStart(8)} ${median(s.p99).toFixed(0).padStart(8)}   ${`${(rps / baseRps).toFixed(2)}x`.padStart(vs.length)}${cpuColumns(s.cpu)}${stall}`,
      );
    }
    console.log('');
  }

  if (traced) {
    await syscallPhase({
      what: 'a request',
      seconds: syscallSeconds,
      dir,
      shapes,
      servers: syscallContenders.map((c) => ({ name: c.name, ...servers.get(c.name)! })),
      frame: 'echo:100',
    });
  }
  // strace has detached from every server (countSyscalls waits for it) before they stop.
  for (const [, { child }] of servers) await child.stop();
  servers.clear();

  if (idleConns > 0 && keep('idle') && contenders.length > 0) {
    console.log(`server memory per idle connection, ${idleConns} connections (after GC)`);
    console.log(IDLE_MEMORY_HEADER);
    for (const c of contenders) {
      const path = join(dir, `idle-${c.name}.sock`);
      const server = await startServer(c, path);
      servers.set(`idle ${c.name}`, { child: server, path });
      console.log(idleMemoryRow(c.name, await idleMemory(server, { path, conns: idleConns, hold: 120 })));
      await server.stop();
      servers.delete(`idle ${c.name}`);
    }
  }
} finally {
  for (const [, { child }] of servers) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (stalled.length > 0) {
  console.log(
    `\nSTALLED (no answer for over ${STALL_US / 1e6} s with requests in flight): ${stalled.join(', ')}; their figures are not the server's speed.`,
  );
  process.exitCode = 1;
}
