/**
 * `ringwire serve` and its io backend on Linux (--io-backend, RINGWIRE_IO_BACKEND):
 * io_uring where the kernel allows it, else epoll with ONE log line saying why;
 * `--io-backend io_uring` where it is forbidden fails instead of falling back.
 * The real servers run as `node bin/ringwire.js`, some under test/fixtures/no-io-uring.c,
 * which forbids io_uring as Docker's default seccomp profile does. Without a C
 * compiler the tests that need it skip, unless CI is set: there they fail.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type Cli, ensureBuilt, killAll, launch, RINGWIRE_BIN } from '../fixtures/cli.js';
import { readLines } from '../fixtures/harness.js';
import { noIoUring } from '../fixtures/noIoUring.js';
import { destroyClients, RawClient } from '../helpers/rawClient.js';
import { removeTempDirs, tempDir } from '../helpers/socketPath.js';
import { waitUntil, within } from '../helpers/wait.js';

const LINUX = process.platform === 'linux';
const IN_CI = !['', '0', 'false', undefined].includes(process.env.CI);
/** The environment of every command here: the caller's, without its own RINGWIRE_IO_BACKEND. */
const BASE_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'RINGWIRE_IO_BACKEND'));
/** Built at collection, so that a test knows at once whether it can run. */
const NO_IO_URING = LINUX ? await noIoUring() : undefined;
/** What io_uring_setup's EPERM means here: a seccomp filter, unless kernel.io_uring_disabled says otherwise. */
const IO_URING_DISABLED = readText('/proc/sys/kernel/io_uring_disabled');
const SECCOMP_EPERM = "io_uring_setup: EPERM (a seccomp profile forbids it, as container runtimes' defaults do)";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The no-io-uring program; skips the test without it (fails it under CI). */
function noIoUringOrSkip(ctx: TestContext): string {
  if (NO_IO_URING !== undefined && 'path' in NO_IO_URING) return NO_IO_URING.path;
  const why = NO_IO_URING?.unavailable ?? 'not Linux';
  if (IN_CI) throw new Error(`${why} (CI is set, so this test may not skip)`);
  return ctx.skip(`${why}; with CI set this test fails instead`);
}

/** A `ringwire` command, and the end of its output (`close`, not `exit`: the pipes are read to the end). */
interface Command {
  readonly cli: Cli;
  readonly closed: Promise<number | null>;
}

interface Serving extends Command {
  readonly dir: string;
  readonly socket: string;
}

