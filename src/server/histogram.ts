/** Buckets per doubling: each bucket is 2^(1/4) ≈ 19% wider than the one before. */
const BUCKETS_PER_OCTAVE = 4;
/** The smallest bucket's upper bound, in milliseconds (1 µs). */
const MIN_MS = 0.001;
/** 1 µs · 2^30 ≈ 18 minutes: anything slower lands in the last bucket. */
const OCTAVES = 30;
const BUCKETS = OCTAVES * BUCKETS_PER_OCTAVE + 1;

/**
 * A fixed-bucket logarithmic latency histogram: one counter per bucket and
 * nothing per sample, so recording costs the same at any request rate.
 * Percentiles come back as the upper bound of the bucket they fall in (at most
 * 19% above the true value).
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.record(1.5);
 * h.percentile(0.99); // ≈ 1.68
 * ```
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  /** Sum of the weights in `counts`: what percentile ranks are taken against. */
  private weight = 0;
  /** Sum of `ms * weight` over the samples: a Prometheus histogram's `_sum`. */
  private weightedMs = 0;
  private timed = 0;
  private calls = 0;

  /**
   * Counts one sample of `ms` milliseconds that stands for `weight` events (itself
   * and the ones sampled around it), so that a sample taken one in n weighs n.
   */
  record(ms: number, weight = 1): void {
    this.counts[bucketOf(ms)]! += weight;
    this.weight += weight;
    this.weightedMs += ms * weight;
    this.timed += 1;
    this.calls += 1;
  }

  /** Counts one event that was not timed: it is in `count`, and its sample's weight stands for it. */
  skip(): void {
    this.calls += 1;
  }

  /** How many events were counted, timed or not. */
  get count(): number {
    return this.calls;
  }

  /** How many of them were timed (what the percentiles are made of). */
  get samples(): number {
    return this.timed;
  }

  /** The samples' total weight: what the percentiles rank against, and `cumulative()`'s last figure. */
  get weighted(): number {
    return this.weight;
  }

  /** The samples' milliseconds, each times its weight, summed. */
  get sumMs(): number {
    return this.weightedMs;
  }

  /**
   * The weight of the samples at or below each of `boundsMs` (ascending), counted
   * up to the bucket each bound falls in: exact when the bounds are bucket bounds
   * (1 µs times a power of 2^(1/4)), as a Prometheus histogram's `le` buckets must be.
   */
  cumulative(boundsMs: readonly number[]): number[] {
    const out: number[] = [];
    let seen = 0;
    let i = 0;
    for (const bound of boundsMs) {
      // A bound computed in floating point may sit a hair above the bucket bound it names.
      const last = bucketOf(bound * (1 - 1e-9));
      for (; i <= last; i++) seen += this.counts[i]!;
      out.push(seen);
    }
    return out;
  }

  /** The value below which fraction `q` (0..1) of samples fall, by weight; 0 with no samples. */
  percentile(q: number): number {
    if (this.weight === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.weight));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return upperBound(i);
    }
    return upperBound(BUCKETS - 1);
  }
}

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.ceil(Math.log2(ms / MIN_MS) * BUCKETS_PER_OCTAVE);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

function upperBound(i: number): number {
  return Math.round(MIN_MS * 2 ** (i / BUCKETS_PER_OCTAVE) * 1000) / 1000;
}
