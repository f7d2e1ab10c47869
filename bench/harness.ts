/**
 * Shared plumbing of the socket benchmarks: building the C load generator, running
 * server children, and the statistics we quote (medians of alternating rounds).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const loadgenSource = join(root, 'bench', 'loadgen.c');
export const loadgenBinary = join(root, 'dist', 'bench', 'loadgen');

/** Compiles bench/loadgen.c when the binary is missing or older than its source. */
export function buildLoadgen(): string {
  const fresh = existsSync(loadgenBinary) && statSync(loadgenBinary).mtimeMs >= statSync(loadgenSource).mtimeMs;
  if (!fresh) {
    mkdirSync(dirname(loadgenBinary), { recursive: true });
    const cc = spawnSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', loadgenBinary, loadgenSource], { stdio: 'inherit' });
    if (cc.status !== 0) throw new Error('cannot compile bench/loadgen.c (is a C compiler installed?)');
  }
  return loadgenBinary;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50_us: number;
  p99_us: number;
  /** The longest time in the measured window with no answer at all (all of it when nothing was answered). */
  max_gap_us: number;
}

/**
 * A silence this long with every request in flight unanswered is a stalled server,
 * not a noisy machine (a healthy one answers within milliseconds): rows say so.
 */
export const STALL_US = 500_000;

/** `  STALLED: …` for a row some of whose runs went silent for over {@link STALL_US}, or ''. */
export function stallNote(rs: LoadResult[]): string {
  const stalled = rs.filter((r) => r.max_gap_us > STALL_US);
  if (stalled.length === 0) return '';
  const longest = Math.max(...stalled.map((r) => r.max_gap_us)) / 1e6;
  return `  STALLED: no answer for up to ${longest.toFixed(1)} s in ${stalled.length} of ${rs.length} run(s)`;
}

/** How loadgen frames its requests and finds the end of each answer. */
export type LoadFrame = `echo:${number}` | 'ndjson' | 'mcp1';

/** The arguments of loadgen's client mode after `client`: one list for every benchmark. */
export function loadArgs(o: {
  path: string;
  conns: number;
  inflight: number;
  seconds: number;
  /** Without one, loadgen sends `echo:N`'s N bytes of 'x'. */
  request?: string;
  frame: LoadFrame;
}): string[] {
  return [
    '--unix',
    o.path,
    '--conns',
    `${o.conns}`,
    '--inflight',
    `${o.inflight}`,
    '--seconds',
    `${o.seconds}`,
    '--warmup',
    '1',
    ...(o.request === undefined ? [] : ['--request', o.request]),
    '--frame',
    o.frame,
  ];
}

