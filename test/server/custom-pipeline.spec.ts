import { map, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeJsonRpc, detectProtocol, jsonFrames } from '../../operators/index.js';
import type { PipelineRecord } from '../../src/core/records.js';
import { insertAfter, insertBefore, type PipelineStages, removeStage, replaceStage } from '../../src/server/stages.js';
import { endRecord, lettered, runMarbles, slicesOf, testConnection } from '../../src/testing/index.js';
import { matrix, rawClient, readLines, startServer, useCleanup } from '../fixtures/harness.js';
import { requireToken, UNAUTHORIZED } from '../fixtures/requireToken.js';

useCleanup();

describe.each(matrix())('custom pipelines (%s, %s)', (transport, kind) => {
  it('runs an auth stage inserted after decodeJsonRpc', async () => {
    const { address } = await startServer(transport, kind, {
      pipeline: (stages) => insertAfter(stages, 'decodeJsonRpc', 'auth', requireToken('s3cret')),
    });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"auth","params":["nope"]}\n');
    await c.send('{"jsonrpc":"2.0","id":3,"method":"auth","params":["s3cret"]}\n{"jsonrpc":"2.0","id":4,"method":"ping"}\n');
    expect(await readLines(c, 4)).toEqual([
      { jsonrpc: '2.0', id: 1, error: UNAUTHORIZED },
      { jsonrpc: '2.0', id: 2, error: UNAUTHORIZED },
      { jsonrpc: '2.0', id: 3, result: true },
      { jsonrpc: '2.0', id: 4, result: 'pong' },
    ]);
  });

  it('runs a replaced framing stage in place of the default one', async () => {
    const { address } = await startServer(transport, kind, {
      pipeline: (stages) => replaceStage(stages, 'jsonFrames', jsonFrames({ maxMessageBytes: 64 })),
    });
    const c = await rawClient(address);
    await c.send('{"jsonrpc":"2.0","id":1,"method":"echo","params":["' + 'x'.repeat(64) + '"]}\n');
    await c.waitForClose();
    expect(c.text()).toContain('"Message too large"');
  });

  it('runs a stage inserted before handle on every request', async () => {
    const seen: string[] = [];
    const log = tap((r: PipelineRecord) => void (r.type === 'request' && seen.push(r.method)));
    const { address } = await startServer(transport, kind, { pipeline: (stages) => insertBefore(stages, 'handle', 'log', log) });
    const c = await rawClient(address);
    await c.send('[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"echo","params":[1]}]\n');
    await readLines(c, 1);
    expect(seen).toEqual(['ping', 'echo']);
  });
});

describe('stage list helpers', () => {
  const noop = (s: Parameters<PipelineStages[number]['operator']>[0]) => s;
  const stages: PipelineStages = [
    { name: 'a', operator: noop },
    { name: 'b', operator: noop },
  ];

  it('insert, replace and remove by name, leaving the input list alone', () => {
    expect(insertAfter(stages, 'a', 'x', noop).map((s) => s.name)).toEqual(['a', 'x', 'b']);
    expect(insertBefore(stages, 'a', 'x', noop).map((s) => s.name)).toEqual(['x', 'a', 'b']);
    expect(removeStage(stages, 'a').map((s) => s.name)).toEqual(['b']);
    const other = (s: Parameters<typeof noop>[0]) => s;
    expect(replaceStage(stages, 'b', other)[1]!.operator).toBe(other);
    expect(stages.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('throw OptionsError for an unknown stage or a taken name', () => {
    expect(() => insertAfter(stages, 'zzz', 'x', noop)).toThrow(expect.objectContaining({ code: 'RINGWIRE_INVALID_OPTIONS' }));
    expect(() => insertAfter(stages, 'a', 'b', noop)).toThrow(/already named b/);
  });
});

describe('marble-testing an auth stage with ringwire/testing', () => {
  it('answers requests before auth with -32001 and lets later ones through', () => {
    runMarbles(
      ({ cold, expectObservable }) => {
        const conn = testConnection();
        const source = cold(
          'a-b-c|',
          lettered([
            ...slicesOf(conn, '{"jsonrpc":"2.0","id":1,"method":"ping"}', '{"jsonrpc":"2.0","id":2,"method":"auth","params":["k"]}'),
            endRecord(conn),
          ]),
        );
        const out = source.pipe(detectProtocol(), jsonFrames(), decodeJsonRpc(), requireToken('k'));
        const shape = (r: PipelineRecord) =>
          r.type === 'reply' ? { type: r.type, id: r.id, error: r.error, result: r.result } : { type: r.type };
        expectObservable(out.pipe(map(shape))).toBe('a-b-c|', {
          a: { type: 'reply', id: 1, error: UNAUTHORIZED, result: undefined },
          b: { type: 'reply', id: 2, error: undefined, result: true },
          c: { type: 'end' },
        });
      },
      { assertDeepEqual: (actual, expected) => expect(actual).toEqual(expected) },
    );
  });
});
