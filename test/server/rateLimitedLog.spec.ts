import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedLog } from '../../src/server/rateLimitedLog.js';

describe('RateLimitedLog', () => {
  let lines: string[];
  let log: RateLimitedLog;

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    log = new RateLimitedLog({ write: (line) => lines.push(line), summary: (n) => `${n} suppressed`, perWindow: 3, windowMs: 1000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets every line through while under the limit, and writes no summary', () => {
    log.log('a');
    log.log('b');
    vi.advanceTimersByTime(5000);
    expect(lines).toEqual(['a', 'b']);
  });

  it('holds back lines past the limit and counts them in one line when the window ends', () => {
    for (let i = 0; i < 500; i++) log.log(`line ${i}`);
    expect(lines).toEqual(['line 0', 'line 1', 'line 2']);
    vi.advanceTimersByTime(999);
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(lines).toEqual(['line 0', 'line 1', 'line 2', '497 suppressed']);
  });

  it('starts a fresh window after one ends: a steady flood gives limit + 1 lines a second', () => {
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 100; i++) {
        log.log('x');
        vi.advanceTimersByTime(10);
      }
    }
    vi.advanceTimersByTime(1000);
    expect(lines.filter((l) => l === 'x')).toHaveLength(9);
    expect(lines.filter((l) => l.endsWith('suppressed'))).toEqual(['97 suppressed', '97 suppressed', '97 suppressed']);
  });

  it('flush() writes the count at once (a stopping process may never see the timer)', () => {
    for (let i = 0; i < 5; i++) log.log('x');
    log.flush();
    expect(lines).toEqual(['x', 'x', 'x', '2 suppressed']);
    log.flush();
    vi.advanceTimersByTime(2000);
    expect(lines).toHaveLength(4);
    log.log('y');
    expect(lines.at(-1)).toBe('y');
  });

  it('runs a timer only while a window is open', () => {
    expect(vi.getTimerCount()).toBe(0);
    log.log('a');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
