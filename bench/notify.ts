/**
 * npm run bench:notify — notifications from the server (PROTOCOL.md 6): 16
 * connections each call `countdown [1000]` again and again, and the client reads
 * every notification and answer (1,001 lines a call) before calling again. Lines
 * read per second, ringwire (native, net) against a plain node:net server writing
 * the same lines in a loop, each a child process; the reader is bench/loadgen.c's
 * `sink` mode. Server CPU time per line from /proc.
 *
 * Env: BENCH_SECONDS (3) per case, BENCH_ROUNDS (3) alternating rounds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLoadgen, Child, envNumber, median, root } from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 3);
const rounds = envNumber('BENCH_ROUNDS', 3);
const COUNT = 1000;
const CONNS = 16;
const contenders = ['ringwire-native', 'ringwire-net', 'plain'] as const;
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-notify-bench-'));
const request = join(dir, 'countdown.json');
writeFileSync(request, `{"jsonrpc":"2.0","id":1,"method":"countdown","params":[${COUNT}]}\n`);
console.log(`ringwire bench:notify  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(
  `${CONNS} connections x countdown [${COUNT}] (1,001 lines a call), ${seconds}s per case after 1s warm-up, ${rounds} rounds, medians\n`,
);

const servers = new Map<string, { child: Child; path: string }>();
try {
  for (const kind of contenders) {
    const path = join(dir, `${kind}.sock`);
    servers.set(kind, { child: await Child.start(process.execPath, [join(root, 'dist', 'bench', 'notify-server.js'), kind, path]), path });
  }
  const samples = new Map<string, Array<{ lps: number; cpuUs: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, { child, path }] of servers) {
      const before = cpuSeconds(child.process.pid);
      const r = spawnSync(
        loadgen,
        [
          'sink',
          '--unix',
          path,
          '--conns',
          `${CONNS}`,
          '--request',
          request,
          '--lines',
          `${COUNT + 1}`,
          '--seconds',
          `${seconds}`,
          '--warmup',
          '1',
        ],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      if (r.status !== 0) throw new Error(`loadgen sink failed against ${name}: ${r.stderr || r.error?.message}`);
      const { lps } = JSON.parse(r.stdout.trim()) as { lps: number };
      const after = cpuSeconds(child.process.pid);
      const cpuUs = before !== undefined && after !== undefined ? ((after - before) / (lps * (seconds + 1))) * 1e6 : Number.NaN;
      samples.set(name, [...(samples.get(name) ?? []), { lps, cpuUs }]);
    }
  }
  const plain = median(samples.get('plain')!.map((s) => s.lps));
  console.log('  contender           lines/s   vs plain   server CPU us/line');
  for (const [name, s] of samples) {
    const lps = median(s.map((x) => x.lps));
    console.log(
      `  ${name.padEnd(16)} ${lps.toFixed(0).padStart(10)}   ${(lps / plain).toFixed(2).padStart(7)}x   ${median(s.map((x) => x.cpuUs))
        .toFixed(2)
        .padStart(10)}`,
    );
  }
} finally {
  for (const [, { child }] of servers) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
