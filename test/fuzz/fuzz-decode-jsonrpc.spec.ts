/**
 * Fuzzes decodeJsonRpc() through a real server: NDJSON lines holding requests with
 * every member mutated (`jsonrpc`, `method`, `id`, `params` of every JSON type,
 * present or absent), arbitrary JSON values, and batches mixing them, cut at random
 * points. Each gets what PROTOCOL.md 2.2 says: a response, -32600 with the id where
 * it is valid, nothing for a notification, one array per batch.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { transports, useCleanup } from '../fixtures/harness.js';
import { canonical, recordFigure } from '../hardening/input-wire.js';
import { budgetMs, caseOf, expectAnswered, expectServerWell, fuzzFor, fuzzServer, METHODS, tameStream, testTimeoutMs } from './fuzzing.js';
import { id, params, request, stream, valuePiece } from './jsonMessages.js';

useCleanup();

const MS = budgetMs(1);

const anyJson = fc.jsonValue({ maxDepth: 2 });

/** A request with each member kept, dropped or replaced by a value of another type. */
const mutated = fc
  .record(
    {
      jsonrpc: fc.oneof(
        { weight: 4, arbitrary: fc.constant('2.0') },
        { weight: 1, arbitrary: fc.oneof(fc.constantFrom('1.0', '2', 2, 2.0, null), anyJson) },
      ),
      method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...METHODS, 'rpc.discover', '') }, { weight: 1, arbitrary: anyJson }),
      id: fc.oneof(
        { weight: 4, arbitrary: id },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom(true, 1.5, -0, 1e300), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 0 })),
        },
      ),
      params: fc.oneof({ weight: 4, arbitrary: params }, { weight: 1, arbitrary: fc.oneof(fc.constantFrom(null, 0, 'x', true), anyJson) }),
      extra: anyJson,
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...r }) => tameStream(Object.keys(r).length % 2 === 0 ? { ...r, extra } : r));

const message = fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 2, arbitrary: request }, { weight: 1, arbitrary: anyJson });
const line = fc
  .oneof({ weight: 4, arbitrary: message }, { weight: 1, arbitrary: fc.array(message, { maxLength: 4 }) })
  .map((v) => valuePiece(JSON.stringify(v)));

/** NDJSON: the first line is a request object, so detection decides JSON-RPC. */
const ndjson = caseOf(
  fc
    .tuple(request, fc.array(line, { maxLength: 10 }))
    .map(([first, rest]) => stream('', [valuePiece(JSON.stringify(first)), ...rest], ['\n'])),
);

describe.each(transports())('fuzz: decodeJsonRpc (%s)', (transport) => {
  it(
    'answers every message per the JSON-RPC 2.0 rules of PROTOCOL.md 2.2, cut at random points',
    async () => {
      const fuzz = await fuzzServer(transport);
      const runs = await fuzzFor(MS, ndjson, (c) =>
        expectAnswered(fuzz, 'ndjson', c, canonical('ndjson', Buffer.from(c.answers.map((a) => `${a}\n`).join('')))),
      );
      recordFigure('fuzz decode-jsonrpc (' + transport + ')', { cases: runs, ms: MS });
      await expectServerWell(fuzz, runs);
    },
    testTimeoutMs(MS),
  );
});
