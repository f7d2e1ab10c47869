/**
 * `ringwire call` prints the notifications the server sends while it waits, one
 * JSON line each on stderr, and keeps stdout for the answer. `ringwire serve`
 * sends none yet, so a fake server (test/fixtures/fakeServer.ts) plays the
 * server's side of PROTOCOL.md 6, in every framing.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, killAll, run } from '../fixtures/cli.js';
import { closeFakeServers, fakeServer, WIRES } from '../fixtures/fakeServer.js';
import { removeTempDirs } from '../helpers/socketPath.js';

beforeAll(ensureBuilt, 180_000);
afterEach(() => {
  killAll();
  closeFakeServers();
  removeTempDirs();
});

describe.each(WIRES)('ringwire call and the server’s own messages ($name)', (wire) => {
  it('prints each notification as one JSON line on stderr as it arrives, then the answer on stdout', async () => {
    const server = await fakeServer(wire, (message, fake) => {
      if (message.method !== 'countdown') return;
      // Three writes, as a server sends them: two notifications, then the answer.
      void fake
        .send(wire.notification('countdown', [1]))
        .then(() => fake.send(wire.notification('countdown', [0])))
        .then(() => fake.send(wire.result(message.id!, 'done')));
    });
    const result = await run(['call', server.path, 'countdown', '[2]', ...wire.flags]);
    expect(result).toEqual({
      code: 0,
      stdout: '"done"\n',
      stderr: '{"method":"countdown","params":[1]}\n{"method":"countdown","params":[0]}\n',
    });
  });

  it('answers a request from the server -32601 (it has no handlers) and still waits for its own answer', async () => {
    const server = await fakeServer(wire, (message, fake) => {
      if (message.method === 'work') void fake.send(wire.request(wire.serverId(1), 'confirm', ['sure?']));
      // The client's answer to the server's request: then the server finishes.
      else if (message.id === wire.serverId(1) && message.error) {
        const call = fake.received.find((m) => m.method === 'work')!;
        void fake.send(wire.notification('bye'), wire.result(call.id!, 42));
      }
    });
    const result = await run(['call', server.path, 'work', ...wire.flags]);
    expect(result).toEqual({ code: 0, stdout: '42\n', stderr: '{"method":"bye"}\n' });
    expect(server.received.find((m) => m.id === wire.serverId(1) && m.error)).toMatchObject({
      error: { code: -32601, message: 'Method not found' },
    });
  });
});

// MCP1 has no batches.
describe.each(WIRES.filter((wire) => wire.batch !== undefined))('ringwire call --batch and the server’s own messages ($name)', (wire) => {
  it('prints notifications too, and answers server requests -32601', async () => {
    const server = await fakeServer(wire, (message, fake) => {
      if (message.method === 'a') {
        void fake.send(wire.batch!(wire.notification('progress', { done: 1 }), wire.request(wire.serverId(1), 'confirm')));
      } else if (message.id === wire.serverId(1) && message.error) {
        const ids = fake.received.filter((m) => m.method !== undefined).map((m) => m.id!);
        void fake.send(wire.batch!(...ids.map((id) => wire.result(id, `answer ${id}`))));
      }
    });
    const result = await run(['call', server.path, '--batch', '[{"method":"a"},{"method":"b"}]', ...wire.flags]);
    expect(result).toEqual({
      code: 0,
      stdout: '{"result":"answer 1"}\n{"result":"answer 2"}\n',
      stderr: '{"method":"progress","params":{"done":1}}\n',
    });
    expect(server.received.find((m) => m.id === wire.serverId(1) && m.error)).toMatchObject({ error: { code: -32601 } });
  });
});
