/**
 * createServer({ logger }): listeners, drain and stop at info, handler failures at
 * warn with method and code (rate-limited), connections and violations at debug,
 * and nothing per request; with debug off the logger is not called per connection.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import type { ServerLogger } from '../../src/server/logger.js';
import { forget, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';

useCleanup();

interface Entry {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function memoryLogger(debug: boolean): ServerLogger & { entries: Entry[]; asked: number } {
  const entries: Entry[] = [];
  const at = (level: string) => (fields: Readonly<Record<string, unknown>>, message: string) =>
    entries.push({ level, fields: { ...fields }, message });
  const logger = {
    entries,
    asked: 0,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    isLevelEnabled: (level: string) => {
      logger.asked++;
      return level !== 'debug' || debug;
    },
  };
  return logger;
}

describe('createServer({ logger })', () => {
  it('logs listeners, handler failures with method and code, drain and stop; at info nothing per request', async () => {
    const logger = memoryLogger(false);
    const { server, target, listener } = await startServer('net', 'unix', { logger });
    expect(logger.entries).toEqual([
      { level: 'info', fields: { listener: listener.name, transport: 'net' }, message: `listening on ${listener.name} (net)` },
    ]);
    const client = await connect(target);
    for (let i = 0; i < 20; i++) await client.call('sum', [1, 2]);
    await Promise.all(Array.from({ length: 30 }, () => client.call('fail').catch(() => undefined)));
    await client.close();
    forget(server);
    await server.close();
    const warns = logger.entries.filter((e) => e.level === 'warn');
    const failures = warns.filter((e) => e.fields.method === 'fail');
    expect(failures).toHaveLength(10);
    expect(failures[0]).toMatchObject({
      fields: { method: 'fail', code: -32603 },
      message: 'handler fail failed: fail: this handler always fails (-32603)',
    });
    expect(failures[0]!.fields.err).toBeInstanceOf(Error);
    expect(warns.at(-1)).toEqual({
      level: 'warn',
      fields: { suppressed: 20 },
      message: '20 more handler failures in the last second (suppressed)',
    });
    const infos = logger.entries.filter((e) => e.level === 'info').map((e) => e.message);
    expect(infos).toEqual([`listening on ${listener.name} (net)`, 'draining 0 requests in flight (up to 10 s)', 'stopped']);
    expect(logger.entries.filter((e) => e.level === 'debug')).toEqual([]);
    expect(logger.asked).toBe(1);
  });

  it('at debug, logs each connection opening and closing, with listener and peer, and each protocol violation', async () => {
    const logger = memoryLogger(true);
    const { server, address, listener } = await startServer('net', 'tcp', { logger });
    const bad = await rawClient(address);
    await bad.send('HELO\r\n');
    await bad.waitForClose();
    await until(() => server.stats().connections.open === 0, 'the connection to close');
    const debug = logger.entries.filter((e) => e.level === 'debug');
    expect(debug.map((e) => e.message.replace(/:\d+$/, ':PORT'))).toEqual([
      `connection open on ${listener.name} from 127.0.0.1:PORT`,
      `protocol violation (unknown-protocol) on ${listener.name} from 127.0.0.1:PORT`,
      `connection closed on ${listener.name} from 127.0.0.1:PORT`,
    ]);
    expect(debug[1]!.fields).toMatchObject({
      listener: listener.name,
      reason: 'unknown-protocol',
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
  });
});
