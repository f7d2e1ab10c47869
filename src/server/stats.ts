import type { Protocol } from '../core/records.js';
import type { TransportStats } from '../transport/types.js';
import { LatencyHistogram } from './histogram.js';

/** Open and total (ever accepted) connections of one kind. */
export interface ConnectionCount {
  open: number;
  total: number;
}

/** What `server.stats()` (and the `rpc.stats` method, when exposed) reports. */
export interface ServerStats {
  readonly uptimeMs: number;
  readonly transport: 'native' | 'net';
  /** What drives the sockets: `io_uring`, `epoll`, `kqueue` or `net`. */
  readonly ioBackend: string;
  readonly connections: {
    readonly open: number;
    readonly total: number;
    /** Accepted and closed at once (maxConnections). */
    readonly rejected: number;
    /** Connections whose protocol was decided, by protocol. */
    readonly byProtocol: Readonly<Record<Protocol, ConnectionCount>>;
    /** By listener name (`unix:/path`, `tcp:127.0.0.1:7070`). */
    readonly byListener: Readonly<Record<string, ConnectionCount>>;
  };
  readonly bytes: { readonly in: number; readonly out: number };
  /** In: requests, notifications, cancels, pings and undecodable messages. Out: replies, stream items, pongs, violation errors. */
  /** `responsesDropped`: client answers that matched no server request (PROTOCOL.md 6.1). */
  readonly messages: { readonly in: number; readonly out: number; readonly responsesDropped: number };
  readonly requestsInFlight: number;
  /** Error replies and violation errors written, by JSON-RPC code. */
  readonly errors: Readonly<Record<string, number>>;
  /** Protocol violations (connections closed for them), by reason. */
  readonly violations: Readonly<Record<string, number>>;
  /**
   * Handler latency in milliseconds, from call to result (or stream end). `count`
   * is every call; the percentiles come from the `samples` timed (all calls on a
   * quiet server; on a busy one the first 8 per event-loop turn, then 1 in 8,
   * weighted as the 8 calls it stands for).
   */
  readonly latencyMs: {
    readonly count: number;
    readonly samples: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  };
}

/** The server's counters. Plain numbers; nothing is kept per request. */
export class StatsCollector {
  readonly started = Date.now();
  readonly byProtocol: Record<Protocol, ConnectionCount> = {
    jsonrpc: { open: 0, total: 0 },
    lsp: { open: 0, total: 0 },
    mcp1: { open: 0, total: 0 },
  };
  readonly byListener: Record<string, ConnectionCount> = {};
  readonly errors: Record<string, number> = {};
  readonly violations: Record<string, number> = {};
  readonly latency = new LatencyHistogram();
  /** Requests answered with a result, by protocol. */
  readonly results: Record<Protocol, number> = { jsonrpc: 0, lsp: 0, mcp1: 0 };
  /** Requests (and undecodable messages) answered with an error, by protocol and JSON-RPC code. */
  readonly failures: Record<Protocol, Record<string, number>> = { jsonrpc: {}, lsp: {}, mcp1: {} };
  messagesIn = 0;
  messagesOut = 0;
  /** Client answers that matched no server request (PROTOCOL.md 6.1): dropped. */
  responsesDropped = 0;

  opened(listener: string): void {
    const count = (this.byListener[listener] ??= { open: 0, total: 0 });
    count.open++;
    count.total++;
  }

  closed(listener: string, protocol: Protocol | undefined): void {
    const count = this.byListener[listener];
    if (count) count.open--;
    if (protocol) this.byProtocol[protocol].open--;
  }

  detected(protocol: Protocol): void {
    this.byProtocol[protocol].open++;
    this.byProtocol[protocol].total++;
  }

  error(code: number): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  failed(protocol: Protocol, code: number): void {
    const byCode = this.failures[protocol];
    byCode[code] = (byCode[code] ?? 0) + 1;
  }

  violation(reason: string): void {
    this.violations[reason] = (this.violations[reason] ?? 0) + 1;
  }

  snapshot(transport: 'native' | 'net', ioBackend: string, t: TransportStats, requestsInFlight: number): ServerStats {
    return {
      uptimeMs: Date.now() - this.started,
      transport,
      ioBackend,
      connections: {
        open: t.open,
        total: t.accepted,
        rejected: t.rejected,
        byProtocol: clone(this.byProtocol),
        byListener: clone(this.byListener),
      },
      bytes: { in: t.bytesIn, out: t.bytesOut },
      messages: { in: this.messagesIn, out: this.messagesOut, responsesDropped: this.responsesDropped },
      requestsInFlight,
      errors: { ...this.errors },
      violations: { ...this.violations },
      latencyMs: {
        count: this.latency.count,
        samples: this.latency.samples,
        p50: this.latency.percentile(0.5),
        p90: this.latency.percentile(0.9),
        p99: this.latency.percentile(0.99),
      },
    };
  }
}

/** One line for logs, e.g. `--stats-every`. */
export function formatStatsLine(s: ServerStats): string {
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const violations = Object.values(s.violations).reduce((a, b) => a + b, 0);
  return (
    `connections ${s.connections.open} open/${s.connections.total} total/${s.connections.rejected} rejected, ` +
    `messages ${s.messages.in} in/${s.messages.out} out, in flight ${s.requestsInFlight}, ` +
    `bytes ${s.bytes.in} in/${s.bytes.out} out, errors ${errors}, violations ${violations}, ` +
    `latency p50 ${s.latencyMs.p50}ms p99 ${s.latencyMs.p99}ms`
  );
}

function clone<T extends Record<string, ConnectionCount>>(counts: T): T {
  const out: Record<string, ConnectionCount> = {};
  for (const [k, v] of Object.entries(counts)) out[k] = { open: v.open, total: v.total };
  return out as T;
}
