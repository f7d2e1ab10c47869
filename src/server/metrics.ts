/**
 * A server's figures for Prometheus as one plain, JSON-serialisable object (it can
 * cross a child_process IPC channel), and the sum of several processes' objects.
 * Nothing here runs per request: a snapshot reads the counters the server keeps
 * anyway (StatsCollector, the transport's stats) when it is taken.
 * @module
 */
import { MetricsMergeError } from '../core/errors.js';
import type { TransportServer } from '../transport/types.js';
import type { ConnectionCount, StatsCollector } from './stats.js';
import { sumCounts, sumFlat } from './sums.js';

/** The `le` bounds of the latency histogram, in seconds: 16 µs to 16.8 s, every 4x (bucket bounds of LatencyHistogram). */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = Object.freeze(Array.from({ length: 11 }, (_, i) => 2 ** (4 + 2 * i) / 1_000_000));

/** A latency histogram as Prometheus reads one: cumulative counts at each bound. */
export interface LatencySnapshot {
  /** Upper bounds in seconds, ascending (`+Inf` is implied). */
  readonly le: readonly number[];
  /** Weighted samples at or below each bound (cumulative), one per `le`. */
  readonly buckets: readonly number[];
  /** All weighted samples (the `+Inf` bucket). */
  readonly count: number;
  /** Their seconds, summed. */
  readonly sumSeconds: number;
}

/** Which transport and io backend a process runs: `native` with `io_uring`, `epoll` or `kqueue`, or `net` with `net`. */
export interface MetricsInfo {
  readonly transport: string;
  readonly ioBackend: string;
}

/**
 * One server's figures (or several servers' summed by {@link mergeMetricsSnapshots}):
 * plain numbers and records of them only, so that `JSON.stringify` and IPC keep it whole.
 */
export interface MetricsSnapshot {
  /** How many processes the figures add up (1 for one server). */
  readonly processes: number;
  /** One entry per distinct transport and io backend among those processes. */
  readonly info: readonly MetricsInfo[];
  readonly connections: {
    /** By listener name (`unix:/path`, `tcp:127.0.0.1:7070`): open, and accepted ever. */
    readonly byListener: Readonly<Record<string, ConnectionCount>>;
    /** By the protocol their first bytes showed: open, and ever. */
    readonly byProtocol: Readonly<Record<string, ConnectionCount>>;
    /** Accepted and closed at once (maxConnections, allowUids). */
    readonly rejected: number;
  };
  readonly bytes: { readonly in: number; readonly out: number };
  readonly messages: { readonly in: number; readonly out: number };
  /** Client answers that matched no server request (PROTOCOL.md 6.1). */
  readonly responsesDropped: number;
  readonly requestsInFlight: number;
  /** Answers, by protocol then outcome: `ok` for a result, else the JSON-RPC error code (`"-32601"`). */
  readonly requests: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Connections closed for a protocol violation, by reason. */
  readonly violations: Readonly<Record<string, number>>;
  /** Handler latency (sampled under load, each sample weighted as the calls it stands for). */
  readonly latency: LatencySnapshot;
}

/** What {@link takeSnapshot} reads: the server's own counters. */
export interface SnapshotSources {
  readonly collector: StatsCollector;
  readonly transport: TransportServer;
  readonly requestsInFlight: number;
}

/** Reads a running server's counters into a {@link MetricsSnapshot}. */
export function takeSnapshot({ collector, transport, requestsInFlight }: SnapshotSources): MetricsSnapshot {
  const t = transport.stats();
  // Every listener has its series from the start, not from its first connection.
  const byListener: Record<string, ConnectionCount> = {};
  for (const l of transport.listeners) byListener[l.name] = { open: 0, total: 0 };
  for (const [name, c] of Object.entries(collector.byListener)) byListener[name] = { open: c.open, total: c.total };
  const byProtocol: Record<string, ConnectionCount> = {};
  const requests: Record<string, Record<string, number>> = {};
  for (const [protocol, c] of Object.entries(collector.byProtocol)) {
    byProtocol[protocol] = { open: c.open, total: c.total };
    requests[protocol] = {
      ok: collector.results[protocol as keyof typeof collector.results],
      ...collector.failures[protocol as keyof typeof collector.failures],
    };
  }
  const boundsMs = LATENCY_BOUNDS_SECONDS.map((s) => s * 1000);
  return {
    processes: 1,
    info: [{ transport: transport.kind, ioBackend: ioBackendOf(transport) }],
    connections: { byListener, byProtocol, rejected: t.rejected },
    bytes: { in: t.bytesIn, out: t.bytesOut },
    messages: { in: collector.messagesIn, out: collector.messagesOut },
    responsesDropped: collector.responsesDropped,
    requestsInFlight,
    requests,
    violations: { ...collector.violations },
    latency: {
      le: LATENCY_BOUNDS_SECONDS,
      buckets: collector.latency.cumulative(boundsMs),
      count: collector.latency.weighted,
      sumSeconds: collector.latency.sumMs / 1000,
    },
  };
}

function ioBackendOf(transport: TransportServer): string {
  return transport.ioBackend;
}

/**
 * Adds up several processes' snapshots into one: counters, gauges and histogram
 * buckets summed, each distinct transport and io backend kept.
 *
 * @example
 * ```ts
 * const total = mergeMetricsSnapshots([await a.metricsSnapshot(), await b.metricsSnapshot()]);
 * total.processes; // 2
 * ```
 * @throws MetricsMergeError when the latency histograms have different bounds, or none is given.
 */
export function mergeMetricsSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const [first, ...rest] = snapshots;
  if (first === undefined) throw new MetricsMergeError('nothing to merge: give at least one snapshot');
  for (const s of rest) {
    if (s.latency.le.length !== first.latency.le.length || s.latency.le.some((b, i) => b !== first.latency.le[i])) {
      throw new MetricsMergeError('the snapshots have different latency bucket bounds (different ringwire versions?)');
    }
  }
  const sum = (read: (s: MetricsSnapshot) => number): number => snapshots.reduce((n, s) => n + read(s), 0);
  const info = new Map<string, MetricsInfo>();
  for (const s of snapshots)
    for (const i of s.info) info.set(`${i.transport}\0${i.ioBackend}`, { transport: i.transport, ioBackend: i.ioBackend });
  return {
    processes: sum((s) => s.processes),
    info: [...info.values()],
    connections: {
      byListener: sumCounts(snapshots.map((s) => s.connections.byListener)),
      byProtocol: sumCounts(snapshots.map((s) => s.connections.byProtocol)),
      rejected: sum((s) => s.connections.rejected),
    },
    bytes: { in: sum((s) => s.bytes.in), out: sum((s) => s.bytes.out) },
    messages: { in: sum((s) => s.messages.in), out: sum((s) => s.messages.out) },
    responsesDropped: sum((s) => s.responsesDropped),
    requestsInFlight: sum((s) => s.requestsInFlight),
    requests: sumNested(snapshots.map((s) => s.requests)),
    violations: sumFlat(snapshots.map((s) => s.violations)),
    latency: {
      le: [...first.latency.le],
      buckets: first.latency.buckets.map((_, i) => sum((s) => s.latency.buckets[i] ?? 0)),
      count: sum((s) => s.latency.count),
      sumSeconds: sum((s) => s.latency.sumSeconds),
    },
  };
}

function sumNested(records: readonly Readonly<Record<string, Readonly<Record<string, number>>>>[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = sumFlat([out[k] ?? {}, v]);
  return out;
}
