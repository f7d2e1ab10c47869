/**
 * npm run bench:scale — issue 14: does `ringwire serve --processes N` scale? Over TCP
 * on loopback, the real command line (bin/ringwire.js, native transport, the demo
 * `echo` handler, --expose-stats) run with `--processes 1` and `--processes 2`, both
 * servers up for the whole run, measured alternately (the order flips every round):
 *
 * - throughput: bench/loadgen.c drives JSON-RPC `echo` (NDJSON, 80 bytes a request) at
 *   256 connections x 1 in flight and 16 x 16 pipelined. Reported: req/s, p50/p99
 *   latency (the load generator's), and req/s per server CPU-second, the server being
 *   the primary AND every server process (utime + stime from /proc/PID/stat, read
 *   inside the load generator's measured window, the pids from the primary's
 *   `ringwire: processes PID, PID` line). Target: per CPU-second, N processes within
 *   10 % of 1 process.
 * - spread: BENCH_SPREAD_CONNS (1,000) TCP connections held open (each has had one
 *   `echo` answered, so the server counts it and keeps it), then `rpc.stats`: max/min
 *   of the processes' open connections, the stats connection itself not counted.
 *   Target: at most 1.3.
 *
 * The load generator is one C thread on the same machine: on a 2-core VM it takes
 * CPU the server processes would otherwise have, and the bench prints how much.
 *
 * BENCH_PIN=SERVER/LOADGEN (CPU lists for taskset, e.g. 0/1) keeps them apart: every
 * server process on the SERVER CPUs, the load generator on the others. On 2 cores
 * that gives N processes one core between them, as 1 process has: the per-CPU-second
 * ratio then measures what more processes cost, not their fight with the load
 * generator for the second core.
 *
 * Env: BENCH_SECONDS (2) measured per run after BENCH_WARMUP (1) s, BENCH_ROUNDS (5)
 * alternating rounds, BENCH_PROCESSES (1,2; the first is the base of the ratios),
 * BENCH_SPREAD (5) spread repetitions (0 skips), BENCH_SPREAD_CONNS (1000), BENCH_PIN.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { buildLoadgen, Child, envNumber, type LoadResult, median, root, sleep } from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 2);
const warmup = envNumber('BENCH_WARMUP', 1);
const rounds = envNumber('BENCH_ROUNDS', 5);
const spreadReps = envNumber('BENCH_SPREAD', 5);
const spreadConns = envNumber('BENCH_SPREAD_CONNS', 1000);
const counts = (process.env.BENCH_PROCESSES ?? '1,2').split(',').map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('BENCH_PROCESSES: whole numbers of at least 1, e.g. 1,2');
if (seconds < 0.5) throw new Error('BENCH_SECONDS: at least 0.5 (CPU is read 0.1 s inside each end of the window)');
const pin = process.env.BENCH_PIN ? /^([\d,-]+)\/([\d,-]+)$/.exec(process.env.BENCH_PIN) : undefined;
if (process.env.BENCH_PIN && !pin) throw new Error('BENCH_PIN: SERVER/LOADGEN CPU lists, e.g. 0/1');

/** `file args` as spawned: under `taskset -c CPUS` when pinned (taskset execs it, so the pid is the program's). */
function pinned(cpus: string | undefined, file: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [file, [...args]] : ['taskset', ['-c', cpus, file, ...args]];
}

const PER_CPU_TARGET = 0.9;
const SPREAD_TARGET = 1.3;
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
];

/** Clock ticks per second of /proc's CPU times. */
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** A process's CPU time so far, user + kernel, in seconds; throws when it is gone (a restarted process would be missed). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ", field 3 (state) comes first: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** The whole machine's busy CPU time so far, in seconds (/proc/stat: everything but idle and iowait). */
function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) / TICKS;
}

/** A process's resident memory in MB (/proc/PID/status). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** `ringwire serve --processes N` on a free loopback port. */
class Serve {
  private stopping = false;
  private constructor(
    readonly processes: number,
    readonly child: ChildProcess,
    readonly port: number,
    /** The primary's pid (none with --processes 1, which runs one plain server process). */
    readonly primaryPid: number | undefined,
    /** Each server process's pid, from the primary's `ringwire: processes PID, PID` line. */
    readonly processPids: number[],
  ) {}

  get name(): string {
    return `${this.processes} process${this.processes === 1 ? '' : 'es'}`;
  }

