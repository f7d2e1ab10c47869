import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../../src/core/records.js';
import { SAMPLE_EVERY, TIMED_PER_TURN, timedHandlers } from '../../src/server/handlers.js';
import { LatencyHistogram } from '../../src/server/histogram.js';

const ctx = {} as HandlerContext;

describe('handler latency: every call counted, the clock read for a sample', () => {
  it('times every call of a quiet turn, then one in SAMPLE_EVERY within a busy one', async () => {
    const histogram = new LatencyHistogram();
    const { echo } = timedHandlers({ echo: (p: unknown) => p }, histogram);
    for (let i = 0; i < 100; i++) expect(echo!(i, ctx)).toBe(i);
    const sampledAfter = Math.ceil((100 - TIMED_PER_TURN) / SAMPLE_EVERY);
    expect(histogram.count).toBe(100);
    expect(histogram.samples).toBe(TIMED_PER_TURN + sampledAfter);
    // A new turn starts timing every call again.
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 3; i++) echo!(i, ctx);
    expect(histogram.count).toBe(103);
    expect(histogram.samples).toBe(TIMED_PER_TURN + sampledAfter + 3);
  });

  it('weighs a sampled call as the calls it stands for, so late calls of a busy turn count fully', () => {
    const histogram = new LatencyHistogram();
    // 8 fast calls (all timed), then 8 x 8 slow ones of which every 8th is timed.
    for (let i = 0; i < TIMED_PER_TURN; i++) histogram.record(0.01);
    for (let i = 0; i < 8 * SAMPLE_EVERY; i++) {
      if (i % SAMPLE_EVERY === 0) histogram.record(10, SAMPLE_EVERY);
      else histogram.skip();
    }
    expect(histogram.count).toBe(TIMED_PER_TURN + 8 * SAMPLE_EVERY);
    expect(histogram.samples).toBe(TIMED_PER_TURN + 8);
    // 64 of 72 calls were slow: the median is slow (unweighted, 8 fast of 16 samples would make it fast).
    expect(histogram.percentile(0.5)).toBeGreaterThanOrEqual(10);
  });

  it('times a slow async handler to its settling, and counts a throwing one', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    const histogram = new LatencyHistogram();
    const { slow, bad } = timedHandlers(
      {
        slow: () => new Promise((resolve) => setTimeout(() => resolve('ok'), 20)),
        bad: () => {
          throw new Error('no');
        },
      },
      histogram,
    );
    await expect(slow!(undefined, ctx)).resolves.toBe('ok');
    expect(() => bad!(undefined, ctx)).toThrow('no');
    expect(histogram.count).toBe(2);
    expect(histogram.percentile(1)).toBeGreaterThanOrEqual(15);
  });
});
