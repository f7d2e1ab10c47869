/**
 * Adding up several processes' counters (stats and metrics snapshots alike).
 * @module
 */
import type { ConnectionCount } from './stats.js';

/** Sums records of numbers key by key. */
export function sumFlat(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Sums open and total counts key by key. */
export function sumCounts(records: readonly Readonly<Record<string, ConnectionCount>>[]): Record<string, ConnectionCount> {
  const out: Record<string, ConnectionCount> = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      const c = (out[k] ??= { open: 0, total: 0 });
      c.open += v.open;
      c.total += v.total;
    }
  }
  return out;
}