  /** The primary first, when there is one. */
  get pids(): number[] {
    return this.primaryPid === undefined ? this.processPids : [this.primaryPid, ...this.processPids];
  }

  static start(processes: number): Promise<Serve> {
    const args = [
      'bin/ringwire.js',
      'serve',
      '--tcp',
      '127.0.0.1:0',
      '--processes',
      `${processes}`,
      '--transport',
      'native',
      '--expose-stats',
    ];
    const child = spawn(...pinned(pin?.[1], process.execPath, args), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    let serve: Serve | undefined;
    child.stderr!.on('data', (d: Buffer) => {
      errors += d.toString();
      // Drain messages at the end are expected; anything before (a process died and was restarted) is shown.
      if (serve === undefined || !serve.stopping) process.stderr.write(`[--processes ${processes}] ${d.toString()}`);
    });
    return new Promise((resolve, reject) => {
      let port: number | undefined;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`ringwire serve --processes ${processes} did not list its processes in 60 s\n${errors}`));
      }, 60_000);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (serve === undefined) reject(new Error(`ringwire serve --processes ${processes} exited (${code ?? signal})\n${errors}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const listening = /^ringwire: listening on tcp:127\.0\.0\.1:(\d+) \(native[,)]/.exec(line);
        if (listening) port = Number(listening[1]);
        // --processes 1 is the plain server, without a primary: it lists no processes.
        if (listening && processes === 1 && serve === undefined) {
          clearTimeout(timer);
          serve = new Serve(processes, child, port!, undefined, [child.pid!]);
          resolve(serve);
          return;
        }
        const pids = /^ringwire: processes (.*)$/.exec(line);
        if (pids && serve === undefined) {
          clearTimeout(timer);
          const list = pids[1]!.split(', ').map(Number);
          if (port === undefined || list.length !== processes || list.some((p) => !Number.isInteger(p) || p <= 0)) {
            child.kill('SIGKILL');
            reject(new Error(`unexpected start of --processes ${processes}: port ${port}, ${line}`));
            return;
          }
          serve = new Serve(processes, child, port, child.pid!, list);
          resolve(serve);
        }
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await gone;
  }
}

/** One NDJSON JSON-RPC connection, one call at a time. */
class Rpc {
  private buffered = '';
  private waiting: ((line: string) => void) | undefined;
  private nextId = 1;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0 && this.waiting) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const w = this.waiting;
        this.waiting = undefined;
        w(line);
      }
    });
  }

  static open(port: number): Promise<Rpc> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new Rpc(socket));
      });
      socket.once('error', reject);
    });
  }

  call(method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10_000);
      this.waiting = (line) => {
        clearTimeout(timer);
        const answer = JSON.parse(line) as { id: number; result?: unknown; error?: unknown };
        if (answer.id !== id || answer.error !== undefined) reject(new Error(`${method}: unexpected answer ${line}`));
        else resolve(answer.result);
      };
      this.socket.write(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

interface ProcessStat {
  pid: number;
  restarts: number;
  connections: { open: number };
}
const stats = async (rpc: Rpc): Promise<ProcessStat[]> => ((await rpc.call('rpc.stats')) as { processes: ProcessStat[] }).processes;

interface Sample extends LoadResult {
  /** Server CPU-seconds per wall second: the primary, then each process. */
  cores: number[];
  loadgenCores: number;
  /** Busy CPU of the whole machine (everything but idle and iowait; steal counts), in cores. */
  machineCores: number;
}

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-scale-bench-'));
const requestFile = join(dir, 'echo.request');
writeFileSync(requestFile, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['0123456789abcdef'] }) + '\n');

/** Runs loadgen against `server`, reading every CPU counter 0.1 s inside each end of its measured window. */
async function measure(server: Serve, shape: (typeof shapes)[number]): Promise<Sample> {
  const args = ['client', '--tcp', `127.0.0.1:${server.port}`, '--conns', `${shape.conns}`, '--inflight', `${shape.inflight}`];
  const child = spawn(
    ...pinned(pin?.[2], loadgen, [
      ...args,
      '--seconds',
      `${seconds}`,
      '--warmup',
      `${warmup}`,
      '--request',
      requestFile,
      '--frame',
      'ndjson',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const read = () => ({
    at: performance.now() / 1000,
    server: server.pids.map(cpuSeconds),
    loadgen: cpuSeconds(child.pid!),
    machine: machineBusySeconds(),
  });
  // loadgen's window opens `warmup` s after it has connected, which takes a few ms after spawn.
  await sleep(warmup * 1000 + 100);
  const a = read();
  await sleep(seconds * 1000 - 200);
  const b = read();
  const code = await exited;
  if (code !== 0) throw new Error(`loadgen failed against ${server.name}: ${err}`);
  const wall = b.at - a.at;
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
  return {
    ...r,
    cores: server.pids.map((_, i) => (b.server[i]! - a.server[i]!) / wall),
    loadgenCores: (b.loadgen - a.loadgen) / wall,
    machineCores: (b.machine - a.machine) / wall,
  };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const perCpu = (s: Sample): number => s.rps / sum(s.cores);
const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const range = (xs: number[], digits = 0): string => `${fmt(Math.min(...xs), digits)}-${fmt(Math.max(...xs), digits)}`;

/** Opens `spreadConns` connections (each answered once), returns each process's open connections, ours not counted. */
async function spread(server: Serve): Promise<Array<{ pid: number; open: number }>> {
  const rpc = await Rpc.open(server.port);
  try {
    // Alone on the server, the stats connection shows which process holds it.
    const alone = await stats(rpc);
    const ours = alone.filter((p) => p.connections.open > 0);
    if (ours.length !== 1 || ours[0]!.connections.open !== 1) throw new Error(`${server.name} is not idle: ${JSON.stringify(alone)}`);
    const holder = await Child.start(loadgen, [
      'idle',
      '--tcp',
      `127.0.0.1:${server.port}`,
      '--conns',
      `${spreadConns}`,
      '--hold',
      '60',
      '--request',
      requestFile,
      '--frame',
      'ndjson',
    ]);
    try {
      let now = await stats(rpc);
      for (let i = 0; i < 50 && sum(now.map((p) => p.connections.open)) < spreadConns + 1; i++) {
        await sleep(100);
        now = await stats(rpc);
      }
      if (now.length !== server.processes || now.some((p) => p.restarts > 0 || !server.processPids.includes(p.pid))) {
        throw new Error(`${server.name}: a process was restarted or did not answer: ${JSON.stringify(now)}`);
      }
      const open = now.map((p) => ({ pid: p.pid, open: p.connections.open - (p.pid === ours[0]!.pid ? 1 : 0) }));
      if (sum(open.map((p) => p.open)) !== spreadConns) throw new Error(`${server.name}: ${JSON.stringify(open)} open, not ${spreadConns}`);
      return open;
    } finally {
      await holder.stop();
      // Closed connections leave the counts as the server sees the FINs: wait for them before the next repetition.
      for (let i = 0; i < 100 && sum((await stats(rpc)).map((p) => p.connections.open)) > 1; i++) await sleep(100);
    }
  } finally {
    rpc.close();
  }
}

const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? 0;
console.log(`ringwire bench:scale  node ${process.version}, ${cores} x ${model}`);
console.log(
  `JSON-RPC echo over TCP on loopback, ringwire serve --processes ${counts.join(' / ')} (native, demo handlers); ` +
    `${seconds}s per run after ${warmup}s warm-up, ${rounds} alternating rounds, medians (range)`,
);
if (pin) console.log(`pinned: every server process on CPU ${pin[1]}, the load generator on CPU ${pin[2]} (BENCH_PIN)`);
console.log(
  `server CPU = utime+stime of the primary and every process; the load generator (one C thread) runs on the same ${cores} cores ` +
    `and its share is shown: the processes compete with it for CPU; "others" is the rest of the machine's busy CPU (other processes, steal)\n`,
);

const servers: Serve[] = [];
try {
  for (const n of counts) servers.push(await Serve.start(n));
  for (const s of servers) {
    // loadgen does not read the answers: check once that each server answers echo rightly.
    const rpc = await Rpc.open(s.port);
    const result = await rpc.call('echo', ['0123456789abcdef']);
    rpc.close();
    if (result !== '0123456789abcdef') throw new Error(`${s.name} answered echo with ${JSON.stringify(result)}`);
    const rss = s.pids.map((p) => rssMb(p).toFixed(0)).join(' + ');
    const who = s.primaryPid === undefined ? 'one plain server process, no primary' : 'primary first';
    console.log(`${s.name.padEnd(12)} port ${s.port}, pids ${s.pids.join(', ')} (${who}), RSS MB ${rss}`);
  }
  console.log('');

  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    // ABBA: neither contender always runs first after the other.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const shape of shapes) {
      for (const s of order) {
        const key = `${shape.name} ${s.processes}`;
        samples.set(key, [...(samples.get(key) ?? []), await measure(s, shape)]);
      }
    }
  }

