import { describe, expect, it } from 'vitest';
import { loadAddon, type NativeAddon } from '../../src/transport/addon.js';

const addon = loadAddon();
const available = !(addon instanceof Error);

// Every native entry point must turn bad arguments into a JS error, never a crash.
describe.skipIf(!available)('native addon: argument checking', () => {
  const { Poller } = addon as NativeAddon;

  function withPoller(fn: (p: InstanceType<NativeAddon['Poller']>) => void): void {
    const p = new Poller(() => {}, {});
    try {
      fn(p);
    } finally {
      p.destroy();
    }
  }

  it('rejects a constructor without a callback or options', () => {
    expect(() => new (Poller as unknown as new (...a: unknown[]) => unknown)()).toThrow(TypeError);
    expect(() => new (Poller as unknown as new (...a: unknown[]) => unknown)(42, {})).toThrow(TypeError);
    expect(() => new Poller(() => {}, { readBufferBytes: 10 })).toThrow(RangeError);
    expect(() => new Poller(() => {}, { readBufferBytes: 'big' as unknown as number })).toThrow(TypeError);
  });

  it('names its backend', () => {
    withPoller((p) => expect(p.backend).toBe(process.platform === 'linux' ? 'epoll' : 'kqueue'));
  });

  it('rejects bad slots and bad bytes', () => {
    withPoller((p) => {
      const call = p as unknown as Record<string, (...a: unknown[]) => unknown>;
      expect(() => call.write!(-1, new Uint8Array(1))).toThrow(TypeError);
      expect(() => call.write!(1.5, new Uint8Array(1))).toThrow(TypeError);
      expect(() => call.write!('0', new Uint8Array(1))).toThrow(TypeError);
      expect(() => call.write!(0, 'text')).toThrow(TypeError);
      expect(() => call.write!(0, new Uint16Array(1))).toThrow(TypeError);
      expect(() => call.setReading!(0, 1)).toThrow(TypeError);
      expect(() => call.peer!(undefined)).toThrow(TypeError);
      // Well-formed calls on slots that hold no connection are harmless no-ops.
      expect(p.write(12345, new Uint8Array(4))).toBe(-1);
      expect(p.peer(12345)).toBeNull();
      expect(p.unsent(7)).toBe(0);
      p.setReading(7, false);
      p.end(7);
      p.close(7);
    });
  });

  it('rejects bad listener arguments with errors that name the problem', () => {
    withPoller((p) => {
      const call = p as unknown as Record<string, (...a: unknown[]) => unknown>;
      expect(() => call.listenUnix!(5, 0o600, 10, null)).toThrow(TypeError);
      expect(() => call.listenUnix!('/tmp/x\0y', 0o600, 10, null)).toThrow(/NUL/);
      expect(() => call.listenUnix!('/tmp/rw-mode.sock', 0o7777, 10, null)).toThrow(RangeError);
      expect(() => call.listenUnix!('/tmp/rw-uids.sock', 0o600, 10, [-1])).toThrow(TypeError);
      expect(() => call.listenTcp!('127.0.0.1', 70000, 10, false, false)).toThrow(RangeError);
      expect(() => p.listenTcp('not-an-ip', 0, 10, false, false)).toThrow(/cannot listen/);
      expect(() => p.listenUnix('/nonexistent-dir/x.sock', 0o600, 10, null)).toThrow(/No such file/);
      const longPath = '/tmp/' + 'x'.repeat(200);
      expect(() => p.listenUnix(longPath, 0o600, 10, null)).toThrow(/name too long/i);
    });
  });

  it('refuses calls after destroy instead of touching freed memory', () => {
    const p = new Poller(() => {}, {});
    p.destroy();
    expect(() => p.write(0, new Uint8Array(1))).toThrow(/destroyed/);
    expect(() => p.listenTcp('127.0.0.1', 0, 10, false, false)).toThrow(/destroyed/);
    p.destroy();
  });
});
