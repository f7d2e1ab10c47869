/**
 * Several processes, one endpoint: snapshots cross JSON (as over an IPC channel)
 * whole, and merge into sums that render as valid exposition.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { MetricsMergeError } from '../../src/core/errors.js';
import { type MetricsSnapshot, mergeMetricsSnapshots } from '../../src/server/metrics.js';
import { renderMetrics } from '../../src/server/metricsText.js';
import { startServer, useCleanup } from '../fixtures/harness.js';
import { promtoolCheck, sample } from '../helpers/prometheus.js';
import { transports } from '../helpers/transports.js';

useCleanup();

/** A server's snapshot after `calls` sum calls and one unknown method, through JSON. */
async function snapshotAfter(transport: 'native' | 'net', calls: number): Promise<MetricsSnapshot> {
  const { server, target } = await startServer(transport, 'unix');
  const client = await connect(target);
  for (let i = 0; i < calls; i++) await client.call('sum', [i, 1]);
  await expect(client.call('nope')).rejects.toMatchObject({ code: -32601 });
  await client.close();
  return JSON.parse(JSON.stringify(server.metricsSnapshot())) as MetricsSnapshot;
}

describe('mergeMetricsSnapshots', () => {
  it('sums counters, gauges and histogram buckets, and keeps each transport', async () => {
    const kinds = transports();
    const a = await snapshotAfter(kinds[0]!, 2);
    const b = await snapshotAfter(kinds.at(-1)!, 3);
    const total = mergeMetricsSnapshots([a, b]);
    expect(total.processes).toBe(2);
    expect(total.info).toEqual(kinds.length === 2 ? [...a.info, ...b.info] : a.info);
    expect(total.requests.jsonrpc).toEqual({ ok: 5, '-32601': 2 });
    expect(total.connections.byProtocol.jsonrpc).toEqual({ open: 0, total: 2 });
    // Two listeners (one per server), each with its own series.
    expect(Object.keys(total.connections.byListener)).toHaveLength(2);
    expect(total.bytes.in).toBe(a.bytes.in + b.bytes.in);
    expect(total.latency.count).toBe(5);
    expect(total.latency.buckets.at(-1)).toBe(5);
    expect(total.latency.sumSeconds).toBeCloseTo(a.latency.sumSeconds + b.latency.sumSeconds, 12);

    const text = await renderMetrics([a, b]);
    expect(sample(text, 'ringwire_processes')).toBe(2);
    expect(sample(text, 'ringwire_requests_total{protocol="jsonrpc",outcome="ok"}')).toBe(5);
    expect(sample(text, 'ringwire_handler_duration_seconds_count')).toBe(5);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('refuses snapshots whose histograms have different bounds, and an empty list', async () => {
    const a = await snapshotAfter(transports()[0]!, 1);
    const other = { ...a, latency: { ...a.latency, le: a.latency.le.map((x) => x * 2) } };
    expect(() => mergeMetricsSnapshots([a, other])).toThrow(MetricsMergeError);
    expect(() => mergeMetricsSnapshots([])).toThrow(MetricsMergeError);
  });
});
