/**
 * npm run bench:rpc — `echo` over a Unix socket, JSON-RPC (NDJSON) and MCP1, every
 * contender in the same run: ringwire on the native transport with each of its Linux
 * io backends (`ringwire-epoll`, `ringwire-io_uring`: RINGWIRE_IO_BACKEND in the
 * server's environment, and the bench stops before measuring anything unless each
 * server names the backend asked for), ringwire (net), a plain node:net
 * server written the way a competent user would, and jayson's TCP server (JSON-RPC
 * only), and `floor`: the native transport (on its default backend, or on
 * RINGWIRE_IO_BACKEND's when the bench runs with it set; named in the output) and
 * ringwire's codecs with no pipeline at
 * all, the least any server on them can spend (bench/rpc-server.ts). Two requests per
 * protocol: a 16-byte string (`jsonrpc`, `mcp1`) and a tool call's object
 * (`jsonrpc-object`, `mcp1-object`), each echoed back. Shapes: 256 connections x 1 in
 * flight, 16 x 16 pipelined. The load generator is bench/loadgen.c (one C thread,
 * epoll); its ceiling is measured against its own trivial echo server in the same run.
 * Every contender's answer to each request is checked once before it is measured.
 * Then (`syscalls`, untimed) system calls a `jsonrpc` request of ringwire on each
 * backend and on net, at each shape: `strace -c -f` attached to the server for
 * BENCH_SYSCALL_SECONDS while loadgen runs, and all calls counted by perf (when it
 * works here) in a window of its own without strace (bench/harness.ts, countSyscalls).
 * Then (`idle`) server memory per idle connection: BENCH_IDLE connections, each
 * having had one JSON-RPC echo answered.
 *
 * Env: BENCH_SECONDS (5) per case, BENCH_ROUNDS (1) alternating rounds, BENCH_IDLE
 * (8000; 0 skips the memory case), BENCH_SYSCALL_SECONDS (3; 0 skips the syscall
 * case), BENCH_ONLY (comma-separated contenders, shapes or cases to keep, of the
 * names in `groups` below; `ringwire-native` names both native backends; default
 * all). A build without io_uring fails at once: leave ringwire-io_uring out with
 * BENCH_ONLY naming the other contenders.
 */
import { deepStrictEqual } from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
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
  readyBackend,
  root,
  runLoad,
  STALL_US,
  stallNote,
  startServerChild,
  syscallPhase,
} from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 5);
const rounds = envNumber('BENCH_ROUNDS', 1);
const idleConns = envNumber('BENCH_IDLE', 8000);
const syscallSeconds = envNumber('BENCH_SYSCALL_SECONDS', 3);
/** BENCH_ONLY=a,b keeps the contenders, shapes and cases named (for quick runs while tuning). */
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .filter(Boolean)
  .flatMap((n) => (n === 'ringwire-native' ? ['ringwire-epoll', 'ringwire-io_uring'] : [n]));
const groups = [
  ['256x1', '16x16'],
  ['jsonrpc', 'jsonrpc-object', 'mcp1', 'mcp1-object', 'syscalls', 'idle'],
  ['ringwire-epoll', 'ringwire-io_uring', 'ringwire-net', 'plain', 'jayson', 'floor'],
];
const unknown = only.filter((n) => !groups.some((g) => g.includes(n)));
if (unknown.length > 0) throw new Error(`BENCH_ONLY names ${unknown.join(', ')}: none of ${groups.flat().join(', ')}, ringwire-native`);
/** Kept unless BENCH_ONLY names others of its kind and not it. */
const keep = (name: string): boolean => {
  const named = (groups.find((g) => g.includes(name)) ?? []).filter((n) => only.includes(n));
  return named.length === 0 || named.includes(name);
};
const shapes = [
  { name: '256x1', conns: 256, inflight: 1 },
  { name: '16x16', conns: 16, inflight: 16 },
].filter((s) => keep(s.name));
/** Each contender's rpc-server.ts kind, and the io backend asked of the native transport (checked). */
const contenders: Record<string, { kind: string; backend?: IoBackend }> = {
  'ringwire-epoll': { kind: 'ringwire-native', backend: 'epoll' },
  'ringwire-io_uring': { kind: 'ringwire-native', backend: 'io_uring' },
  'ringwire-net': { kind: 'ringwire-net' },
  plain: { kind: 'plain' },
  jayson: { kind: 'jayson' },
  floor: { kind: 'floor' },
};
const servers = Object.keys(contenders).filter(keep);
/** The memory case measures the servers people would choose between, not jayson or the floor. */
const idleServers = ['ringwire-epoll', 'ringwire-io_uring', 'ringwire-net', 'plain'].filter(keep);
/** Whose system calls are counted: ringwire on each native backend, and on node:net for comparison. */
const syscallServers = ['ringwire-epoll', 'ringwire-io_uring', 'ringwire-net'].filter(keep);

