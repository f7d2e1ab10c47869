/**
 * A {@link MetricsSnapshot} in Prometheus's text exposition format, formatted by
 * prom-client's Registry. The metric objects registered here read the snapshot
 * when the registry asks for them (their `get()`), so the server's counters stay
 * plain numbers and nothing is observed per request.
 * @module
 */
import { type Metric, Registry } from 'prom-client';
import { type MetricsSnapshot, mergeMetricsSnapshots } from './metrics.js';

type Labels = Readonly<Record<string, string>>;
interface Sample {
  readonly value: number;
  readonly labels?: Labels;
  /** For a histogram's `_bucket`, `_sum` and `_count` lines. */
  readonly metricName?: string;
}
/** One metric family, as prom-client's registry formats it. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: (s: MetricsSnapshot) => readonly Sample[];
}

const one = (value: number): readonly Sample[] => [{ value }];
const by = (label: string, record: Readonly<Record<string, number>>): Sample[] =>
  Object.entries(record).map(([k, value]) => ({ value, labels: { [label]: k } }));
const counts = (label: string, record: MetricsSnapshot['connections']['byListener'], field: 'open' | 'total'): Sample[] =>
  Object.entries(record).map(([k, c]) => ({ value: c[field], labels: { [label]: k } }));

/** Every ringwire metric (docs/OBSERVABILITY.md lists them). */
export const FAMILIES: readonly Family[] = [
  {
    name: 'ringwire_info',
    help: 'The transport (native or net) and io backend (io_uring, epoll, kqueue or net) serving; always 1.',
    type: 'gauge',
    samples: (s) => s.info.map((i) => ({ value: 1, labels: { transport: i.transport, io_backend: i.ioBackend } })),
  },
  { name: 'ringwire_processes', help: 'Server processes these figures add up.', type: 'gauge', samples: (s) => one(s.processes) },
  {
    name: 'ringwire_connections_open',
    help: 'Open connections, by listener.',
    type: 'gauge',
    samples: (s) => counts('listener', s.connections.byListener, 'open'),
  },
  {
    name: 'ringwire_connections_accepted_total',
    help: 'Connections accepted, by listener.',
    type: 'counter',
    samples: (s) => counts('listener', s.connections.byListener, 'total'),
  },
  {
    name: 'ringwire_connections_rejected_total',
    help: 'Connections accepted and closed at once (maxConnections, allowUids).',
    type: 'counter',
    samples: (s) => one(s.connections.rejected),
  },
  {
    name: 'ringwire_protocol_connections_open',
    help: 'Open connections whose protocol is known, by protocol.',
    type: 'gauge',
    samples: (s) => counts('protocol', s.connections.byProtocol, 'open'),
  },
  {
    name: 'ringwire_protocol_connections_total',
    help: 'Connections whose first bytes showed their protocol, by protocol.',
    type: 'counter',
    samples: (s) => counts('protocol', s.connections.byProtocol, 'total'),
  },
  { name: 'ringwire_received_bytes_total', help: 'Bytes read from connections.', type: 'counter', samples: (s) => one(s.bytes.in) },
  { name: 'ringwire_sent_bytes_total', help: 'Bytes written to connections.', type: 'counter', samples: (s) => one(s.bytes.out) },
  {
    name: 'ringwire_messages_received_total',
    help: 'Messages received: requests, notifications, cancels, pings, responses and undecodable messages.',
    type: 'counter',
    samples: (s) => one(s.messages.in),
  },
  {
    name: 'ringwire_messages_sent_total',
    help: 'Messages sent: answers, stream items, pongs, notifications and violation errors.',
    type: 'counter',
    samples: (s) => one(s.messages.out),
  },
  {
    name: 'ringwire_requests_total',
    help: 'Answers to requests (and to undecodable messages), by protocol, outcome (ok or error) and JSON-RPC error code.',
    type: 'counter',
    samples: (s) =>
      Object.entries(s.requests).flatMap(([protocol, outcomes]) =>
        Object.entries(outcomes).map(
          ([key, value]): Sample => ({
            value,
            labels: key === 'ok' ? { protocol, outcome: 'ok' } : { protocol, outcome: 'error', code: key },
          }),
        ),
      ),
  },
  { name: 'ringwire_requests_in_flight', help: 'Requests being handled.', type: 'gauge', samples: (s) => one(s.requestsInFlight) },
  {
    name: 'ringwire_handler_duration_seconds',
    help: 'Handler latency from call to result or stream end; under load a sample of calls, each weighted as the calls it stands for.',
    type: 'histogram',
    samples: (s) => {
      const name = 'ringwire_handler_duration_seconds';
      const { le, buckets, count, sumSeconds } = s.latency;
      return [
        ...le.map((bound, i) => ({ metricName: `${name}_bucket`, labels: { le: String(bound) }, value: buckets[i] ?? 0 })),
        { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count },
        { metricName: `${name}_sum`, value: sumSeconds },
        { metricName: `${name}_count`, value: count },
      ];
    },
  },
  {
    name: 'ringwire_protocol_violations_total',
    help: 'Connections closed for a protocol violation, by reason.',
    type: 'counter',
    samples: (s) => by('reason', s.violations),
  },
  {
    name: 'ringwire_responses_dropped_total',
    help: 'Client answers that matched no server request, dropped.',
    type: 'counter',
    samples: (s) => one(s.responsesDropped),
  },
];

/**
 * A prom-client Registry holding ringwire's metrics, read from `snapshot()` when
 * the registry is asked for them. The registry's own formatting (or
 * `Registry.merge` with another registry) writes them.
 *
 * @example
 * ```ts
 * const registry = snapshotRegistry(() => server.metricsSnapshot());
 * const text = await registry.metrics();
 * ```
 */
export function snapshotRegistry(snapshot: () => MetricsSnapshot): Registry {
  const registry = new Registry();
  for (const family of FAMILIES) {
    const metric = {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: 'sum',
      get: async () => ({
        name: family.name,
        help: family.help,
        type: family.type,
        aggregator: 'sum',
        values: family.samples(snapshot()).map((s) => ({ value: s.value, labels: s.labels ?? {}, metricName: s.metricName })),
      }),
    };
    // prom-client types registerMetric() for its own classes only; the registry itself needs just name, type and get().
    registry.registerMetric(metric as unknown as Metric);
  }
  return registry;
}

/**
 * Renders a snapshot, or the sum of several ({@link mergeMetricsSnapshots}), as
 * Prometheus text exposition (version 0.0.4).
 *
 * @example
 * ```ts
 * const text = await renderMetrics([snapshotOfProcessA, snapshotOfProcessB]);
 * // ringwire_requests_total{protocol="jsonrpc",outcome="ok"} 42 ...
 * ```
 */
export function renderMetrics(snapshots: MetricsSnapshot | readonly MetricsSnapshot[]): Promise<string> {
  const snapshot = isList(snapshots) ? mergeMetricsSnapshots(snapshots) : snapshots;
  return snapshotRegistry(() => snapshot).metrics();
}

function isList(value: MetricsSnapshot | readonly MetricsSnapshot[]): value is readonly MetricsSnapshot[] {
  return Array.isArray(value);
}
