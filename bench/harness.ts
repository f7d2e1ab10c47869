/**
 * Shared plumbing of the socket benchmarks: building the C load generator, running
 * server children, and the statistics we quote (medians of alternating rounds).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
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

  static async start(command: string, args: string[]): Promise<Child> {
    const child = new Child(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      const first = await child.nextLine(30_000);
      if (!first.startsWith('ready') && !first.startsWith('connected')) throw new Error(`child said: ${first}`);
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

export const IDLE_MEMORY_HEADER = '  contender        RSS B/conn: first burst   settled   live heap+external B/conn';

export function idleMemoryRow(name: string, m: IdleMemory): string {
  const n = (x: number, width: number): string => x.toFixed(0).padStart(width);
  return `  ${name.padEnd(16)} ${n(m.rss, 23)}   ${n(m.settledRss, 7)}   ${n(m.heapAndExternal, 25)}   (${m.open} open)`;
}
