/**
 * PROTOCOL.md 2.1 and 3: "It never buffers more than the limit plus one read" and
 * "never reads the oversized payload into memory". A thousand connections that each
 * send an oversized message must leave the server's memory where it was: the
 * server runs in a child process (so this process's own allocations do not count),
 * compiled from dist/, and reports `process.memoryUsage()` after full GCs.
 */

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { LINGER_MS } from '../../src/transport/base.js';
import { ensureBuilt, ROOT } from '../fixtures/cli.js';
import { transports } from '../fixtures/harness.js';
import { parseFrames } from '../fixtures/mcp1.js';
import { type Address, destroyClients, RawClient } from '../helpers/rawClient.js';
import { removeTempDirs, tempDir } from '../helpers/socketPath.js';
import { recordFigure, TOO_LARGE } from './input-wire.js';

const MiB = 1024 * 1024;
const SMALL_LIMIT = 4096;
const CONNECTIONS = 1000;
/** Default-limit JSON messages (1 MiB + 1 each): fewer, or the run would push a gigabyte through loopback. */
const BIG_JSON_CONNECTIONS = 100;
const PARALLEL = 50;
/** Connections of each kind before the baseline: V8's maps, ICs and pools reach their working size. */
const WARMUP = 400;

/**
 * The child: one server with the default limit, one with a small limit, each on a
 * Unix socket. stdin `mem` answers a line of memory figures after full GCs.
 */
const CHILD = `
const { createServer, demoHandlers } = await import(process.argv[1]);
const [, , transport, dir] = process.argv;
const servers = await Promise.all([
  createServer({ listen: [{ unix: dir + '/default.sock' }], handlers: demoHandlers, transport }),
  createServer({ listen: [{ unix: dir + '/small.sock' }], handlers: demoHandlers, transport, limits: { maxMessageBytes: ${SMALL_LIMIT} } }),
]);
const open = () => servers.reduce((n, s) => n + s.stats().connections.open, 0);
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
let buffered = '';
process.stdin.setEncoding('utf8').on('data', async (text) => {
  buffered += text;
  for (let nl; (nl = buffered.indexOf('\\n')) >= 0; ) {
    const command = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (command === 'mem') {
      for (let i = 0; i < 6; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
      const m = process.memoryUsage();
      out({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, open: open(), violations: servers.map((s) => s.stats().violations) });
    }
  }
});
out({ ready: servers.map((s) => s.listeners[0].address) });
`;

interface Memory {
  heapUsed: number;
  external: number;
  rss: number;
  open: number;
  violations: Array<Record<string, number>>;
}

class ChildServer {
  private lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private partial = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.partial += text;
      for (let nl: number; (nl = this.partial.indexOf('\n')) >= 0; ) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = undefined;
          resolve(line);
        } else this.lines.push(line);
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', resolve));
  }

  next<T>(): Promise<T> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child server did not answer')), 15_000);
      this.waiting = (l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as T);
      };
    });
  }

  ask<T>(command: string): Promise<T> {
    this.child.stdin!.write(`${command}\n`);
    return this.next<T>();
  }
}

const children = new Set<ChildProcess>();

afterAll(() => {
  destroyClients();
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  removeTempDirs();
});

beforeAll(ensureBuilt, 180_000);

async function startChild(transport: string): Promise<{ child: ChildServer; normal: Address; small: Address }> {
  const dir = tempDir();
  const entry = pathToFileURL(join(ROOT, 'dist', 'src', 'index.js')).href;
  const proc = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, entry, transport, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(proc);
  const child = new ChildServer(proc);
  const { ready } = await child.next<{ ready: string[] }>();
  return { child, normal: { path: ready[0]! }, small: { path: ready[1]! } };
}

/** One oversized message; resolves once the server has answered and closed, checking the answer. */
type Attack = (address: Address) => Promise<void>;

async function sendAndAwaitClose(address: Address, bytes: Uint8Array): Promise<RawClient> {
  const c = await RawClient.connect(address);
  await c.sendAll(bytes).catch(() => undefined); // the server may close before the last chunk is flushed
  await c.waitForClose(10_000);
  return c;
}

