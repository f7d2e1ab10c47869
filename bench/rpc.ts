/**
 * npm run bench:rpc — `echo` of a 16-byte string over a Unix socket, JSON-RPC (NDJSON)
 * and MCP1, every contender in the same run: ringwire (native), ringwire (net), a plain
 * node:net server written the way a competent user would, and jayson's TCP server
 * (JSON-RPC only), and `floor`: the native transport and ringwire's codecs with no
 * pipeline at all, the least any server on them can spend (bench/rpc-server.ts). Shapes: 256 connections x 1 in flight, 16 x 16 pipelined. The load
 * generator is bench/loadgen.c (one C thread, epoll); its ceiling is measured against
 * its own trivial echo server in the same run.
 *
 * Env: BENCH_SECONDS (5) per case, BENCH_ROUNDS (1) alternating rounds, BENCH_ONLY
 * (comma-separated contenders, shapes or protocols to keep; default all).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { buildLoadgen, Child, envNumber, type LoadResult, median, root, runLoad } from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 5);
const rounds = envNumber('BENCH_ROUNDS', 1);
/** BENCH_ONLY=a,b keeps the contenders, shapes and protocols named (for quick runs while tuning). */
const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const groups = [
  ['256x1', '16x16'],
  ['jsonrpc', 'mcp1'],
  ['ringwire-native', 'ringwire-net', 'plain', 'jayson', 'floor'],
];
/** Kept unless BENCH_ONLY names others of its kind and not it. */
const keep = (name: string): boolean => {
  const named = (groups.find((g) => g.includes(name)) ?? []).filter((n) => only.includes(n));
  return named.length === 0 || named.includes(name);
};
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
].filter((s) => keep(s.name));
const servers = (['ringwire-native', 'ringwire-net', 'plain', 'jayson', 'floor'] as const).filter(keep);

/** Clock ticks per second of /proc/PID/stat's CPU times. */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * A process's CPU time so far, user and kernel, in seconds (Linux /proc; undefined
 * elsewhere). Where a server spends its time per request says how far user-space
 * work can move its throughput: the kernel's share is the same for every contender.
 */
function cpuSeconds(pid: number | undefined): { user: number; kernel: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ", field 3 (state) comes first: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS, kernel: Number(fields[12]) / TICKS };
  } catch {
    return undefined;
  }
}

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-rpc-bench-'));
const jsonRequest = join(dir, 'request.json');
const mcp1Request = join(dir, 'request.mcp1');
writeFileSync(jsonRequest, '{"jsonrpc":"2.0","id":1,"method":"echo","params":["0123456789abcdef"]}\n');
const payload = new Packr({ useRecords: false }).pack({ method: 'echo', params: ['0123456789abcdef'] });
const frame = Buffer.alloc(16 + payload.length);
frame.write('MCP1', 0, 'latin1');
frame[4] = 1;
frame.writeUInt32BE(1, 8);
frame.writeUInt32BE(payload.length, 12);
payload.copy(frame, 16);
writeFileSync(mcp1Request, frame);

console.log(`ringwire bench:rpc  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(`echo("0123456789abcdef") over a Unix socket, ${seconds}s per case after 1s warm-up, ${rounds} round(s), medians\n`);

const children = new Map<string, { child: Child; path: string }>();
try {
  const ceilingPath = join(dir, 'ceiling.sock');
  children.set('loadgen ceiling', { child: await Child.start(loadgen, ['echo', '--unix', ceilingPath]), path: ceilingPath });
  for (const kind of servers) {
    const path = join(dir, `${kind}.sock`);
    children.set(kind, { child: await Child.start(process.execPath, [join(root, 'dist', 'bench', 'rpc-server.js'), kind, path]), path });
  }
  for (const protocol of (['jsonrpc', 'mcp1'] as const).filter(keep)) {
    for (const shape of shapes) {
      const samples = new Map<string, Array<LoadResult & { cpu: { user: number; kernel: number } | undefined }>>();
      for (let round = 0; round < rounds; round++) {
        for (const [name, { child, path }] of children) {
          if (name === 'jayson' && protocol === 'mcp1') continue;
          const request = protocol === 'mcp1' ? mcp1Request : jsonRequest;
          // The ceiling echoes the request back: same bytes, same framing.
          const before = cpuSeconds(child.process.pid);
          const r = runLoad([
            '--unix',
            path,
            '--conns',
            `${shape.conns}`,
            '--inflight',
            `${shape.inflight}`,
            '--seconds',
            `${seconds}`,
            '--warmup',
            '1',
            '--request',
            request,
            '--frame',
            protocol === 'mcp1' ? 'mcp1' : 'ndjson',
          ]);
          const after = cpuSeconds(child.process.pid);
          // The server's CPU over warm-up and measurement, per request at the measured rate.
          const served = r.rps * (seconds + 1);
          const cpu =
            before && after
              ? { user: ((after.user - before.user) / served) * 1e6, kernel: ((after.kernel - before.kernel) / served) * 1e6 }
              : undefined;
          samples.set(name, [...(samples.get(name) ?? []), { ...r, cpu }]);
        }
      }
      // Ratios are to plain; a BENCH_ONLY run without plain takes them to the ceiling, and says so.
      const base = samples.has('plain') ? 'plain' : 'loadgen ceiling';
      const plain = median(samples.get(base)!.map((r) => r.rps));
      const plainP99 = median(samples.get(base)!.map((r) => r.p99_us));
      console.log(`${protocol}, ${shape.name} (${shape.conns} connections x ${shape.inflight} in flight)`);
      const vs = base === 'plain' ? 'plain' : 'ceil.';
      console.log(`  contender            req/s    p50 us   p99 us   req/s vs ${vs}   p99 vs ${vs}   server CPU us/req: user  kernel`);
      for (const [name, rs] of samples) {
        const rps = median(rs.map((r) => r.rps));
        const p99 = median(rs.map((r) => r.p99_us));
        const cpus = rs.flatMap((r) => (r.cpu ? [r.cpu] : []));
        const cpu =
          cpus.length === rs.length
            ? `${median(cpus.map((c) => c.user))
                .toFixed(2)
                .padStart(22)} ${median(cpus.map((c) => c.kernel))
                .toFixed(2)
                .padStart(7)}`
            : '';
        console.log(
          `  ${name.padEnd(17)} ${rps.toFixed(0).padStart(9)} ${median(rs.map((r) => r.p50_us))
            .toFixed(0)
            .padStart(
              8,
            )} ${p99.toFixed(0).padStart(8)}   ${(rps / plain).toFixed(2).padStart(10)}x   ${(p99 / plainP99).toFixed(2).padStart(10)}x${cpu}`,
        );
      }
      console.log('');
    }
  }
} finally {
  for (const [, { child }] of children) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