const loadgen = buildLoadgen();
const dir = mkdtempSync(join(tmpdir(), 'rw-rpc-bench-'));
const serverScript = join(root, 'dist', 'bench', 'rpc-server.js');
// --expose-gc for `mem`; it costs nothing until gc() is called.
const startServer = (name: string, path: string): Promise<Child> =>
  startServerChild(
    name,
    process.execPath,
    ['--expose-gc', serverScript, contenders[name]!.kind, path],
    contenders[name]!.backend,
    `To measure the others without it: BENCH_ONLY=${servers.filter((n) => n !== name).join(',')} npm run bench:rpc`,
  );

/** An MCP `tools/call`'s params: the nested, mixed object a real request carries, not one short string. */
const toolCall = {
  name: 'search',
  arguments: { query: 'reactive socket servers', limit: 10, filters: ['a', 'b'], page: { size: 20, cursor: 'eyJvZmZzZXQiOjQwfQ==' } },
};

type Frame = 'ndjson' | 'mcp1';
interface Case {
  name: string;
  frame: Frame;
  /** The request, id 1, and the file loadgen reads it from. */
  bytes: Buffer;
  file: string;
  /** What `echo` must answer (PROTOCOL.md section 5): `[x]` gives x, anything else comes back as given. */
  result: unknown;
}

const packr = new Packr({ useRecords: false });
const mcp1Frame = (type: number, payload: Uint8Array): Buffer => {
  const frame = Buffer.alloc(16 + payload.length);
  frame.write('MCP1', 0, 'latin1');
  frame[4] = type;
  frame.writeUInt32BE(1, 8);
  frame.writeUInt32BE(payload.length, 12);
  frame.set(payload, 16);
  return frame;
};

function echoCase(name: string, frame: Frame, params: unknown, result: unknown): Case {
  const bytes =
    frame === 'ndjson'
      ? Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params }) + '\n')
      : mcp1Frame(1, packr.pack({ method: 'echo', params }));
  const file = join(dir, `${name}.request`);
  writeFileSync(file, bytes);
  return { name, frame, bytes, file, result };
}

const jsonrpc = echoCase('jsonrpc', 'ndjson', ['0123456789abcdef'], '0123456789abcdef');
const cases = [
  jsonrpc,
  echoCase('jsonrpc-object', 'ndjson', toolCall, toolCall),
  echoCase('mcp1', 'mcp1', ['0123456789abcdef'], '0123456789abcdef'),
  echoCase('mcp1-object', 'mcp1', toolCall, toolCall),
];
const measured = cases.filter((c) => keep(c.name));

/** Length of the whole answer at the start of `bytes`, 0 while it is not all there. */
function answerLength(frame: Frame, bytes: Buffer): number {
  if (frame === 'ndjson') return bytes.indexOf(10) + 1;
  return bytes.length >= 16 && bytes.length >= 16 + bytes.readUInt32BE(12) ? 16 + bytes.readUInt32BE(12) : 0;
}

