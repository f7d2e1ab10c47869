import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { HandlerContext } from '../../src/core/records.js';
import { demoHandlers } from '../../src/handlers/demo.js';
import { delay, matrix, rawClient, startServer, until, useCleanup } from '../fixtures/harness.js';
import { frame, notification, parseFrames as parseAll, readFrames, request } from '../fixtures/mcp1.js';

useCleanup();

describe.each(matrix())('MCP1 (%s, %s)', (transport, kind) => {
  async function client(options = {}) {
    const { address } = await startServer(transport, kind, options);
    return rawClient(address);
  }

  it('answers a MessagePack request with a type-2 response of the same id', async () => {
    const c = await client();
    await c.send(request(7, 'sum', [1, 2, 3]));
    const [response] = await readFrames(c, 1);
    expect(response).toMatchObject({ type: 2, flags: 0, reserved: 0, id: 7, value: 6 });
  });

  it('answers a JSON-flagged request with a JSON-flagged response', async () => {
    const c = await client();
    await c.send(request(8, 'echo', [{ a: [1, 'x'] }], true));
    const [response] = await readFrames(c, 1);
    expect(response).toMatchObject({ type: 2, flags: 1, id: 8, value: { a: [1, 'x'] } });
  });

  it('answers nil where the handler returned nothing, and type 3 for errors', async () => {
    const c = await client({ handlers: { ...demoHandlers, nothing: () => undefined } });
    await c.send(Buffer.concat([request(1, 'nothing'), request(2, 'nope'), request(3, 'sum', ['x']), request(4, 'fail')]));
    const frames = await readFrames(c, 4);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)).toMatchObject({ type: 2, length: 1, value: null });
    expect(byId.get(2)).toMatchObject({ type: 3, value: { code: -32601, message: 'Method not found' } });
    expect(byId.get(3)).toMatchObject({ type: 3, value: { code: -32602 } });
    expect(byId.get(4)).toMatchObject({ type: 3, value: { code: -32603, message: 'Internal error' } });
  });

  it('answers a ping with a pong of the same id', async () => {
    const c = await client();
    await c.send(frame({ type: 5, id: 99 }));
    const [pong] = await readFrames(c, 1);
    expect(pong).toMatchObject({ type: 6, id: 99, length: 0 });
  });

  it('never answers a notification', async () => {
    const c = await client();
    await c.send(Buffer.concat([notification('ping'), notification('fail'), request(5, 'ping')]));
    const frames = await readFrames(c, 1);
    await delay(30);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ type: 2, id: 5, value: 'pong' });
  });

  it('cancels an in-flight request: its signal fires and it is answered -32800', async () => {
    let aborted: unknown;
    const handlers = {
      wait: (_p: unknown, ctx: HandlerContext) =>
        new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve((aborted = ctx.signal.reason)))),
    };
    const c = await client({ handlers });
    await c.send(request(11, 'wait'));
    await delay(20);
    await c.send(frame({ type: 7, id: 11 }));
    const [answer] = await readFrames(c, 1);
    expect(answer).toMatchObject({ type: 3, id: 11, value: { code: -32800, message: 'Request cancelled' } });
    await until(() => aborted !== undefined, 'the handler to see its signal abort');
  });

  it('streams items (type 8) then a nil type-2 response of the same id', async () => {
    const c = await client();
    await c.send(request(3, 'stream', [3]));
    const frames = await readFrames(c, 4);
    expect(frames.map((f) => [f.type, f.id, f.value])).toEqual([
      [8, 3, 0],
      [8, 3, 1],
      [8, 3, 2],
      [2, 3, null],
    ]);
  });

  it('costs only that request when a payload does not decode', async () => {
    const c = await client();
    await c.send(
      Buffer.concat([
        frame({ type: 1, id: 1, payload: Buffer.from([0xc1]) }),
        frame({ type: 1, id: 2, flags: 1, payload: '{"method":' }),
        request(3, 'ping'),
      ]),
    );
    const frames = await readFrames(c, 3);
    const byId = new Map(frames.map((f) => [f.id, f]));
    expect(byId.get(1)).toMatchObject({ type: 3, value: { code: -32700 } });
    expect(byId.get(2)).toMatchObject({ type: 3, value: { code: -32700 } });
    expect(byId.get(3)).toMatchObject({ type: 2, value: 'pong' });
    expect(c.closed).toBe(false);
  });

  it('answers -32600 for a request without a string method', async () => {
    const c = await client();
    await c.send(frame({ type: 1, id: 4, payload: pack({ params: [1] }) }));
    const [answer] = await readFrames(c, 1);
    expect(answer).toMatchObject({ type: 3, id: 4, value: { code: -32600 } });
  });

  it.each([
    ['a wrong magic after the first frame', Buffer.concat([request(1, 'ping'), frame({ type: 1, id: 2, magic: 'MCP2' })])],
    ['a reserved flag bit', frame({ type: 1, id: 2, flags: 2, payload: pack({ method: 'ping' }) })],
    ['a reserved field set', frame({ type: 1, id: 2, reserved: 1, payload: pack({ method: 'ping' }) })],
    ['an unknown type', frame({ type: 42, id: 2 })],
    ['a server-only type from the client', frame({ type: 2, id: 2, payload: pack(1) })],
  ])('answers %s with a type-3 frame id 0 code -32600, then closes', async (_name, bytes) => {
    const c = await client();
    await c.send(bytes);
    await c.waitForClose();
    const frames = await readFrames(c, 1);
    const violation = frames.at(-1)!;
    expect(violation).toMatchObject({ type: 3, id: 0, value: { code: -32600 } });
    expect(typeof (violation.value as { message: unknown }).message).toBe('string');
  });

  it('refuses an id already in flight on the connection with -32600, keeping the first', async () => {
    const c = await client();
    await c.send(Buffer.concat([request(5, 'sleep', [80]), request(5, 'ping')]));
    const frames = await readFrames(c, 2);
    expect(frames[0]).toMatchObject({ type: 3, id: 5, value: { code: -32600 } });
    expect(frames[1]).toMatchObject({ type: 2, id: 5, value: 80 });
  });

  it('writes nothing for a cancel that comes after the response', async () => {
    const c = await client();
    await c.send(request(6, 'ping'));
    await readFrames(c, 1);
    await c.send(Buffer.concat([frame({ type: 7, id: 6 }), request(7, 'ping')]));
    const frames = await readFrames(c, 2);
    await delay(30);
    expect(frames.map((f) => [f.type, f.id])).toEqual([
      [2, 6],
      [2, 7],
    ]);
    expect(parseAll(c.bytes())).toHaveLength(2);
  });

  it('rejects a length over maxMessageBytes from the header alone, without the payload', async () => {
    const c = await client({ limits: { maxMessageBytes: 1024 } });
    await c.send(frame({ type: 1, id: 5, length: 1025 }));
    await c.waitForClose();
    const [violation] = await readFrames(c, 1);
    expect(violation).toMatchObject({ type: 3, id: 0, value: { code: -32600 } });
  });

  it('accepts a payload of exactly maxMessageBytes', async () => {
    const c = await client({ limits: { maxMessageBytes: 1024 } });
    const body = { method: 'echo', params: ['x'.repeat(900)] };
    const payload = Buffer.from(JSON.stringify(body));
    const padded = Buffer.concat([payload.subarray(0, -1), Buffer.from(' '.repeat(1024 - payload.length)), payload.subarray(-1)]);
    expect(padded.length).toBe(1024);
    await c.send(frame({ type: 1, id: 6, flags: 1, payload: padded }));
    const [answer] = await readFrames(c, 1);
    expect(answer).toMatchObject({ type: 2, id: 6, value: 'x'.repeat(900) });
  });
});
