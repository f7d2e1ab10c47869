/**
 * npm run bench:operators — ops/s of detection, each framing and each codec, on
 * 64-byte and 4 KiB messages, against the naive code a user would write (split on
 * '\n' + JSON.parse; Buffer.concat per chunk). benchmark.js, one process, every
 * contender of a group in the same run.
 *
 * Each framing op feeds one 256 KiB stream of messages cut into 16 KiB reads (so
 * frames straddle read boundaries as they do on a socket) and counts its frames.
 */
import Benchmark from 'benchmark';
import { Packr } from 'msgpackr';
import { identity, Observable, type OperatorFunction, Subject } from 'rxjs';
import {
  contentLengthFrames,
  decodeJsonRpc,
  decodeMcp1,
  detectProtocol,
  encodeJsonRpc,
  encodeMcp1,
  jsonFrames,
  mcp1Frames,
} from '../operators/index.js';
import type { DataRecord, PipelineRecord, Protocol, ReplyRecord } from '../src/core/records.js';
import { TestConnection } from '../src/testing/connection.js';

const STREAM_BYTES = 256 * 1024;
const READ_BYTES = 16 * 1024;
const packr = new Packr({ useRecords: false });
const enc = new TextEncoder();

interface Row {
  group: string;
  name: string;
  hz: number;
  rme: number;
  unit: string;
  perOp: number;
}
const rows: Row[] = [];

/** Runs one group of contenders; `perOp` converts ops/s into the unit quoted. */
function group(name: string, unit: string, perOp: number, cases: Record<string, () => void>): void {
  const suite = new Benchmark.Suite(name);
  for (const [label, fn] of Object.entries(cases)) {
    fn(); // fail fast before timing
    suite.add(label, fn, { minSamples: 20, maxTime: Number(process.env.BENCH_MAXTIME ?? 2) });
  }
  suite.on('cycle', (e: Benchmark.Event) => {
    const b = e.target as unknown as Benchmark & { name: string };
    rows.push({ group: name, name: b.name, hz: b.hz, rme: b.stats.rme, unit, perOp });
  });
  suite.run();
  const mine = rows.filter((r) => r.group === name);
  const base = mine.find((r) => r.name.startsWith('naive'))?.hz;
  console.log(`\n${name}`);
  for (const r of mine) {
    const rate = r.hz * r.perOp;
    const shown = unit === 'MB/s' ? (rate / 1e6).toFixed(0) : unit === 'ns/conn' ? (1e9 / rate).toFixed(0) : fmt(rate);
    const ratio = base ? `  ${(r.hz / base).toFixed(2)}x naive` : '';
    console.log(`  ${r.name.padEnd(44)} ${shown.padStart(10)} ${unit}  ±${r.rme.toFixed(1)}%${ratio}`);
  }
  if (unit === 'ns/conn') {
    // RxJS's cost of delivering the same records (Subject → subscriber) is not
    // detection: what detectProtocol itself adds is its row minus a baseline row.
    const ns = (r: Row): number => 1e9 / (r.hz * r.perOp);
    const baselines = mine.filter((r) => r.name.startsWith('baseline'));
    for (const r of mine.filter((x) => x.name.startsWith('detectProtocol'))) {
      const own = baselines.map(
        (b) => `${(ns(r) - ns(b)).toFixed(0)} over ${b.name.replace('baseline: ', '').replace(', same records', '')}`,
      );
      console.log(`  = ${r.name} itself: ${own.join(', ')} (ns/conn)`);
    }
  }
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0);
}

/** A stream of `count` copies of `message`, cut into READ_BYTES reads. */
function reads(message: Uint8Array): { chunks: Uint8Array[]; count: number } {
  const count = Math.max(1, Math.floor(STREAM_BYTES / message.length));
  const all = new Uint8Array(count * message.length);
  for (let i = 0; i < count; i++) all.set(message, i * message.length);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length; at += READ_BYTES) chunks.push(all.subarray(at, at + READ_BYTES));
  return { chunks, count };
}

/** A live pipeline that counts what comes out; `push` feeds one record. */
function pipeline(op: OperatorFunction<PipelineRecord, PipelineRecord>): { push: (r: PipelineRecord) => void; out: () => number } {
  const input = new Subject<PipelineRecord>();
  let n = 0;
  input.pipe(op).subscribe(() => n++);
  return { push: (r) => input.next(r), out: () => n };
}

function jsonRequest(size: number): string {
  const base = { jsonrpc: '2.0', id: 1, method: 'echo', params: [''] };
  const pad = size - JSON.stringify(base).length - 1;
  return JSON.stringify({ ...base, params: ['x'.repeat(Math.max(0, pad))] });
}