/** Runs the load generator's client mode and returns its JSON line. */
export function runLoad(args: string[]): LoadResult {
  const r = spawnSync(loadgenBinary, ['client', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`loadgen failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as LoadResult;
}

/** A child process that prints `ready` when it listens and answers stdin commands by lines. */
export class Child {
  /** The first line the child printed: `ready …` or `connected …`. */
  ready = '';
  private readonly lines: Interface;
  private readonly waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  private ended = false;
  private constructor(readonly process: ChildProcess) {
    this.lines = createInterface({ input: process.stdout! });
    this.lines.on('line', (line) => this.waiting.shift()?.resolve(line));
    // A child that dies (a loadgen that failed, a server that threw) answers nothing more: say so now, not after the timeout.
    this.lines.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w.reject(new Error('child exited'));
    });
    process.stderr!.on('data', (d: Buffer) => globalThis.process.stderr.write(d));
  }

  /** Starts `command` with `env` (default: this process's) and waits for its first line. */
  static async start(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Child> {
    const child = new Child(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env }));
    try {
      const first = await child.nextLine(30_000);
      if (!first.startsWith('ready') && !first.startsWith('connected')) throw new Error(`child said: ${first}`);
      child.ready = first;
    } catch (error) {
      // Nobody else holds it to stop it later.
      await child.stop();
      throw new Error(`${command} ${args.join(' ')}: ${(error as Error).message}`);
    }
    return child;
  }

  nextLine(timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new Error('child exited'));
      const waiter = {
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      // A line after the timeout is not this waiter's: it must not take the next one's.
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(new Error('child did not answer'));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }

  async ask(command: string): Promise<string> {
    const line = this.nextLine();
    this.process.stdin!.write(command + '\n');
    return line;
  }

  async stop(): Promise<void> {
    // Killed by a signal, a child has a signalCode and no exitCode.
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const gone = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await gone;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined ? fallback : Number(v);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a server child's `mem` command prints: its memory after GC, and its open connections. */
interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  open: number;
}

export interface IdleMemory {
  /** RSS bytes per connection right after the process first holds this many. */
  rss: number;
  /**
   * RSS bytes per connection of a second wave of as many, measured once the server
   * has been idle for {@link SETTLE_MS} before and after it: what a connection
   * costs a server that has run a while. A first burst also grows what the process
   * keeps for itself, whatever follows (V8's young generation for a burst of
   * long-lived objects, compiler and allocator memory); an idle V8 gives the
   * young generation back after a few seconds.
   */
  settledRss: number;
  /** Live heap and external bytes per connection (second wave). */
  heapAndExternal: number;
  /** Connections the server counted when it was measured. */
  open: number;
}

/** How long a server is left idle before it is measured: V8's memory reducer acts after a few seconds. */
export const SETTLE_MS = 12_000;

/**
 * A server child's memory per idle connection: its `mem` before and right after
 * `conns` connections of loadgen's idle mode (each having sent `request` and read
 * its answer first, when one is given); then, once those have closed, before and
 * after a second wave, each reading after {@link SETTLE_MS} of idleness.
 * Connections are held for at most `hold` seconds.
 */
export async function idleMemory(
  server: Child,
  o: { path: string; conns: number; hold: number; request?: { file: string; frame: 'ndjson' | 'mcp1' } },
): Promise<IdleMemory> {
  const request = o.request === undefined ? [] : ['--request', o.request.file, '--frame', o.request.frame];
  const mem = async (): Promise<Memory> => JSON.parse(await server.ask('mem')) as Memory;
  const holders: Child[] = [];
  const hold = async (): Promise<Memory> => {
    holders.push(await Child.start(loadgenBinary, ['idle', '--unix', o.path, '--conns', `${o.conns}`, '--hold', `${o.hold}`, ...request]));
    let now = await mem();
    // Without a request, loadgen has connected before the server has accepted them all.
    for (let i = 0; i < 100 && now.open < o.conns; i++) {
      await sleep(100);
      now = await mem();
    }
    return now;
  };
  const release = async (): Promise<void> => {
    for (const holder of holders.splice(0)) await holder.stop();
    for (let i = 0; i < 100 && (await mem()).open > 0; i++) await sleep(100);
  };
  try {
    const cold = await mem();
    const first = await hold();
    await release();
    await sleep(SETTLE_MS);
    const rested = await mem();
    await hold();
    await sleep(SETTLE_MS);
    const settled = await mem();
    return {
      rss: (first.rss - cold.rss) / o.conns,
      settledRss: (settled.rss - rested.rss) / o.conns,
      heapAndExternal: (settled.heapUsed + settled.external - rested.heapUsed - rested.external) / o.conns,
      open: settled.open,
    };
  } finally {
    await release();
  }
}

export const IDLE_MEMORY_HEADER = '  contender          RSS B/conn: first burst   settled   live heap+external B/conn';

export function idleMemoryRow(name: string, m: IdleMemory): string {
  const n = (x: number, width: number): string => x.toFixed(0).padStart(width);
  return `  ${name.padEnd(18)} ${n(m.rss, 23)}   ${n(m.settledRss, 7)}   ${n(m.heapAndExternal, 25)}   (${m.open} open)`;
}

/** The native transport's io backends the benches put side by side. */
export type IoBackend = 'epoll' | 'io_uring';

/** The io backend a server child names in its first line (`ready backend=io_uring`), if it names one. */
export function readyBackend(child: Child): string | undefined {
  return /\bbackend=(\S+)/.exec(child.ready)?.[1];
}

/**
 * Starts a server child. With `backend`, the child runs with RINGWIRE_IO_BACKEND set to
 * it and must name that backend in its ready line: one that names another (a build
 * without it, a silent fallback) is stopped and the bench fails here, before anything
 * is measured under the wrong name.
 */
export async function startServerChild(
  name: string,
  command: string,
  args: string[],
  backend?: IoBackend,
  /** How to run the bench without this contender, for the error. */
  without = 'BENCH_ONLY can leave the contender out',
): Promise<Child> {
  if (backend === undefined) return Child.start(command, args);
  const asked = `RINGWIRE_IO_BACKEND=${backend}`;
  let child: Child;
  try {
    child = await Child.start(command, args, { ...process.env, RINGWIRE_IO_BACKEND: backend });
  } catch (error) {
    throw new Error(`${name}: the server did not start with ${asked} (its stderr, if any, is above): ${(error as Error).message}`);
  }
  const actual = readyBackend(child);
  if (actual !== backend) {
    await child.stop();
    throw new Error(
      `${name}: asked for the ${backend} backend (${asked}) but the server runs on ${actual ?? '(it names no backend)'}. ` +
        `This build has no ${backend} backend, or it fell back without failing; nothing is measured under the wrong name. ` +
        `${without}.`,
    );
  }
  return child;
}

/** Clock ticks per second of /proc/PID/stat's CPU times. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

export interface CpuTime {
  user: number;
  kernel: number;
}

/**
 * A process's CPU time so far (all its threads), user and kernel, in seconds (Linux
 * /proc; undefined elsewhere).
 */
export function cpuSeconds(pid: number | undefined): CpuTime | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ", field 3 (state) comes first: utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / CLOCK_TICKS, kernel: Number(fields[12]) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/**
 * A server's CPU microseconds per request between two readings taken around one
 * loadgen run of `seconds` after its 1 s warm-up: the CPU covers warm-up and
 * measurement, so the requests are taken as `rps` over both.
 */
export function cpuPerRequest(
  before: CpuTime | undefined,
  after: CpuTime | undefined,
  r: LoadResult,
  seconds: number,
): CpuTime | undefined {
  if (before === undefined || after === undefined || r.rps === 0) return undefined;
  const served = r.rps * (seconds + 1);
  return { user: ((after.user - before.user) / served) * 1e6, kernel: ((after.kernel - before.kernel) / served) * 1e6 };
}

/** The header of {@link cpuColumns}. */
export const CPU_HEADER = '   server CPU us/req: user  kernel';

/** Medians of user and kernel CPU a request, aligned under {@link CPU_HEADER}; blank when a sample has no reading (or no answers). */
export function cpuColumns(cpus: Array<CpuTime | undefined>): string {
  const got = cpus.flatMap((c) => (c ? [c] : []));
  if (got.length === 0 || got.length !== cpus.length) return ' '.repeat(CPU_HEADER.length);
  const user = median(got.map((c) => c.user)).toFixed(2);
  const kernel = median(got.map((c) => c.kernel)).toFixed(2);
  return `${user.padStart(CPU_HEADER.length - '  kernel'.length)} ${kernel.padStart(7)}`;
}

/** Why strace cannot count system calls here, or undefined when it can. */
export function straceUnavailable(): string | undefined {
  const r = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (r.error !== undefined) return `strace cannot run (${r.error.message})`;
  return r.status === 0 ? undefined : `strace -V failed: ${r.stderr.trim()}`;
}

/** Why perf cannot count a process's system calls here (it needs tracepoints and `--control`), or undefined when it can. */
export function perfUnavailable(): string | undefined {
  const r = spawnSync('perf', ['stat', '-x', ',', '-e', 'raw_syscalls:sys_enter', '--', 'true'], { encoding: 'utf8' });
  if (r.error !== undefined) return `perf cannot run (${r.error.message})`;
  if (r.status !== 0) return `perf cannot count raw_syscalls:sys_enter: ${r.stderr.trim().split('\n').at(-1)}`;
  const help = spawnSync('perf', ['stat', '-h'], { encoding: 'utf8' });
  return `${help.stdout}${help.stderr}`.includes('--control') ? undefined : 'this perf has no --control';
}

/** One counting window of the syscall phase. */
export interface SyscallWindow {
  /** Answers loadgen counted between its two marks, the counter running throughout. */
  requests: number;
  /** Requests a second over the window (strace slows the server). */
  rps: number;
  /** Calls per system call over the window, all of the server's threads (perf: only the calls it was asked to tell apart). */
  calls: Map<string, number>;
  /** All calls. */
  total: number;
}

export interface SyscallCount {
  /** strace -c -f attached to the server. */
  strace: SyscallWindow;
  /** perf stat without strace, in a window of its own after it (undefined without perf). */
  perf: SyscallWindow | undefined;
  /** What strace said besides attaching and detaching (threads it could not attach to, say). */
  straceSaid: string[];
  /**
   * Seconds the server answered nothing after strace detached, when that was over 1 s
   * (a healthy server answers within milliseconds): undefined when it went on at once.
   */
  stalledAfterStrace: number | undefined;
}

/** strace could not attach to the server (ptrace not permitted here, say): the phase is skipped, not failed. */
export class StraceUnavailable extends Error {}

interface Mark {
  answered: number;
  ns: number;
}

/** Waits for a helper process to exit, interrupting it (SIGINT: strace and perf print their summaries) if it still runs. */
async function interrupt(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGINT');
  const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

/** Resolves with a process's first output on `stream` matching `pattern`; rejects when it exits first or after `ms`. */
function waitOutput(p: ChildProcess, stream: NodeJS.ReadableStream, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (error: Error | undefined): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      p.off('exit', onExit);
      if (error === undefined) resolve(seen);
      else reject(error);
    };
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) done(undefined);
    };
    const onExit = (): void => done(new Error(`exited before it printed ${pattern}: ${seen.trim()}`));
    const timer = setTimeout(() => done(new Error(`did not print ${pattern} within ${ms} ms: ${seen.trim()}`)), ms);
    stream.on('data', onData);
    p.once('exit', onExit);
  });
}

/** strace -c's table: calls per system call (the `total` row left out). */
export function parseStraceSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  // % time, seconds, usecs/call, calls, errors (blank when none), syscall.
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\S+)\s*$/.exec(line);
    if (m && m[2] !== 'total') calls.set(m[2]!, (calls.get(m[2]!) ?? 0) + Number(m[1]));
  }
  return calls;
}

/** perf stat -x, output: count per event (events perf could not count left out). */
function parsePerfCsv(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [count, , event] = line.split(',');
    if (event !== undefined && /^\d+$/.test(count ?? '')) counts.set(event, Number(count));
  }
  return counts;
}

/** The kernel's syscall entry tracepoints perf can count, by system call name (empty where tracefs is not mounted). */
function syscallTracepoints(): Set<string> {
  for (const dir of ['/sys/kernel/tracing/events/syscalls', '/sys/kernel/debug/tracing/events/syscalls']) {
    try {
      return new Set(
        readdirSync(dir)
          .filter((n) => n.startsWith('sys_enter_'))
          .map((n) => n.slice('sys_enter_'.length)),
      );
    } catch {}
  }
  return new Set();
}

/** System calls perf tells apart (those the kernel has tracepoints for): every loop's usual ones. */
const PERF_CALLS = [
  'io_uring_enter',
  'epoll_wait',
  'epoll_pwait',
  'epoll_ctl',
  'read',
  'readv',
  'recvfrom',
  'recvmsg',
  'write',
  'writev',
  'sendto',
  'sendmsg',
  'accept4',
  'close',
  'futex',
  'getpid',
];

/**
 * System calls a request of one server child, untimed: loadgen runs the shape
 * (`--marks`, so that the bench can read its answers so far at any moment) and, after
 * 1 s of warm-up, two windows of `seconds` each follow. In the first (when `perf`),
 * perf counts in the kernel, barely slowing the server, all its system calls and,
 * apart, {@link PERF_CALLS}. In the second, `strace -c -f` is attached to all of the
 * server's threads and tells every call apart; strace stops the server at each call,
 * so loop turns batch more than at full speed. Each window is bracketed by loadgen's
 * marks, so its requests are loadgen's answers between them; only the marks' own
 * round trips (milliseconds) are counted by the tracer and not in the requests. perf
 * goes first because a server can stall after strace detaches (see
 * {@link SyscallCount.stalledAfterStrace}, which is measured here too). strace has
 * exited (detached) before this returns, so the server can be stopped safely after.
 */
export async function countSyscalls(
  server: Child,
  o: {
    path: string;
    conns: number;
    inflight: number;
    request?: string;
    frame: LoadFrame;
    seconds: number;
    /** Where strace and perf write their summaries. */
    file: string;
    perf: boolean;
  },
): Promise<SyscallCount> {
  const pid = server.process.pid;
  if (pid === undefined) throw new Error('the server has no pid');
  const args = loadArgs({ ...o, seconds: 3 * o.seconds + 120 });
  const load = await Child.start(loadgenBinary, ['client', ...args, '--marks', '1']);
  const helpers: ChildProcess[] = [];
  const mark = async (): Promise<Mark> => JSON.parse(await load.ask('mark')) as Mark;
  const window = async (): Promise<{ requests: number; rps: number }> => {
    const a = await mark();
    await sleep(o.seconds * 1000);
    const b = await mark();
    return { requests: b.answered - a.answered, rps: (b.answered - a.answered) / ((b.ns - a.ns) / 1e9) };
  };
  try {
    await sleep(1000);
    let perfWindow: SyscallWindow | undefined;
    if (o.perf) {
      const tracepoints = syscallTracepoints();
      const apart = PERF_CALLS.filter((call) => tracepoints.has(call));
      const events = ['raw_syscalls:sys_enter', ...apart.map((call) => `syscalls:sys_enter_${call}`)];
      const perfFile = `${o.file}.perf`;
      // Counting starts disabled; `enable` is acknowledged once the counters run, so the marks bracket the window.
      const perf = spawn(
        'perf',
        ['stat', '-x', ',', '-e', events.join(','), '-D', '-1', '--control', 'fd:3,4', '-o', perfFile, '-p', `${pid}`],
        {
          stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
        },
      );
      helpers.push(perf);
      let perfSaid = '';
      perf.stderr!.on('data', (d: Buffer) => (perfSaid += d.toString()));
      const control = async (command: string): Promise<void> => {
        const ack = waitOutput(perf, perf.stdio[4] as NodeJS.ReadableStream, /ack/, 10_000);
        (perf.stdio[3] as NodeJS.WritableStream).write(`${command}\n`);
        try {
          await ack;
        } catch (error) {
          throw new Error(`perf did not acknowledge ${command}: ${(error as Error).message} ${perfSaid.trim()}`);
        }
      };
      await control('enable');
      const counted = await window();
      await control('disable');
      await interrupt(perf);
      const counts = parsePerfCsv(readFileSync(perfFile, 'utf8'));
      // A server that made no system call at all in the window leaves perf's counters "<not counted>".
      const calls = new Map<string, number>();
      for (const call of apart) calls.set(call, counts.get(`syscalls:sys_enter_${call}`) ?? 0);
      perfWindow = { ...counted, calls, total: counts.get('raw_syscalls:sys_enter') ?? 0 };
    }

    const strace = spawn('strace', ['-c', '-f', '-p', `${pid}`, '-o', o.file], { stdio: ['ignore', 'ignore', 'pipe'] });
    helpers.push(strace);
    let straceSaid = '';
    strace.stderr!.on('data', (d: Buffer) => (straceSaid += d.toString()));
    // With -f and -p, strace says "Process N attached with M threads" once it holds them all.
    try {
      await waitOutput(strace, strace.stderr!, /attached/, 15_000);
    } catch (error) {
      throw new StraceUnavailable(`strace could not attach to the server: ${(error as Error).message}`);
    }
    const traced = await window();
    await interrupt(strace);
    // strace writes no table when it saw no call at all.
    const calls = parseStraceSummary(readFileSync(o.file, 'utf8'));
    let total = 0;
    for (const n of calls.values()) total += n;
    // Attaching to a thread inside a system call makes strace note it ("entering, ptrace_syscall_info.op == 2"): nothing wrong.
    const said = straceSaid
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^strace: Process \d+ (attached|detached)/.test(l) && !/ptrace_syscall_info\.op ==/.test(l));

    // Does the server answer again at once? Up to 20 s, so that the next window and the next server are not hit by a stall.
    const detached = await mark();
    let now = detached;
    while (now.answered === detached.answered && now.ns - detached.ns < 20e9) {
      await sleep(100);
      now = await mark();
    }
    const quiet = (now.ns - detached.ns) / 1e9;
    const stalled = now.answered === detached.answered ? Number.POSITIVE_INFINITY : quiet;
    return {
      strace: { ...traced, calls, total },
      perf: perfWindow,
      straceSaid: said,
      stalledAfterStrace: stalled > 1 ? stalled : undefined,
    };
  } finally {
    for (const helper of helpers) await interrupt(helper);
    await load.stop();
  }
}

/** What the syscall phase's table shows, before it. */
export function syscallIntro(what: string, seconds: number, noPerf: string | undefined): string[] {
  return [
    `system calls ${what} (untimed), at each shape, loadgen running; requests are loadgen's answers in each ${seconds}s window:`,
    noPerf === undefined
      ? `  perf:   perf stat, counting in the kernel at near full speed: all calls (raw_syscalls), and apart the usual loop calls.`
      : `  no perf rows: ${noPerf}.`,
    '  strace: then strace -c -f attached to every server thread. It stops the server at each call, so each loop turn finds more',
    '          work than at full speed and batches more: fewer calls a request than the timed runs make.',
  ];
}

/**
 * The syscall phase's table: two rows per contender and shape (perf's window, then
 * strace's), all system calls a request, then the `columns` calls largest per
 * request in any row, the rest as `other`; then what went wrong, if anything.
 */
export function syscallTable(rows: Array<{ name: string; shape: string; count: SyscallCount }>, columns = 7): string[] {
  const windows = rows.flatMap(({ name, shape, count }) => [
    ...(count.perf === undefined ? [] : [{ name, shape, by: 'perf', w: count.perf }]),
    { name, shape, by: 'strace', w: count.strace },
  ]);
  const largest = new Map<string, number>();
  for (const { w } of windows) {
    if (w.requests === 0) continue;
    for (const [call, n] of w.calls) largest.set(call, Math.max(largest.get(call) ?? 0, n / w.requests));
  }
  const shown = [...largest]
    .filter(([, perRequest]) => perRequest > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, columns)
    .map(([call]) => call);
  const f = (x: number, width: number): string => x.toFixed(3).padStart(width);
  const widths = shown.map((call) => Math.max(call.length, 6));
  const lines = [
    `  ${'contender'.padEnd(17)} ${'shape'.padEnd(6)} ${'by'.padEnd(6)} ${'requests'.padStart(8)} ${'req/s'.padStart(7)}   ${'total'.padStart(6)}  ${shown
      .map((call, i) => call.padStart(widths[i]!))
      .join('  ')}  ${'other'.padStart(6)}`,
  ];
  for (const { name, shape, by, w } of windows) {
    const lead = `  ${name.padEnd(17)} ${shape.padEnd(6)} ${by.padEnd(6)} ${`${w.requests}`.padStart(8)} ${w.rps.toFixed(0).padStart(7)}   `;
    if (w.requests === 0) {
      lines.push(`${lead}NO ANSWERS in the window (the server stalled); ${w.total} system calls counted`);
      continue;
    }
    const per = (n: number): number => n / w.requests;
    // perf's counters start a hair apart: its parts can sum to a few calls over its total.
    let rest = w.total;
    const cells = shown.map((call, i) => {
      const n = w.calls.get(call);
      rest -= n ?? 0;
      // A call perf was not asked to tell apart is in `other`, not 0.
      return n === undefined && by === 'perf' ? '-'.padStart(widths[i]!) : f(per(n ?? 0), widths[i]!);
    });
    lines.push(`${lead}${f(per(w.total), 6)}  ${cells.join('  ')}  ${f(per(Math.max(rest, 0)), 6)}`);
  }
  for (const { name, shape, count } of rows) {
    for (const said of count.straceSaid.slice(0, 5)) lines.push(`  (${name} ${shape}) strace: ${said}`);
    const stall = count.stalledAfterStrace;
    if (stall !== undefined) {
      const how = Number.isFinite(stall) ? `${stall.toFixed(1)} s` : 'over 20 s (the bench gave up waiting)';
      lines.push(`  (${name} ${shape}) STALL: the server answered nothing for ${how} after strace detached, its requests in flight`);
    }
  }
  return lines;
}

/**
 * The untimed system-call phase both socket benches end with: `what` names the unit
 * ("a request"), each server is counted at each shape (countSyscalls), and the table
 * is printed, or why not. strace has detached from every server when it returns.
 */
export async function syscallPhase(o: {
  what: string;
  seconds: number;
  dir: string;
  shapes: ReadonlyArray<{ name: string; conns: number; inflight: number }>;
  servers: ReadonlyArray<{ name: string; child: Child; path: string }>;
  frame: LoadFrame;
  request?: string;
}): Promise<void> {
  const why = straceUnavailable();
  if (why !== undefined) {
    console.log(`system calls a request: skipped, ${why}\n`);
    return;
  }
  const noPerf = perfUnavailable();
  for (const line of syscallIntro(o.what, o.seconds, noPerf)) console.log(line);
  const rows: Array<{ name: string; shape: string; count: SyscallCount }> = [];
  try {
    for (const shape of o.shapes) {
      for (const { name, child, path } of o.servers) {
        const count = await countSyscalls(child, {
          path,
          conns: shape.conns,
          inflight: shape.inflight,
          ...(o.request !== undefined && { request: o.request }),
          frame: o.frame,
          seconds: o.seconds,
          file: join(o.dir, `${name}-${shape.name}.strace`),
          perf: noPerf === undefined,
        });
        rows.push({ name, shape: shape.name, count });
      }
    }
  } catch (error) {
    if (!(error instanceof StraceUnavailable)) throw error;
    console.log(`  skipped: ${error.message}\n`);
    return;
  }
  for (const line of syscallTable(rows)) console.log(line);
  console.log('');
}
