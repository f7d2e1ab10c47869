/**
 * Prometheus metrics: a live server scraped over HTTP after real traffic, each
 * value checked against what was sent, and the exposition validated by promtool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { type MetricsServer, startMetricsServer } from '../../src/server/metricsServer.js';
import { renderMetrics } from '../../src/server/metricsText.js';
import { matrix, rawClient, readLines, startServer, until, useCleanup } from '../fixtures/harness.js';
import { readFrames, request } from '../fixtures/mcp1.js';
import { promtoolCheck, sample, scrape } from '../helpers/prometheus.js';

useCleanup();
let endpoint: MetricsServer | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

describe.each(matrix())('GET /metrics (%s, %s)', (transport, kind) => {
  it('reports the traffic a server saw, as promtool-valid exposition', async () => {
    const { server, address, listener, target } = await startServer(transport, kind, { limits: { maxMessageBytes: 200 } });
    endpoint = await startMetricsServer({ port: 0, snapshot: () => server.metricsSnapshot() });

    const json = await rawClient(address);
    await json.send('{"jsonrpc":"2.0","id":1,"method":"sleep","params":[5]}\n{"jsonrpc":"2.0","id":2,"method":"nope"}\n');
    await readLines(json, 2);
    const mcp = await rawClient(address);
    await mcp.send(request(1, 'ping'));
    await readFrames(mcp, 1);
    const client = await connect(target, { protocol: 'mcp1' });
    expect(await client.call('sum', [1, 2])).toBe(3);
    await expect(client.call('fail')).rejects.toMatchObject({ code: -32603 });
    const bad = await rawClient(address);
    await bad.send('HELO\r\n');
    await bad.waitForClose();
    await until(() => server.stats().connections.open === 3, 'three connections left open');

    const { status, type, body } = await scrape(endpoint.url);
    expect(status).toBe(200);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const l = `listener="${listener.name}"`;
    // The native transport's own choice (io_uring or epoll on Linux, kqueue elsewhere).
    const backend = server.stats().ioBackend;
    expect(backend).toBe(transport === 'net' ? 'net' : server.transport.ioBackend);
    expect(sample(body, `ringwire_info{transport="${transport}",io_backend="${backend}"}`)).toBe(1);
    expect(sample(body, 'ringwire_processes')).toBe(1);
    expect(sample(body, `ringwire_connections_open{${l}}`)).toBe(3);
    expect(sample(body, `ringwire_connections_accepted_total{${l}}`)).toBe(4);
    expect(sample(body, 'ringwire_connections_rejected_total')).toBe(0);
    expect(sample(body, 'ringwire_protocol_connections_open{protocol="jsonrpc"}')).toBe(1);
    expect(sample(body, 'ringwire_protocol_connections_total{protocol="mcp1"}')).toBe(2);
    expect(sample(body, 'ringwire_protocol_connections_total{protocol="lsp"}')).toBe(0);
    const stats = server.stats();
    expect(sample(body, 'ringwire_received_bytes_total')).toBe(stats.bytes.in);
    expect(sample(body, 'ringwire_sent_bytes_total')).toBe(stats.bytes.out);
    // In: sleep, nope, ping, sum, fail. Out: their 5 answers and the violation's error.
    expect(sample(body, 'ringwire_messages_received_total')).toBe(5);
    expect(sample(body, 'ringwire_messages_sent_total')).toBe(6);
    expect(sample(body, 'ringwire_requests_total{protocol="jsonrpc",outcome="ok"}')).toBe(1);
    expect(sample(body, 'ringwire_requests_total{protocol="jsonrpc",outcome="error",code="-32601"}')).toBe(1);
    expect(sample(body, 'ringwire_requests_total{protocol="mcp1",outcome="ok"}')).toBe(2);
    expect(sample(body, 'ringwire_requests_total{protocol="mcp1",outcome="error",code="-32603"}')).toBe(1);
    expect(sample(body, 'ringwire_requests_in_flight')).toBe(0);
    expect(sample(body, 'ringwire_protocol_violations_total{reason="unknown-protocol"}')).toBe(1);
    expect(sample(body, 'ringwire_responses_dropped_total')).toBe(0);
    // sleep, ping, sum and fail ran handlers (nope had none).
    expect(sample(body, 'ringwire_handler_duration_seconds_count')).toBe(4);
    expect(sample(body, 'ringwire_handler_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    // The 5 ms sleep is above 4.096 ms; the other three are far below it.
    expect(sample(body, 'ringwire_handler_duration_seconds_bucket{le="0.004096"}')).toBe(3);
    expect(sample(body, 'ringwire_handler_duration_seconds_sum')).toBeGreaterThanOrEqual(0.004);
    expect(body).toMatch(/^process_cpu_user_seconds_total /m);

    const check = promtoolCheck(body);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
    await client.close();
  });
});

describe('the metrics endpoint', () => {
  it('answers 404 off /metrics, 405 to other methods, and 500 when the snapshot fails', async () => {
    let fail = false;
    const { server } = await startServer(matrix()[0]![0], 'tcp');
    endpoint = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      defaultMetrics: false,
      snapshot: () => {
        if (fail) throw new Error('gone');
        return server.metricsSnapshot();
      },
    });
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}/metrics`);
    expect((await scrape(endpoint.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(endpoint.url, { method: 'POST' })).status).toBe(405);
    const ok = await scrape(endpoint.url);
    expect(ok.body).not.toMatch(/^process_/m);
    fail = true;
    expect(await scrape(endpoint.url)).toMatchObject({ status: 500, body: 'cannot read the metrics: gone\n' });
  });

  it('refuses a busy port with a ListenError', async () => {
    const { server } = await startServer(matrix()[0]![0], 'tcp');
    endpoint = await startMetricsServer({ port: 0, snapshot: () => server.metricsSnapshot() });
    await expect(startMetricsServer({ port: endpoint.port, snapshot: () => server.metricsSnapshot() })).rejects.toMatchObject({
      code: 'RINGWIRE_LISTEN_FAILED',
      errno: 'EADDRINUSE',
    });
  });

  it('renders an idle server with every series at zero, valid for promtool', async () => {
    const { server } = await startServer(matrix()[0]![0], 'unix');
    const text = await renderMetrics(server.metricsSnapshot());
    expect(sample(text, 'ringwire_requests_in_flight')).toBe(0);
    expect(sample(text, 'ringwire_handler_duration_seconds_count')).toBe(0);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });
});