function mcp1Frame(size: number): Uint8Array {
  const pad = size - 16;
  let payload = packr.pack({ method: 'echo', params: [''] });
  payload = packr.pack({ method: 'echo', params: ['x'.repeat(Math.max(0, pad - payload.length))] });
  const frame = new Uint8Array(16 + payload.length);
  frame.set(enc.encode('MCP1'), 0);
  frame[4] = 1;
  new DataView(frame.buffer).setUint32(8, 7);
  new DataView(frame.buffer).setUint32(12, payload.length);
  frame.set(payload, 16);
  return frame;
}

function framingGroup(
  label: string,
  protocol: Protocol,
  message: Uint8Array,
  op: () => OperatorFunction<PipelineRecord, PipelineRecord>,
  naive: (chunks: Uint8Array[]) => number,
): void {
  const { chunks, count } = reads(message);
  const conn = new TestConnection();
  const records: DataRecord[] = chunks.map((bytes) => ({ type: 'data', connection: conn, bytes, protocol }));
  const p = pipeline(op());
  let last = 0;
  group(`${label}: ${message.length}-byte messages`, 'MB/s', count * message.length, {
    [`ringwire ${label}`]: () => {
      for (const r of records) p.push(r);
      const got = p.out() - last;
      last = p.out();
      if (got !== count) throw new Error(`${label}: ${got} frames, expected ${count}`);
    },
    [`naive ${label}`]: () => {
      const got = naive(chunks);
      if (got !== count) throw new Error(`naive ${label}: ${got} frames, expected ${count}`);
    },
  });
  const framesPerSec = rows
    .filter((r) => r.group.startsWith(`${label}: ${message.length}-byte`))
    .map((r) => `${r.name} ${fmt(r.hz * count)} frames/s`);
  console.log(`  (${framesPerSec.join(', ')})`);
}

const decoder = new TextDecoder();

function naiveNdjsonSplit(chunks: Uint8Array[]): number {
  let pending = '';
  let n = 0;
  for (const c of chunks) {
    pending += decoder.decode(c);
    const lines = pending.split('\n');
    pending = lines.pop()!;
    n += lines.length;
  }
  return n;
}

function naiveNdjsonParse(chunks: Uint8Array[]): number {
  let pending = '';
  let n = 0;
  for (const c of chunks) {
    pending += decoder.decode(c);
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (JSON.parse(line)) n++;
  }
  return n;
}

function naiveMcp1Concat(chunks: Uint8Array[]): number {
  let buf = Buffer.alloc(0);
  let n = 0;
  for (const c of chunks) {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 16) {
      const len = buf.readUInt32BE(12);
      if (buf.length < 16 + len) break;
      buf.subarray(16, 16 + len);
      buf = buf.subarray(16 + len);
      n++;
    }
  }
  return n;
}

function naiveLsp(chunks: Uint8Array[]): number {
  let buf = Buffer.alloc(0);
  let n = 0;
  for (const c of chunks) {
    buf = Buffer.concat([buf, c]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const m = /content-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      const len = Number(m![1]);
      if (buf.length < end + 4 + len) break;
      buf = buf.subarray(end + 4 + len);
      n++;
    }
  }
  return n;
}

console.log(`ringwire bench:operators  node ${process.version}`);

// Detection: one new connection per op (open its first bytes, decide, end it).
{
  const conns = Array.from({ length: 4096 }, () => new TestConnection());
  const firsts: Record<string, Uint8Array> = {
    mcp1: mcp1Frame(64).subarray(0, 16),
    ndjson: enc.encode('{"jsonrpc":"2.0",'),
    lsp: enc.encode('Content-Length: 52\r\n'),
  };
  const p = pipeline(detectProtocol({ timeoutMs: 60_000 }));
  // The same three records through an operator that does nothing: what RxJS itself costs.
  const none = pipeline(identity);
  let i = 0;
  const cases: Record<string, () => void> = {};
  for (const [name, bytes] of Object.entries(firsts)) {
    cases[`detectProtocol ${name}`] = () => {
      const connection = conns[i++ & 4095]!;
      p.push({ type: 'open', connection });
      p.push({ type: 'data', connection, bytes });
      p.push({ type: 'end', connection });
    };
  }
  cases['baseline: identity operator, same records'] = () => {
    const connection = conns[i++ & 4095]!;
    none.push({ type: 'open', connection });
    none.push({ type: 'data', connection, bytes: firsts.ndjson! });
    none.push({ type: 'end', connection });
  };
  // `identity` adds no hop at all; every real operator pays one per record. This one
  // is written like the operators (new Observable + subscribe) and does nothing else:
  // detection's own cost is its row minus this one.
  const passThrough = pipeline(
    (source) =>
      new Observable<PipelineRecord>((subscriber) =>
        source.subscribe({
          next: (r) => subscriber.next(r),
          error: (e: unknown) => subscriber.error(e),
          complete: () => subscriber.complete(),
        }),
      ),
  );
  cases['baseline: pass-through operator, same records'] = () => {
    const connection = conns[i++ & 4095]!;
    passThrough.push({ type: 'open', connection });
    passThrough.push({ type: 'data', connection, bytes: firsts.ndjson! });
    passThrough.push({ type: 'end', connection });
  };
  group('detectProtocol: a connection opened, its first bytes decided, closed', 'ns/conn', 1, cases);
}