const mcp1Huge: Attack = async (address) => {
  // The header alone, the socket left open: the server must not wait for 4 GiB.
  const c = await sendAndAwaitClose(address, mcp1Bytes({ type: 1, id: 9, length: 0xffffffff }));
  const frames = parseFrames(c.bytes());
  assert.equal(frames.length, 1);
  assert.deepEqual([frames[0]!.type, frames[0]!.id, (frames[0]!.value as { code: number }).code], [3, 0, -32600]);
};

function jsonOver(limit: number): Attack {
  const head = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["';
  const bytes = Buffer.concat([Buffer.from(head), Buffer.alloc(limit + 1 - head.length, 0x78)]);
  return async (address) => {
    const c = await sendAndAwaitClose(address, bytes);
    assert.equal(c.text(), TOO_LARGE);
  };
}

const lspHuge: Attack = async (address) => {
  const c = await sendAndAwaitClose(address, Buffer.from('Content-Length: 4294967295\r\n\r\n'));
  assert.match(
    c.text(),
    /^Content-Length: \d+\r\n\r\n\{"jsonrpc":"2\.0","id":null,"error":\{"code":-32600,"message":"Message too large"\}\}$/,
  );
};

/**
 * A connection the server ended is kept (closed or not) for LINGER_MS, so that a
 * peer which never reads cannot hold it forever; memory is compared once those
 * references have been swept.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, LINGER_MS + 700));
}

async function run(attack: Attack, address: Address, count: number): Promise<void> {
  for (let done = 0; done < count; done += PARALLEL) {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, count - done) }, () => attack(address)));
  }
}

// The transports run side by side: most of each test is waiting for lingering connections to be swept.
describe('memory after a thousand oversized messages', () => {
  it.concurrent.for(transports())(
    `%s: grows less than 1 MiB (heapUsed + external) after ${CONNECTIONS} connections of each kind`,
    async (transport, { expect }) => {
      const { child, normal, small } = await startChild(transport);
      const plan: Array<[string, Attack, Address, number]> = [
        ['MCP1 header claiming 0xFFFFFFFF, body never sent (1 MiB limit)', mcp1Huge, normal, CONNECTIONS],
        ['LSP Content-Length 4294967295, body never sent (1 MiB limit)', lspHuge, normal, CONNECTIONS],
        [`JSON value of maxMessageBytes + 1 (${SMALL_LIMIT} B limit)`, jsonOver(SMALL_LIMIT), small, CONNECTIONS],
        ['JSON value of maxMessageBytes + 1 (1 MiB limit)', jsonOver(MiB), normal, BIG_JSON_CONNECTIONS],
      ];
      // Warm-up: JIT, pools and lazily made structures are not growth.
      for (const [, attack, address, count] of plan) await run(attack, address, Math.min(WARMUP, count));
      await settle();
      const before = await child.ask<Memory>('mem');
      const started = performance.now();
      for (const [, attack, address, count] of plan) await run(attack, address, count);
      const seconds = (performance.now() - started) / 1000;
      const lingering = await child.ask<Memory>('mem');
      await settle();
      const after = await child.ask<Memory>('mem');

      const growth = after.heapUsed + after.external - (before.heapUsed + before.external);
      const total = plan.reduce((n, [, , , count]) => n + count, 0);
      recordFigure(`server memory after ${total} oversized-message connections (${transport})`, {
        kinds: plan.map(([what, , , count]) => `${count} x ${what}`),
        seconds,
        heapPlusExternalGrowthBytes: growth,
        heapGrowth: after.heapUsed - before.heapUsed,
        externalGrowth: after.external - before.external,
        growthWhileLingeringBytes: lingering.heapUsed + lingering.external - (before.heapUsed + before.external),
        rssBeforeBytes: before.rss,
        rssAfterBytes: after.rss,
      });
      expect(after.open).toBe(0);
      expect(after.violations[0]!['too-large']).toBe(2 * (CONNECTIONS + WARMUP) + 2 * BIG_JSON_CONNECTIONS);
      expect(after.violations[1]!['too-large']).toBe(CONNECTIONS + WARMUP);
      expect(growth, `heapUsed + external grew by ${growth} bytes`).toBeLessThan(MiB);
      child.child.kill('SIGTERM');
      await child.exited;
      children.delete(child.child);
    },
  );
});
