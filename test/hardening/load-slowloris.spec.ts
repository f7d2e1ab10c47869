/**
 * Slowloris (PROTOCOL.md section 4): 1,000 clients that send one byte a second
 * and never finish. Each is closed, silently, once `detectTimeoutMs` (nothing
 * decisive yet) or `messageTimeoutMs` (a message begun) has passed — not before,
 * and not much after — while a normal client goes on being served throughout.
 * Its latency under this load is a measurement: bench/slowloris.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RpcClient } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { RawClient, startServer, transports, until, useCleanup } from '../fixtures/harness.js';
import { addressOf } from '../helpers/rawClient.js';
import { tempSocketPath } from '../helpers/socketPath.js';

useCleanup();

const SLOWLORIS = 1000;
const DETECT_TIMEOUT_MS = 1000;
const MESSAGE_TIMEOUT_MS = 1500;
/**
 * How late a close may come: busy loop turns (1,000 connections and their clients in
 * one process) plus timer lateness. Measured worst: 58 ms native, 109 ms net. Less
 * than the dribble interval, so a clock restarted by each byte would be caught.
 */
const SLACK_MS = 500;
/** Timers may fire a millisecond before Date.now() says so (ms rounding). */
const EARLY_MS = 5;

/** What each kind of slowloris sends at once, then what it dribbles, one byte a second. */
const KINDS = [
  { name: 'undecided LSP header', first: 'C', rest: 'ontent-Length: 40\r\n\r\n', timeout: 'detect' },
  { name: 'JSON message', first: '{', rest: '"jsonrpc":"2.0","id":1,"method":"ping"}\n', timeout: 'message' },
  { name: 'MCP1 header', first: 'MCP1', rest: '\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00', timeout: 'message' },
  { name: 'LSP body', first: 'Content-Length: 40\r\n\r\n{', rest: '"jsonrpc":"2.0","id":1,"method":"ping"}', timeout: 'message' },
] as const;

interface Loris {
  readonly client: RawClient;
  readonly kind: (typeof KINDS)[number];
  /** Before connect(): the server's detection clock cannot start earlier. */
  readonly connecting: number;
  /** After connect(): the server has the connection, its clock is running. */
  readonly connected: number;
  /** When the first bytes went out: a message's clock cannot start earlier. */
  firstByte: number;
  closedAt: number;
  sent: number;
}

async function attack(i: number, to: Parameters<typeof RawClient.connect>[0]): Promise<Loris> {
  const kind = KINDS[i % KINDS.length]!;
  const connecting = Date.now();
  const client = await RawClient.connect(to);
  const loris: Loris = { client, kind, connecting, connected: Date.now(), firstByte: 0, closedAt: 0, sent: 0 };
  client.socket.on('close', () => (loris.closedAt = Date.now()));
  loris.firstByte = Date.now();
  client.socket.write(kind.first);
  return loris;
}

describe.each(transports())('slowloris (%s)', (transport) => {
  it(`closes ${SLOWLORIS} one-byte-a-second clients at their timeout, and serves a normal client meanwhile`, async () => {
    const { server } = await startServer(transport, 'unix', {
      listen: [{ unix: tempSocketPath() }, { host: '127.0.0.1', port: 0, backlog: 2048 }],
      limits: { detectTimeoutMs: DETECT_TIMEOUT_MS, messageTimeoutMs: MESSAGE_TIMEOUT_MS },
    });
    const [unix, tcp] = server.listeners.map(addressOf) as [ReturnType<typeof addressOf>, ReturnType<typeof addressOf>];

    // The normal client calls throughout, on a connection opened before the attack.
    const normal: RpcClient = await connect(`unix:${server.listeners[0]!.address}`, { protocol: 'mcp1' });
    let answered = 0;
    let stop = false;
    const calling = (async () => {
      while (!stop) {
        expect(await normal.call('echo', [answered])).toBe(answered);
        answered++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const lorises = await Promise.all(Array.from({ length: SLOWLORIS }, (_, i) => attack(i, i % 2 ? tcp : unix)));
    const dribble = setInterval(() => {
      for (const l of lorises) {
        if (l.closedAt === 0 && l.sent < l.kind.rest.length) l.client.socket.write(l.kind.rest[l.sent++]!);
      }
    }, 1000);
    try {
      const answeredBefore = answered;
      await until(() => lorises.every((l) => l.closedAt > 0), 'every slowloris to be closed', MESSAGE_TIMEOUT_MS + SLACK_MS + 3000);
      expect(answered - answeredBefore).toBeGreaterThan(20);
    } finally {
      clearInterval(dribble);
      stop = true;
      await calling;
    }

    const late: string[] = [];
    for (const l of lorises) {
      const timeout = l.kind.timeout === 'detect' ? DETECT_TIMEOUT_MS : MESSAGE_TIMEOUT_MS;
      const clockStart = l.kind.timeout === 'detect' ? l.connecting : l.firstByte;
      const clockStartAtLatest = l.kind.timeout === 'detect' ? l.connected : l.firstByte;
      expect(l.closedAt - clockStart, `${l.kind.name} closed before its timeout`).toBeGreaterThanOrEqual(timeout - EARLY_MS);
      if (l.closedAt - clockStartAtLatest > timeout + SLACK_MS) late.push(`${l.kind.name}: ${l.closedAt - clockStartAtLatest} ms`);
      // Timeouts are silent: not one byte comes back.
      expect(l.client.received).toBe(0);
    }
    expect(late).toEqual([]);
    const stats = server.stats();
    expect(stats.violations['detect-timeout']).toBe(SLOWLORIS / KINDS.length);
    expect(stats.violations['message-timeout']).toBe((SLOWLORIS * (KINDS.length - 1)) / KINDS.length);
    // The server closes its side once it has read the peer's FIN, a moment after the peer saw ours.
    await until(() => server.stats().connections.open === 1, 'the server to close its side of every slowloris', 3000);
    expect(normal.closed).toBe(false);
    expect(await normal.call('ping')).toBe('pong');
    await normal.close();
  });
});