  const verdicts: string[] = [];
  for (const shape of shapes) {
    console.log(`${shape.name} (${shape.conns} connections x ${shape.inflight} in flight)`);
    console.log(
      '  contender         req/s (range)              p50 us  p99 us   req per server CPU-s (range)   server cores: primary + processes   loadgen cores   machine busy (others)',
    );
    const base = samples.get(`${shape.name} ${servers[0]!.processes}`)!;
    for (const s of servers) {
      const rs = samples.get(`${shape.name} ${s.processes}`)!;
      const each = s.pids.map((_, i) => median(rs.map((r) => r.cores[i]!)).toFixed(2)).join(' + ');
      console.log(
        `  ${s.name.padEnd(13)} ${fmt(median(rs.map((r) => r.rps))).padStart(9)} (${range(rs.map((r) => r.rps))})`.padEnd(45) +
          `${fmt(median(rs.map((r) => r.p50_us))).padStart(7)} ${fmt(median(rs.map((r) => r.p99_us))).padStart(7)}` +
          `   ${fmt(median(rs.map(perCpu))).padStart(9)} (${range(rs.map(perCpu))})`.padEnd(34) +
          `   ${fmt(median(rs.map((r) => sum(r.cores))), 2)} = ${each}`.padEnd(38) +
          `${fmt(median(rs.map((r) => r.loadgenCores)), 2).padStart(14)}   ${fmt(median(rs.map((r) => r.machineCores)), 2).padStart(12)}` +
          ` (${fmt(median(rs.map((r) => r.machineCores - sum(r.cores) - r.loadgenCores)), 2)})`,
      );
    }
    for (const s of servers.slice(1)) {
      const rs = samples.get(`${shape.name} ${s.processes}`)!;
      const rps = median(rs.map((r) => r.rps)) / median(base.map((r) => r.rps));
      const cpu = median(rs.map(perCpu)) / median(base.map(perCpu));
      // Per round, each contender against the base measured in the same round.
      const perRound = rs.map((r, i) => perCpu(r) / perCpu(base[i]!));
      const met = cpu >= PER_CPU_TARGET ? 'met' : 'NOT met';
      const line = `${shape.name}: ${s.name} vs ${servers[0]!.name}: req/s ${rps.toFixed(2)}x, req per server CPU-s ${cpu.toFixed(2)}x (per round ${range(perRound, 2)}); target >= ${PER_CPU_TARGET}x: ${met}`;
      console.log(`  ${line}`);
      verdicts.push(line);
    }
    console.log('');
  }

