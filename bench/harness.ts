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

/** Runs the load generator's client mode and returns its JSON line. */
export function runLoad(args: string[]): LoadResult {
  const r = spawnSync(loadgenBinary, ['client', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`loadgen failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as LoadResult;
}

/** A child process that prints `ready` when it listens and answers stdin commands by lines. */
export class Child {
  private readonly lines: Interface;
  private readonly waiting: Array<(line: string) => void> = [];
  private constructor(readonly process: ChildProcess) {
    this.lines = createInterface({ input: process.stdout! });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    process.stderr!.on('data', (d: Buffer) => globalThis.process.stderr.write(d));
  }

  static async start(command: string, args: string[]): Promise<Child> {
    const child = new Child(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const first = await child.nextLine(30_000);
    if (!first.startsWith('ready') && !first.startsWith('connected')) throw new Error(`child said: ${first}`);
    return child;
  }

  nextLine(timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child did not answer')), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  async ask(command: string): Promise<string> {
    const line = this.nextLine();
    this.process.stdin!.write(command + '\n');
    return line;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
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