interface RunOptions {
  /** Run it under this no-io-uring program. */
  readonly filter?: string;
  /** Added to {@link BASE_ENV}. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

function command(args: readonly string[], options: RunOptions = {}): Command {
  const argv = [RINGWIRE_BIN, ...args];
  const spawnOptions = { cwd: options.cwd ?? tempDir(), env: { ...BASE_ENV, ...options.env } };
  const cli =
    options.filter === undefined
      ? launch(process.execPath, argv, spawnOptions)
      : launch(options.filter, [process.execPath, ...argv], spawnOptions);
  const closed = new Promise<number | null>((resolve) => cli.child.once('close', (code) => resolve(code)));
  return { cli, closed };
}

/** `ringwire serve --unix DIR/s.sock ...args`, not waited for. */
function serve(args: readonly string[], options: RunOptions = {}): Serving {
  const dir = tempDir();
  const socket = join(dir, 's.sock');
  return { ...command(['serve', '--unix', socket, ...args], { ...options, cwd: dir }), dir, socket };
}

/** Resolves once the server (or the primary of several) listens on its socket, on the native transport. */
async function listening(s: Serving): Promise<void> {
  const [line] = await s.cli.lines(/^ringwire: listening on unix:/, 1, 15_000);
  // Without the addon (say, while native/ is rebuilt) auto would be node:net, which has no io backend.
  expect(line, `not on the native transport; stderr: ${s.cli.stderr}`).toMatch(/ \(native[,)]/);
}

/** For a serve that must fail: fails at once if it listens instead. */
async function failsToStart(s: Serving, what: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const listened = () => /listening on/.test(s.cli.stdout);
  const ended = () => s.cli.child.exitCode !== null || s.cli.child.signalCode !== null;
  await waitUntil(() => listened() || ended(), `${what} to exit`, 15_000);
  if (listened()) throw new Error(`${what} listened instead of failing; ${describeProcess(s.cli)}`);
  return finish(s, what);
}

/** Every line the command printed that speaks of the io backend, stdout and stderr alike. */
function ioBackendLines(cli: Cli): string[] {
  return `${cli.stdout}\n${cli.stderr}`.split('\n').filter((line) => line.includes('io backend'));
}

/** Runs a command to its end (bounded); its exit code and output. */
async function finish(c: Command, what: string, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const code = await within(c.closed, what, timeoutMs);
    return { code, stdout: c.cli.stdout, stderr: c.cli.stderr };
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${describeProcess(c.cli)}`);
  }
}

/** A process that did not end: its state, where its threads wait, and what it printed. */
function describeProcess(cli: Cli): string {
  const { pid, exitCode, signalCode } = cli.child;
  const threads: string[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1];
      threads.push(`${field('Name')} ${field('State')} wchan=${readText(`/proc/${pid}/task/${tid}/wchan`)}`);
    }
  } catch {
    threads.push('(no /proc entry)');
  }
  return `pid ${pid}, exit code ${exitCode}, signal ${signalCode}, threads [${threads.join('; ')}], stdout ${JSON.stringify(cli.stdout)}, stderr ${JSON.stringify(cli.stderr)}`;
}

/**
 * SIGTERM: the server drains and exits 0. Only once it has answered something: a
 * single-process serve installs its signal handlers after printing "listening on",
 * and a SIGTERM in between kills it outright.
 */
async function stop(s: Serving): Promise<void> {
  s.cli.child.kill('SIGTERM');
  const { code, stderr } = await finish(s, 'the server to exit after SIGTERM');
  expect(code, stderr).toBe(0);
}

/** `ringwire stats` on the server's socket, parsed. */
async function statsOf(s: Serving): Promise<{ ioBackend: string; transport: string; processes?: { ioBackend: string }[] }> {
  const { code, stdout, stderr } = await finish(command(['stats', s.socket, '--timeout', '5000']), 'ringwire stats');
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as { ioBackend: string; transport: string; processes?: { ioBackend: string }[] };
}

/** A JSON-RPC ping as raw NDJSON: the answer, parsed. */
async function ping(socket: string): Promise<unknown> {
  const client = await RawClient.connect({ path: socket });
  await client.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
  const [answer] = await readLines(client, 1, 5000);
  client.destroy();
  return answer;
}

/** The `ringwire_info` sample of the server's /metrics (it was started with --metrics 127.0.0.1:0). */
async function infoSample(s: Serving): Promise<string | undefined> {
  const [line] = await s.cli.lines(/^ringwire: metrics on http:/);
  const url = line!.replace('ringwire: metrics on ', '');
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return (await response.text()).split('\n').find((l) => l.startsWith('ringwire_info{'));
}

/** Whether anything accepts on `path`: the error code when nothing does. */
function connectOutcome(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ path });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Nothing listens: no "listening" line, no socket file, and connecting is refused. */
async function expectNothingListening(s: Serving): Promise<void> {
  expect(s.cli.stdout).not.toMatch(/listening on/);
  expect(existsSync(s.socket)).toBe(false);
  expect(['ENOENT', 'ECONNREFUSED']).toContain(await connectOutcome(s.socket));
}

/** Asks this machine's kernel: io_uring forced, without a filter. Undefined: available; else why not. */
async function ioUringRefusal(): Promise<string | undefined> {
  const probe = serve(['--io-backend', 'io_uring']);
  await waitUntil(
    () => /listening on unix:/.test(probe.cli.stdout) || probe.cli.child.exitCode !== null || probe.cli.child.signalCode !== null,
    'the io_uring probe to listen or exit',
    15_000,
  );
  if (/listening on unix:/.test(probe.cli.stdout)) {
    expect(ioBackendLines(probe.cli)).toEqual(['ringwire: io backend io_uring']);
    // Answered before the SIGTERM: serve hears signals only a moment after its "listening" line.
    expect(await ping(probe.socket)).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
    await stop(probe);
    return undefined;
  }
  const { code, stderr } = await finish(probe, 'the io_uring probe to exit');
  expect(code, stderr).toBe(1);
  const refusal = /^ringwire: io_uring is unavailable: (.+)$/m.exec(stderr);
  expect(refusal, stderr).not.toBeNull();
  return refusal![1];
}

beforeAll(ensureBuilt, 180_000);
afterEach(() => {
  destroyClients();
  killAll();
});
afterAll(removeTempDirs);

describe.skipIf(!LINUX)('ringwire serve: the io backend (Linux)', () => {
  it('falls back to epoll where a seccomp profile forbids io_uring: one line says why, it serves, stats say epoll', async (ctx) => {
    const filter = noIoUringOrSkip(ctx);
    const s = serve(['--expose-stats', '--metrics', '127.0.0.1:0'], { filter });
    await listening(s);
    const lines = ioBackendLines(s.cli);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ringwire: io backend epoll \(io_uring unavailable: io_uring_setup: EPERM/);
    // kernel.io_uring_disabled=1 or 2 would be named instead of the seccomp profile.
    if ([undefined, '0'].includes(IO_URING_DISABLED))
      expect(lines[0]).toBe(`ringwire: io backend epoll (io_uring unavailable: ${SECCOMP_EPERM})`);
    expect(s.cli.stderr).toBe('');

    expect(await ping(s.socket)).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
    const stats = await statsOf(s);
    expect(stats.transport).toBe('native');
    expect(stats.ioBackend).toBe('epoll');
    expect(await infoSample(s)).toBe('ringwire_info{transport="native",io_backend="epoll"} 1');

    await stop(s);
    expect(ioBackendLines(s.cli)).toHaveLength(1);
    expect(existsSync(s.socket)).toBe(false);
  }, 30_000);

  const forced: { name: string; args: string[]; env: Record<string, string> }[] = [
    { name: '--io-backend io_uring', args: ['--io-backend', 'io_uring'], env: {} },
    { name: 'RINGWIRE_IO_BACKEND=io_uring', args: [], env: { RINGWIRE_IO_BACKEND: 'io_uring' } },
  ];
  it.for(forced)(
    '$name where a seccomp profile forbids io_uring: fails with one line saying why, nothing listens',
    { timeout: 30_000 },
    async ({ args, env }, ctx) => {
      const filter = noIoUringOrSkip(ctx);
      const s = serve(args, { filter, env });
      const { code, stdout, stderr } = await failsToStart(s, 'serve with io_uring forced');
      expect(code, stdout + stderr).toBe(1);
      expect(stderr).toMatch(/io_uring/);
      expect(stderr).toMatch(/EPERM/);
      expect(stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^ringwire: io_uring is unavailable: io_uring_setup: EPERM \(.+\)$/),
      ]);
      if ([undefined, '0'].includes(IO_URING_DISABLED)) expect(stderr).toBe(`ringwire: io_uring is unavailable: ${SECCOMP_EPERM}\n`);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(ioBackendLines(s.cli)).toEqual([]);
      await expectNothingListening(s);
    },
  );

  it('RINGWIRE_IO_BACKEND=epoll overrides --io-backend io_uring, also where io_uring is forbidden', async (ctx) => {
    const filter = noIoUringOrSkip(ctx);
    const s = serve(['--io-backend', 'io_uring', '--expose-stats'], { filter, env: { RINGWIRE_IO_BACKEND: 'epoll' } });
    await listening(s);
    expect(ioBackendLines(s.cli)).toEqual(['ringwire: io backend epoll']);
    expect((await statsOf(s)).ioBackend).toBe('epoll');
    await stop(s);
  }, 30_000);

  it('takes io_uring by default where the kernel allows it (else says why not); epoll when RINGWIRE_IO_BACKEND or --io-backend asks', async () => {
    // This machine's answer first: io_uring forced, with no filter.
    const refusal = await ioUringRefusal();
    const auto = serve(['--expose-stats', '--metrics', '127.0.0.1:0']);
    await listening(auto);
    const expected = refusal === undefined ? 'io_uring' : 'epoll';
    expect(ioBackendLines(auto.cli)).toEqual([
      refusal === undefined ? 'ringwire: io backend io_uring' : `ringwire: io backend epoll (io_uring unavailable: ${refusal})`,
    ]);
    expect(await ping(auto.socket)).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
    expect((await statsOf(auto)).ioBackend).toBe(expected);
    expect(await infoSample(auto)).toBe(`ringwire_info{transport="native",io_backend="${expected}"} 1`);
    await stop(auto);
    expect(ioBackendLines(auto.cli)).toHaveLength(1);

    const byEnv = serve(['--expose-stats'], { env: { RINGWIRE_IO_BACKEND: 'epoll' } });
    const byFlag = serve(['--expose-stats', '--io-backend', 'epoll']);
    for (const s of [byEnv, byFlag]) {
      await listening(s);
      // Asked for, not fallen back to: no "unavailable".
      expect(ioBackendLines(s.cli)).toEqual(['ringwire: io backend epoll']);
      expect(await ping(s.socket)).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
      expect((await statsOf(s)).ioBackend).toBe('epoll');
      await stop(s);
    }
  }, 60_000);

  it('--io-backend bogus is a usage error naming the allowed values', async () => {
    const s = serve(['--io-backend', 'bogus']);
    const { code, stdout, stderr } = await failsToStart(s, 'serve --io-backend bogus');
    expect(code, stdout + stderr).toBe(1);
    expect(stderr).toBe('ringwire: --io-backend must be auto, io_uring or epoll (got bogus)\n');
    await expectNothingListening(s);
  }, 30_000);

  it('RINGWIRE_IO_BACKEND=bogus fails naming the variable, the allowed values and the value', async () => {
    const s = serve([], { env: { RINGWIRE_IO_BACKEND: 'bogus' } });
    const { code, stdout, stderr } = await failsToStart(s, 'serve with RINGWIRE_IO_BACKEND=bogus');
    expect(code, stdout + stderr).toBe(1);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^ringwire: RINGWIRE_IO_BACKEND /);
    for (const word of ['auto', 'io_uring', 'epoll', 'bogus']) expect(stderr).toContain(word);
    expect(stderr).not.toMatch(/\n\s+at /);
    await expectNothingListening(s);
  }, 30_000);

  it('--processes 2 --io-backend epoll: every process on epoll, one line each, in the stats totals and per process', async () => {
    const s = serve(['--processes', '2', '--io-backend', 'epoll', '--expose-stats']);
    await listening(s);
    expect(ioBackendLines(s.cli).sort()).toEqual(['ringwire: process 0: io backend epoll', 'ringwire: process 1: io backend epoll']);
    expect(await ping(s.socket)).toEqual({ jsonrpc: '2.0', id: 1, result: 'pong' });
    const stats = await statsOf(s);
    expect(stats.ioBackend).toBe('epoll');
    expect(stats.processes?.map((p) => p.ioBackend)).toEqual(['epoll', 'epoll']);
    await stop(s);
  }, 45_000);

  it('--processes 2 where a seccomp profile forbids io_uring: every process falls back to epoll and says why', async (ctx) => {
    const filter = noIoUringOrSkip(ctx);
    const s = serve(['--processes', '2', '--expose-stats'], { filter });
    await listening(s);
    const lines = ioBackendLines(s.cli).sort();
    expect(lines).toHaveLength(2);
    lines.forEach((line, index) =>
      expect(line).toMatch(new RegExp(`^ringwire: process ${index}: io backend epoll \\(io_uring unavailable: io_uring_setup: EPERM`)),
    );
    const stats = await statsOf(s);
    expect(stats.ioBackend).toBe('epoll');
    expect(stats.processes?.map((p) => p.ioBackend)).toEqual(['epoll', 'epoll']);
    await stop(s);
  }, 45_000);
});
