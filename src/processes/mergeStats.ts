import type { ConnectionCount, ServerStats } from '../server/stats.js';

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
    connections: {
      open: sum(all, (s) => s.connections.open),
      total: sum(all, (s) => s.connections.total),
      rejected: sum(all, (s) => s.connections.rejected),
      byProtocol: mergeCounts(all.map((s) => s.connections.byProtocol)) as ServerStats['connections']['byProtocol'],
      byListener: mergeCounts(all.map((s) => s.connections.byListener)),
    },
    bytes: { in: sum(all, (s) => s.bytes.in), out: sum(all, (s) => s.bytes.out) },
    messages: {
      in: sum(all, (s) => s.messages.in),
      out: sum(all, (s) => s.messages.out),
      responsesDropped: sum(all, (s) => s.messages.responsesDropped),
    },
    requestsInFlight: sum(all, (s) => s.requestsInFlight),
    errors: mergeNumbers(all.map((s) => s.errors)),
    violations: mergeNumbers(all.map((s) => s.violations)),
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

function mergeCounts(all: ReadonlyArray<Readonly<Record<string, ConnectionCount>>>): Record<string, ConnectionCount> {
  const out: Record<string, ConnectionCount> = {};
  for (const counts of all) {
    for (const [key, c] of Object.entries(counts)) {
      const into = (out[key] ??= { open: 0, total: 0 });
      into.open += c.open;
      into.total += c.total;
    }
  }
  return out;
}

function mergeNumbers(all: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const numbers of all) for (const [key, n] of Object.entries(numbers)) out[key] = (out[key] ?? 0) + n;
  return out;
}