  const spreadServers = servers.filter((s) => s.processes > 1);
  if (spreadReps > 0 && spreadServers.length > 0) {
    console.log(`connection spread: ${spreadConns} TCP connections held (each had one echo answered), then rpc.stats`);
    for (const s of spreadServers) {
      const ratios: number[] = [];
      for (let rep = 0; rep < spreadReps; rep++) {
        const open = await spread(s);
        const counts = open.map((p) => p.open);
        const ratio = Math.min(...counts) === 0 ? Number.POSITIVE_INFINITY : Math.max(...counts) / Math.min(...counts);
        ratios.push(ratio);
        console.log(
          `  ${s.name}, #${rep + 1}: open per process ${open.map((p) => `${p.open} (pid ${p.pid})`).join(', ')}; max/min ${ratio.toFixed(3)}`,
        );
      }
      const worst = Math.max(...ratios);
      const line = `spread: ${s.name}: max/min median ${median(ratios).toFixed(3)}, worst ${worst.toFixed(3)} of ${spreadReps}; target <= ${SPREAD_TARGET}: ${worst <= SPREAD_TARGET ? 'met' : 'NOT met'}`;
      console.log(`  ${line}`);
      verdicts.push(line);
    }
    console.log('');
  }
  console.log('verdicts:');
  for (const v of verdicts) console.log(`  ${v}`);
} finally {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
}
