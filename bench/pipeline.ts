/**
 * npm run bench:pipeline — the server's default pipeline (detectProtocol through
 * encodeJsonRpc / encodeMcp1, with the server's own probes) in-process, without sockets: what one request costs in
 * the operators alone. Reads of 16 pipelined `echo` requests, as bench:rpc's 16x16
 * shape delivers them, on 16 connections.
 */

import { Packr } from 'msgpackr';
import { NEVER, Observable, Subject } from 'rxjs';
import type { PipelineRecord } from '../src/core/records.js';
import { demoHandlers } from '../src/handlers/demo.js';
import { instrument } from '../src/server/createServer.js';
import { defaultStages } from '../src/server/defaultStages.js';
import { resolveLimits } from '../src/server/options.js';
import { composeStages, type PipelineStages, type Stage } from '../src/server/stages.js';
import { StatsCollector } from '../src/server/stats.js';
import { ConnectionTracker } from '../src/server/tracker.js';
import { TestConnection } from '../src/testing/connection.js';
import { envNumber } from './harness.js';

const seconds = envNumber('BENCH_SECONDS', 3);
const enc = new TextEncoder();
const jsonLine = enc.encode('{"jsonrpc":"2.0","id":1,"method":"echo","params":["0123456789abcdef"]}\n');
const payload = new Packr({ useRecords: false }).pack({ method: 'echo', params: ['0123456789abcdef'] });

const MAGIC = enc.encode('MCP1');
/** 16 frames with fresh ids; reads are rebuilt in place (the transport's buffer is reused too). */
function mcp1Read(out: Uint8Array, perRead: number, firstId: number): Uint8Array {
  const view = new DataView(out.buffer);
  for (let i = 0; i < perRead; i++) {
    const at = i * (16 + payload.length);
    out.set(MAGIC, at);
    out[at + 4] = 1;
    view.setUint32(at + 8, firstId + i);
    view.setUint32(at + 12, payload.length);
    out.set(payload, at + 16);
  }
  return out;
}

class CountingConnection extends TestConnection {
  bytesOut = 0;
  override write(bytes: Uint8Array): boolean {
    this.bytesOut += bytes.length;
    return true;
  }
}

/**
 * BENCH_FUSION=off subscribes every stage on its own, as RxJS operators each are,
 * instead of fusing ringwire's adjacent stages into one subscription: what fusion
 * saves (docs/ARCHITECTURE.md).
 */
const fusion = process.env.BENCH_FUSION !== 'off';

/** The stages in order, each subscribing its predecessor's Observable itself: no fusion. */
function apart(stages: PipelineStages): Stage {
  return (source) =>
    stages.reduce((acc, s) => s.operator(new Observable<PipelineRecord>((subscriber) => acc.subscribe(subscriber))), source);
}

/** BENCH_ONLY=jsonrpc or mcp1 runs one protocol (for profiling). */
const only = process.env.BENCH_ONLY;
for (const protocol of (['jsonrpc', 'mcp1'] as const).filter((p) => only === undefined || only === p)) {
  const input = new Subject<PipelineRecord>();
  const limits = resolveLimits({});
  // As createServer() runs it: its probes, and backpressure() around `handle`.
  const defaults = defaultStages({ handlers: demoHandlers, limits, proxyProtocol: false, disconnects: NEVER });
  const stages = instrument(defaults, new ConnectionTracker(new StatsCollector()), limits);
  let replies = 0;
  input.pipe(fusion ? composeStages(stages) : apart(stages)).subscribe((r) => {
    if (r.type === 'out') {
      r.connection.write(r.bytes);
      replies++;
    }
  });
  const conns = Array.from({ length: 16 }, () => new CountingConnection());
  const perRead = 16;
  const jsonRead = new Uint8Array(perRead * jsonLine.length);
  for (let i = 0; i < perRead; i++) jsonRead.set(jsonLine, i * jsonLine.length);
  let id = 1;
  const mcp1Buf = new Uint8Array(perRead * (16 + payload.length));
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let reads = 0;
  while (performance.now() < deadline) {
    for (let k = 0; k < 64; k++) {
      for (const connection of conns) {
        // MCP1 ids must be unique among a connection's in-flight requests; echo answers at once.
        const bytes = protocol === 'jsonrpc' ? jsonRead : mcp1Read(mcp1Buf, perRead, (id += perRead));
        input.next({ type: 'data', connection, bytes });
        reads++;
      }
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const requests = reads * perRead;
  if (replies !== requests) throw new Error(`${protocol}: ${replies} replies for ${requests} requests`);
  console.log(
    `${protocol.padEnd(8)}${fusion ? '' : ' (stages apart)'} ${(requests / elapsed / 1e3).toFixed(0).padStart(6)}k req/s   ${((elapsed / requests) * 1e9).toFixed(0)} ns/request, ${(((cpu.user + cpu.system) * 1e3) / requests).toFixed(0)} ns CPU/request (pipeline only, no sockets)`,
  );
}
