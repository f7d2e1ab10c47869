/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics, and 404 elsewhere.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ListenError } from '../core/errors.js';
import { type MetricsSnapshot, mergeMetricsSnapshots } from './metrics.js';
import { snapshotRegistry } from './metricsText.js';

const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** What a scrape reads: one snapshot, or several (one per process) to add up. */
export type SnapshotSource = () => MetricsSnapshot | readonly MetricsSnapshot[] | Promise<MetricsSnapshot | readonly MetricsSnapshot[]>;

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (see `MetricsServer.port`). */
  readonly port: number;
  /** Called once per scrape. */
  readonly snapshot: SnapshotSource;
  /**
   * Add prom-client's default metrics of THIS process (`process_*`, `nodejs_*`:
   * CPU, memory, event-loop lag, GC), less the three gauges it names `_total`
   * against Prometheus's conventions. Default true.
   */
  readonly defaultMetrics?: boolean;
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The bound address and port (the real one when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  /** Stops listening and closes open scrape connections. */
  close(): Promise<void>;
}

/**
 * Serves Prometheus text exposition at `GET /metrics`, reading `snapshot()` at
 * each scrape (a list of snapshots is summed, so one endpoint can speak for many
 * processes).
 *
 * @example
 * ```ts
 * const metrics = await startMetricsServer({ port: 9464, snapshot: () => server.metricsSnapshot() });
 * console.log(`scrape ${metrics.url}`);
 * await metrics.close();
 * ```
 * @throws ListenError (its `errno` `EADDRINUSE`, `EACCES`, ...) when the port cannot be bound.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  let current: MetricsSnapshot | undefined;
  const ours = snapshotRegistry(() => current!);
  let registry = ours;
  if (options.defaultMetrics ?? true) {
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults });
    // Gauges named `_total`, which promtool rejects; the per-type `nodejs_active_*` gauges stay.
    for (const name of MISNAMED_DEFAULTS) defaults.removeSingleMetric(name);
    registry = Registry.merge([defaults, ours]);
  }
  const scrape = async (): Promise<string> => {
    const taken = await options.snapshot();
    current = Array.isArray(taken) ? mergeMetricsSnapshots(taken as readonly MetricsSnapshot[]) : (taken as MetricsSnapshot);
    return registry.metrics();
  };
  const http = createHttpServer((req, res) => void answer(req, res, scrape, registry.contentType));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const target = `metrics http://${host.includes(':') ? `[${host}]` : host}:${options.port}`;
      reject(new ListenError(target, error.code ?? 'UNKNOWN', error.message));
    };
    http.once('error', failed);
    http.listen(options.port, host, () => {
      http.off('error', failed);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `http://${hostInUrl}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, scrape: () => Promise<string>, contentType: string): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return reply(res, 404, 'not found: metrics are at /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'method not allowed\n');
  }
  try {
    const text = await scrape();
    res.writeHead(200, { 'Content-Type': contentType });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (error) {
    reply(res, 500, `cannot read the metrics: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
