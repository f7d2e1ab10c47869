import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../src/transport/listen.js';
import { nativeLoadError } from '../../src/transport/native.js';
import type { IoBackend, TransportServer } from '../../src/transport/types.js';

/** A small seeded PRNG (mulberry32) so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.RINGWIRE_STRESS_SEED ?? Date.now() % 100000);
const sessions = Number(process.env.RINGWIRE_STRESS_SESSIONS ?? 1000);

/**
 * Both Linux loops (the completion loop with a 64 KiB read buffer runs out of
 * provided buffers all the time: -ENOBUFS, waits and re-arms). RINGWIRE_IO_BACKEND,
 * when set, overrides the option, so CI's epoll pass runs epoll in both.
 */
const BACKENDS: readonly IoBackend[] = process.platform === 'linux' ? ['io_uring', 'epoll'] : ['epoll'];

describe.skipIf(nativeLoadError() !== undefined).each(BACKENDS)(`native transport (%s): randomized stress (seed ${seed})`, (ioBackend) => {
  let server: TransportServer;
  let dir: string;
  const random = prng(seed);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-stress-'));
    server = await listen({
      transport: 'native',
      ioBackend,
      listen: [{ unix: join(dir, 's.sock') }, { port: 0 }],
      writeHighWaterBytes: 64 * 1024,
      readBufferBytes: 64 * 1024,
    });
    // An echo server that also pauses connections at random and closes a few itself.
    server.slices$.subscribe((r) => {
      if (r.type === 'data') {
        r.connection.write(r.bytes);
        if (random() < 0.02) {
          r.connection.pause();
          setTimeout(() => r.connection.resume(), Math.floor(random() * 5));
        }
      } else if (r.type === 'end') {
        r.connection.end();
      }
    });
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('echoes every byte to well-behaved clients while others reset, stall and half-close', async () => {
    const forced = process.env.RINGWIRE_IO_BACKEND;
    expect(server.ioBackend).toBe(forced !== undefined && forced !== '' && forced !== 'auto' ? forced : ioBackend);
    const targets = [{ path: join(dir, 's.sock') }, { port: server.listeners[1]!.port, host: '127.0.0.1' }];
    let checked = 0;
    async function session(): Promise<void> {
      const target = targets[Math.floor(random() * targets.length)]!;
      const chunks = 1 + Math.floor(random() * 8);
      const sizes = Array.from({ length: chunks }, () => 1 + Math.floor(random() * 96 * 1024));
      const total = sizes.reduce((a, b) => a + b, 0);
      const payload = new Uint8Array(total);
      for (let i = 0; i < total; i++) payload[i] = (i * 31 + chunks) & 0xff;
      const behaviour = random();
      const socket: Socket = connect(target as never);
      const received: Buffer[] = [];
      let got = 0;
      socket.on('data', (d: Buffer) => {
        received.push(d);
        got += d.length;
        // A slow reader: fills the server's write queue and its EPOLLOUT path.
        if (behaviour > 0.8 && random() < 0.3) {
          socket.pause();
          setTimeout(() => socket.resume(), Math.floor(random() * 20));
        }
      });
      const done = new Promise<void>((resolve) => {
        socket.on('close', () => resolve());
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      let at = 0;
      for (const size of sizes) {
        socket.write(payload.subarray(at, at + size));
        at += size;
        if (behaviour < 0.15 && random() < 0.5) {
          socket.destroy(); // vanish mid-stream
          await done;
          return;
        }
      }
      socket.end();
      await done;
      expect(got).toBe(total);
      expect(Buffer.concat(received).equals(Buffer.from(payload))).toBe(true);
      checked++;
    }
    // Stops starting sessions well within the test's own timeout on a slow machine.
    const deadline = Date.now() + 30_000;
    let started = 0;
    const workers = Array.from({ length: 32 }, async () => {
      while (started < sessions && Date.now() < deadline) {
        started++;
        await session();
      }
    });
    await Promise.all(workers);
    expect(checked).toBeGreaterThan(sessions / 2);
    for (let i = 0; i < 100 && server.connections.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.connections.size).toBe(0);
  }, 90_000);

  it.runIf(process.env.RINGWIRE_ASAN === '1')('runs against the AddressSanitizer build', () => {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    expect(maps).toContain('libasan');
    expect(maps).toContain('build-asan/ringwire.node');
  });
});
