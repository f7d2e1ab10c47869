import type { ServerStats } from '../server/stats.js';
import { sumCounts, sumFlat } from '../server/sums.js';

/** One server process's figures, as the primary reports them. */
export type ProcessStats = ServerStats & {
  readonly index: number;
  readonly pid: number;
  /** Times this process slot was started again after its process died. */
  readonly restarts: number;
};

/** A server of several processes: the totals, and each process's own figures. */
export type ProcessesStats = ServerStats & { readonly processes: readonly ProcessStats[] };

/**
 * Sums the figures of several processes into one server's. Latency percentiles
 * cannot be summed: each is the highest of the processes' (an upper bound of the
 * whole server's), while `count` and `samples` are totals.
 *
 * @example
 * ```ts
 * const total = mergeStats([a.stats(), b.stats()]);
 * total.connections.open === a.stats().connections.open + b.stats().connections.open;
 * ```
 */
export function mergeStats(all: readonly ServerStats[], uptimeMs: number): ServerStats {
  const first = all[0];
  return {
    uptimeMs,
    transport: first?.transport ?? 'native',
    // Processes run the same flags, so the same backend, unless one fell back alone.
    ioBackend: [...new Set(all.map((s) => s.ioBackend))].join(',') || 'unknown',
    connections: {
      open: sum(all, (s) => s.connections.open),
      total: sum(all, (s) => s.connections.total),
      rejected: sum(all, (s) => s.connections.rejected),
      byProtocol: sumCounts(all.map((s) => s.connections.byProtocol)) as ServerStats['connections']['byProtocol'],
      byListener: sumCounts(all.map((s) => s.connections.byListener)),
    },
    bytes: { in: sum(all, (s) => s.bytes.in), out: sum(all, (s) => s.bytes.out) },
    messages: {
      in: sum(all, (s) => s.messages.in),
      out: sum(all, (s) => s.messages.out),
      responsesDropped: sum(all, (s) => s.messages.responsesDropped),
    },
    requestsInFlight: sum(all, (s) => s.requestsInFlight),
    errors: sumFlat(all.map((s) => s.errors)),
    violations: sumFlat(all.map((s) => s.violations)),
    latencyMs: {
      count: sum(all, (s) => s.latencyMs.count),
      samples: sum(all, (s) => s.latencyMs.samples),
      p50: max(all, (s) => s.latencyMs.p50),
      p90: max(all, (s) => s.latencyMs.p90),
      p99: max(all, (s) => s.latencyMs.p99),
    },
  };
}

function sum(all: readonly ServerStats[], of: (s: ServerStats) => number): number {
  let total = 0;
  for (const s of all) total += of(s);
  return total;
}

function max(all: readonly ServerStats[], of: (s: ServerStats) => number): number {
  let most = 0;
  for (const s of all) most = Math.max(most, of(s));
  return most;
}