/** Sends `c`'s request on a new connection and resolves to all that came back once its answer is whole. */
function exchange(path: string, c: Case): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let got = Buffer.alloc(0);
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(got);
      else reject(error);
    };
    const timer = setTimeout(() => finish(new Error(`no whole answer within 5 s (${got.length} bytes)`)), 5000);
    socket.on('error', finish);
    socket.on('close', () => finish(new Error(`connection closed after ${got.length} bytes`)));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (answerLength(c.frame, got) > 0) finish(undefined);
    });
    socket.write(c.bytes);
  });
}

/**
 * Throws unless `name` answers `c` with exactly the echo it must (the ceiling: the
 * request's own bytes). loadgen counts answers without reading them, so a server
 * answering with an error or the wrong value would otherwise be measured as serving.
 */
async function checkAnswer(name: string, path: string, c: Case): Promise<void> {
  let answer: Buffer;
  try {
    answer = await exchange(path, c);
  } catch (error) {
    throw new Error(`${name} did not answer ${c.name}: ${(error as Error).message}`);
  }
  try {
    // One request was sent: all that arrived must be one answer.
    deepStrictEqual(answerLength(c.frame, answer), answer.length, 'one answer and nothing after it');
    if (name === 'loadgen ceiling') deepStrictEqual(answer, c.bytes);
    else if (c.frame === 'ndjson') deepStrictEqual(JSON.parse(answer.toString('utf8')), { jsonrpc: '2.0', id: 1, result: c.result });
    else {
      deepStrictEqual(answer.subarray(0, 16), mcp1Frame(2, answer.subarray(16)).subarray(0, 16), 'a type-2 response to id 1');
      deepStrictEqual(packr.unpack(answer.subarray(16)), c.result);
    }
  } catch (error) {
    const shown = c.frame === 'ndjson' ? answer.toString('utf8').trimEnd() : answer.toString('hex');
    throw new Error(
      `${name} answered ${c.name} wrongly, so it is not measured: ${(error as Error).message}\n  its answer: ${shown.slice(0, 400)}`,
    );
  }
}

