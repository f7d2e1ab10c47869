/**
 * npm run bench:rpc — `echo` of a 16-byte string over a Unix socket, JSON-RPC (NDJSON)
 * and MCP1, every contender in the same run: ringwire (native), ringwire (net), a plain
 * node:net server written the way a competent user would, and jayson's TCP server
 * (JSON-RPC only). Shapes: 256 connections x 1 in flight, 16 x 16 pipelined. The load
 * generator is bench/loadgen.c (one C thread, epoll); its ceiling is measured against
 * its own trivial echo server in the same run.
 *
 * Env: BENCH_SECONDS (5) per case, BENCH_ROUNDS (1) alternating rounds, BENCH_ONLY
 * (comma-separated contenders, shapes or protocols to keep; default all).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { buildLoadgen, Child, envNumber, median, root, runLoad, type LoadResult } from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 5);
const rounds = envNumber('BENCH_ROUNDS', 1);
/** BENCH_ONLY=a,b keeps the contenders, shapes and protocols named (for quick runs while tuning). */
const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const groups = [['256x1', '16x16'], ['jsonrpc', 'mcp1'], ['ringwire-native', 'ringwire-net', 'plain', 'jayson']];
/** Kept unless BENCH_ONLY names others of its kind and not it. */
const keep = (name: string): boolean => {
  const named = (groups.find((g) => g.includes(name)) ?? []).filter((n) => only.includes(n));
  return named.length === 0 || named.includes(name);
};
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
].filter((s) => keep(s.name));
const servers = (['ringwire-native', 'ringwire-net', 'plain', 'jayson'] as const).filter(keep);

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
      const samples = new Map<string, LoadResult[]>();
      for (let round = 0; round < rounds; round++) {
        for (const [name, { path }] of children) {
          if (name === 'jayson' && protocol === 'mcp1') continue;
          const request = protocol === 'mcp1' ? mcp1Request : jsonRequest;
          // The ceiling echoes the request back: same bytes, same framing.
          const r = runLoad(['--unix', path, '--conns', `${shape.conns}`, '--inflight', `${shape.inflight}`,
            '--seconds', `${seconds}`, '--warmup', '1', '--request', request, '--frame', protocol === 'mcp1' ? 'mcp1' : 'ndjson']);
          samples.set(name, [...(samples.get(name) ?? []), r]);
        }
      }
      const plain = median((samples.get('plain') ?? samples.get('loadgen ceiling')!).map((r) => r.rps));
      const plainP99 = median((samples.get('plain') ?? samples.get('loadgen ceiling')!).map((r) => r.p99_us));
      console.log(`${protocol}, ${shape.name} (${shape.conns} connections x ${shape.inflight} in flight)`);
      console.log('  contender            req/s    p50 us   p99 us   req/s vs plain   p99 vs plain');
      for (const [name, rs] of samples) {
        const rps = median(rs.map((r) => r.rps));
        const p99 = median(rs.map((r) => r.p99_us));
        console.log(`  ${name.padEnd(17)} ${rps.toFixed(0).padStart(9)} ${median(rs.map((r) => r.p50_us)).toFixed(0).padStart(8)} ${p99.toFixed(0).padStart(8)}   ${(rps / plain).toFixed(2).padStart(10)}x   ${(p99 / plainP99).toFixed(2).padStart(10)}x`);
      }
      console.log('');
    }
  }
} finally {
  for (const [, { child }] of children) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