for (const size of [64, 4096]) {
  const line = enc.encode(jsonRequest(size - 1) + '\n');
  framingGroup('jsonFrames', 'jsonrpc', line, () => jsonFrames(), naiveNdjsonSplit);
  framingGroup('jsonFrames+decodeJsonRpc', 'jsonrpc', line, () => (s) => s.pipe(jsonFrames(), decodeJsonRpc()), naiveNdjsonParse);
  framingGroup('mcp1Frames', 'mcp1', mcp1Frame(size), () => mcp1Frames(), naiveMcp1Concat);
  const body = enc.encode(jsonRequest(size - 24));
  const lsp = new Uint8Array([...enc.encode(`Content-Length: ${body.length}\r\n\r\n`), ...body]);
  framingGroup('contentLengthFrames', 'lsp', lsp, () => contentLengthFrames(), naiveLsp);
}

// Codecs: decode and encode one message per op.
for (const size of [64, 4096]) {
  const conn = new TestConnection();
  const json = enc.encode(jsonRequest(size));
  const frame = mcp1Frame(size);
  const header = { type: 1, flags: 0, id: 7, length: frame.length - 16 };
  const jd = pipeline(decodeJsonRpc());
  const md = pipeline(decodeMcp1());
  group(`decode: ${size}-byte request`, 'msgs/s', 1, {
    'ringwire decodeJsonRpc': () => jd.push({ type: 'frame', connection: conn, protocol: 'jsonrpc', bytes: json }),
    'naive JSON.parse(TextDecoder)': () => void JSON.parse(decoder.decode(json)),
    'ringwire decodeMcp1': () => md.push({ type: 'frame', connection: conn, protocol: 'mcp1', header, bytes: frame.subarray(16) }),
    'msgpackr unpack (no framing)': () => void packr.unpack(frame.subarray(16)),
  });
  const result = 'x'.repeat(size - 40);
  const je = pipeline(encodeJsonRpc());
  const me = pipeline(encodeMcp1());
  const reply = (protocol: Protocol): ReplyRecord => ({
    type: 'reply',
    connection: conn,
    protocol,
    id: 7,
    kind: 'result',
    result,
    final: true,
  });
  const jr = reply('jsonrpc');
  const mr = reply('mcp1');
  group(`encode: ${size}-byte response`, 'msgs/s', 1, {
    'ringwire encodeJsonRpc': () => je.push(jr),
    'naive Buffer.from(JSON.stringify+\\n)': () => void Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 7, result }) + '\n'),
    'ringwire encodeMcp1': () => me.push(mr),
    'naive Buffer.concat([header, pack])': () => void Buffer.concat([Buffer.alloc(16), packr.pack(result)]),
  });
}

// Added rows (after every original group, so those run exactly as before).

// Detection when the first read does not decide: the held-back bytes, their copy
// into the deciding read, and the deadline that waits for them.
{
  const conns = Array.from({ length: 4096 }, () => new TestConnection());
  const first = enc.encode('MC');
  const rest = mcp1Frame(64).subarray(2, 18);
  const p = pipeline(detectProtocol({ timeoutMs: 60_000 }));
  const none = pipeline(identity);
  let i = 0;
  /** One connection's records, opening split over two reads, through `into`. */
  const splitOpening = (into: typeof p) => () => {
    const connection = conns[i++ & 4095]!;
    into.push({ type: 'open', connection });
    into.push({ type: 'data', connection, bytes: first });
    into.push({ type: 'data', connection, bytes: rest });
    into.push({ type: 'end', connection });
  };
  group('detectProtocol: opening split over two reads (MC | P1…)', 'ns/conn', 1, {
    'detectProtocol mcp1, split': splitOpening(p),
    'baseline: identity operator, same records': splitOpening(none),
  });
}

// A string id makes a small reply just over 64 bytes: past V8's limit for typed
// arrays kept on its heap, so each output would get an ArrayBuffer of its own.
{
  const conn = new TestConnection();
  const result = 'x'.repeat(24);
  const je = pipeline(encodeJsonRpc());
  const jr: ReplyRecord = { type: 'reply', connection: conn, protocol: 'jsonrpc', id: 'req-7f3a', kind: 'result', result, final: true };
  group('encode: 70-byte response, string id', 'msgs/s', 1, {
    'ringwire encodeJsonRpc': () => je.push(jr),
    'naive Buffer.from(JSON.stringify+\\n)': () => void Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 'req-7f3a', result }) + '\n'),
  });
}