console.log(`ringwire bench:rpc  node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(`echo over a Unix socket, ${seconds}s per case after 1s warm-up, ${rounds} round(s), medians`);
const sizes = (json: Case, mcp1: Case): string => `${json.bytes.length} / ${mcp1.bytes.length} bytes a request`;
console.log(`  jsonrpc, mcp1: params ["0123456789abcdef"], answered with the string (${sizes(cases[0]!, cases[2]!)})`);
console.log(`  jsonrpc-object, mcp1-object: params a tool call's object, answered with the same object (${sizes(cases[1]!, cases[3]!)})\n`);

const children = new Map<string, { child: Child; path: string }>();
/** Contenders that went silent in a timed run (see STALL_US): the bench ends with an error after printing everything. */
const stalled: string[] = [];
try {
  const traced = keep('syscalls') && syscallSeconds > 0 && shapes.length > 0 && syscallServers.length > 0;
  if (measured.length > 0) {
    const ceilingPath = join(dir, 'ceiling.sock');
    children.set('loadgen ceiling', { child: await Child.start(loadgen, ['echo', '--unix', ceilingPath]), path: ceilingPath });
  }
  if (measured.length > 0 || traced) {
    // Every server up, and on its backend, before anything is measured.
    for (const name of measured.length > 0 ? servers : syscallServers) {
      const path = join(dir, `${name}.sock`);
      children.set(name, { child: await startServer(name, path), path });
    }
    const backends = [...children].flatMap(([name, { child }]) => {
      const backend = readyBackend(child);
      // The ready line's text after `backend=`: a fallback's reason comes with it.
      const said = child.ready.slice(child.ready.indexOf('backend=') + 'backend='.length);
      return backend === undefined ? [] : [`${name} on ${said}${contenders[name]?.backend === undefined ? ' (the default)' : ''}`];
    });
    if (backends.length > 0) console.log(`io backends confirmed by the servers: ${backends.join(', ')}\n`);
  }
  const speaks = (name: string, c: Case): boolean => !(name === 'jayson' && c.frame === 'mcp1');
  // Every answer checked before anything is measured: a wrong one stops the bench here.
  for (const c of traced && !measured.includes(jsonrpc) ? [...measured, jsonrpc] : measured) {
    for (const [name, { path }] of children) if (speaks(name, c)) await checkAnswer(name, path, c);
  }
  for (const c of measured) {
    for (const shape of shapes) {
      const samples = new Map<string, Array<LoadResult & { cpu: CpuTime | undefined }>>();
      for (let round = 0; round < rounds; round++) {
        for (const [name, { child, path }] of children) {
          if (!speaks(name, c)) continue;
          // The ceiling echoes the request back: same bytes, same framing.
          const before = cpuSeconds(child.process.pid);
          const r = runLoad(loadArgs({ path, conns: shape.conns, inflight: shape.inflight, seconds, request: c.file, frame: c.frame }));
          const after = cpuSeconds(child.process.pid);
          // The server's CPU over warm-up and measurement, per request at the measured rate.
          samples.set(name, [...(samples.get(name) ?? []), { ...r, cpu: cpuPerRequest(before, after, r, seconds) }]);
        }
      }
      // Ratios are to plain; a BENCH_ONLY run without plain takes them to the ceiling, and says so.
      const base = samples.has('plain') ? 'plain' : 'loadgen ceiling';
      const plain = median(samples.get(base)!.map((r) => r.rps));
      const plainP99 = median(samples.get(base)!.map((r) => r.p99_us));
      console.log(`${c.name}, ${shape.name} (${shape.conns} connections x ${shape.inflight} in flight)`);
      const vs = base === 'plain' ? 'plain' : 'ceil.';
      console.log(`  contender            req/s    p50 us   p99 us   req/s vs ${vs}   p99 vs ${vs}${CPU_HEADER}`);
      for (const [name, rs] of samples) {
        const rps = median(rs.map((r) => r.rps));
        const p99 = median(rs.map((r) => r.p99_us));
        const ratio = (x: number): string => `${x.toFixed(2)}x`.padStart(`req/s vs ${vs}`.length);
        const stall = stallNote(rs);
        if (stall !== '') stalled.push(`${name} at ${c.name} ${shape.name}`);
        const p50 = median(rs.map((r) => r.p50_us));
        console.log(
          `  ${name.padEnd(17)} ${rps.toFixed(0).padStart(9)} ${p50.toFixed(0).padStart(8)} ${p99.toFixed(0).padStart(8)}   ${ratio(rps / plain)}   ${ratio(p99 / plainP99)}${cpuColumns(rs.map((r) => r.cpu))}${stall}`,
        );
      }
      console.log('');
    }
  }
  if (traced) {
    await syscallPhase({
      what: 'a jsonrpc request',
      seconds: syscallSeconds,
      dir,
      shapes,
      servers: syscallServers.map((name) => ({ name, ...children.get(name)! })),
      request: jsonrpc.file,
      frame: jsonrpc.frame,
    });
  }
  // The memory case wants the machine to itself; strace has detached from every server (countSyscalls waits for it).
  for (const [, { child }] of children) await child.stop();
  children.clear();

  if (idleConns > 0 && keep('idle') && idleServers.length > 0) {
    console.log(`server memory per idle connection, ${idleConns} connections, each after one JSON-RPC echo answered (after GC)`);
    console.log(IDLE_MEMORY_HEADER);
    for (const name of idleServers) {
      const path = join(dir, `idle-${name}.sock`);
      const server = await startServer(name, path);
      children.set(`idle ${name}`, { child: server, path });
      await checkAnswer(name, path, jsonrpc);
      const memory = await idleMemory(server, { path, conns: idleConns, hold: 120, request: { file: jsonrpc.file, frame: 'ndjson' } });
      console.log(idleMemoryRow(name, memory));
      await server.stop();
      children.delete(`idle ${name}`);
    }
  }
} finally {
  for (const [, { child }] of children) await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
if (stalled.length > 0) {
  console.log(
    `\nSTALLED (no answer for over ${STALL_US / 1e6} s with requests in flight): ${stalled.join(', ')}; their figures are not the server's speed.`,
  );
  process.exitCode = 1;
}
