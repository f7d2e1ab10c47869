import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { tempSocketPath } from '../helpers/socketPath.js';

useCleanup();

const handlers = { ...demoHandlers, whoami: (_p: unknown, ctx: HandlerContext) => ctx.peer };
const UNKNOWN = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Unrecognized protocol"}}\n';
const WHOAMI = '{"jsonrpc":"2.0","id":1,"method":"whoami"}\n';

/** A PROXY v2 header: PROXY command, TCP over IPv4, the given source and destination. */
function proxyV2(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const body = Buffer.alloc(12);
  src.split('.').forEach((o, i) => (body[i] = Number(o)));
  dst.split('.').forEach((o, i) => (body[4 + i] = Number(o)));
  body.writeUInt16BE(srcPort, 8);
  body.writeUInt16BE(dstPort, 10);
  const head = Buffer.from([0x21, 0x11, 0x00, 12]);
  return Buffer.concat([signature, head, body]);
}

describe.each(matrix())('PROXY protocol (%s, %s)', (transport, kind) => {
  async function proxied() {
    const target = kind === 'unix' ? { unix: tempSocketPath(), proxyProtocol: true } : { host: '127.0.0.1', port: 0, proxyProtocol: true };
    const plain = kind === 'unix' ? { unix: tempSocketPath() } : { host: '127.0.0.1', port: 0 };
    const { server } = await startServer(transport, kind, { handlers, listen: [target, plain] });
    const [withProxy, without] = server.listeners;
    return { withProxy: withProxy!, without: without! };
  }

  it('gives handlers the v1 header address in ctx.peer.proxied', async () => {
    const { withProxy } = await proxied();
    const c = await rawClient(withProxy);
    await c.send('PROXY TCP4 203.0.113.7 10.0.0.2 56324 443\r\n' + WHOAMI);
    const [answer] = (await readLines(c, 1)) as Array<{ result: { proxied: unknown } }>;
    expect(answer!.result.proxied).toMatchObject({ family: 'IPv4', address: '203.0.113.7', port: 56324 });
  });

  it('gives handlers the v2 header address in ctx.peer.proxied', async () => {
    const { withProxy } = await proxied();
    const c = await rawClient(withProxy);
    await c.send(Buffer.concat([proxyV2('198.51.100.9', 40001, '10.0.0.2', 443), Buffer.from(WHOAMI)]));
    const [answer] = (await readLines(c, 1)) as Array<{ result: { proxied: unknown } }>;
    expect(answer!.result.proxied).toMatchObject({ family: 'IPv4', address: '198.51.100.9', port: 40001 });
  });

  it('closes a connection without the header on a listener that expects one', async () => {
    const { withProxy } = await proxied();
    const c = await rawClient(withProxy);
    await c.send(WHOAMI);
    await c.waitForClose();
    expect(c.text()).not.toContain('"result"');
  });

  it('treats the header as unknown bytes on a listener that does not expect one', async () => {
    const { without } = await proxied();
    const c = await rawClient(without);
    await c.send('PROXY TCP4 203.0.113.7 10.0.0.2 56324 443\r\n' + WHOAMI);
    await c.waitForClose();
    expect(c.text()).toBe(UNKNOWN);
  });

  it('answers normally, with no proxied address, on the other listener', async () => {
    const { without } = await proxied();
    const c = await rawClient(without);
    await c.send(WHOAMI);
    const [answer] = (await readLines(c, 1)) as Array<{ result: { proxied?: unknown; family: string } }>;
    expect(answer!.result.proxied).toBeUndefined();
    expect(answer!.result.family).toBe(kind === 'unix' ? 'unix' : 'IPv4');
  });
});

describe('PROXY protocol: the header wait', () => {
  // The wait for a PROXY header is the detection wait (docs/PROTOCOL.md 1): it
  // follows detectTimeoutMs, also past the 5000 ms default. Timing logic lives in
  // the operators, not the transports, so one transport and socket kind suffice.
  it('keeps a silent connection open for detectTimeoutMs, past the 5 s default, then closes it', async () => {
    const [transport, kind] = matrix()[0]!;
    const target = kind === 'unix' ? { unix: tempSocketPath(), proxyProtocol: true } : { host: '127.0.0.1', port: 0, proxyProtocol: true };
    const { listener } = await startServer(transport, kind, { handlers, listen: [target], limits: { detectTimeoutMs: 5_600 } });
    const c = await rawClient(listener);
    const opened = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5_300));
    expect(c.closed).toBe(false);
    await c.waitForClose();
    expect(Date.now() - opened).toBeGreaterThanOrEqual(5_500);
    expect(c.text()).toBe('');
  }, 15_000);
});
