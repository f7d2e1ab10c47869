import fc from 'fast-check';
import { map, type OperatorFunction, pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeJsonRpc } from '../operators/decodeJsonRpc.js';
import { jsonFrames } from '../operators/jsonFrames.js';
import type { PipelineRecord } from '../src/core/records.js';
import { runCut } from './fixtures/cutStream.js';
import {
  brokenValuePiece,
  cutOffTail,
  garbageLinePiece,
  type Piece,
  request,
  requestPiece,
  separator,
  stream,
} from './fuzz/jsonMessages.js';

type Op = OperatorFunction<PipelineRecord, PipelineRecord>;

const LIMIT = 2048;

/** Side by side, decodeJsonRpc() right after jsonFrames() fuses with it; a user stage between keeps them apart. */
const fused: Op = pipe(jsonFrames({ maxMessageBytes: LIMIT }), decodeJsonRpc());
const apart: Op = pipe(
  jsonFrames({ maxMessageBytes: LIMIT }),
  map((r: PipelineRecord) => r),
  decodeJsonRpc(),
);

/** Requests as real clients order and space their members, including the MCP SDK's (params before jsonrpc and id). */
const orderedPiece = fc
  .tuple(request, fc.constantFrom('sdk', 'params-last', 'id-last', 'spaced'), fc.boolean())
  .map(([r, order, cancel]): Piece => {
    const m = cancel ? { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: r.id ?? 1 } } : r;
    const { jsonrpc, id, method, params } = m as { jsonrpc: string; id?: unknown; method: string; params?: unknown };
    const members: Array<[string, unknown]> =
      order === 'sdk'
        ? [
            ['method', method],
            ['params', params],
            ['jsonrpc', jsonrpc],
            ['id', id],
          ]
        : order === 'id-last'
          ? [
              ['jsonrpc', jsonrpc],
              ['method', method],
              ['params', params],
              ['id', id],
            ]
          : [
              ['jsonrpc', jsonrpc],
              ['id', id],
              ['method', method],
              ['params', params],
            ];
    const gap = order === 'spaced' ? ' \t' : '';
    const body = members
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${gap}${JSON.stringify(k)}${gap}:${gap}${JSON.stringify(v)}`)
      .join(',');
    return { text: Buffer.from(`{${body}${gap}}`), answers: [] };
  });

/** Odd but valid text: escapes in keys and the method, duplicates, non-ASCII, values split over lines. */
const oddPiece = fc.constantFrom<string>(
  '{"jsonrpc":"2.0","id":1,"m\\u0065thod":"echo","params":[1]}',
  '{"jsonrpc":"2.0","id":1,"method":"echo","method":"sum","params":[1,2]}',
  '{"jsonrpc":"2.0","id":"é","method":"echo","params":["✓"]}',
  '{"jsonrpc":"2.0","id":2,"method":"échø","params":{"a":"}{"}}',
  '{"jsonrpc":"2.0",\n"id":3,"method":"echo"}',
  '{"jsonrpc":"2.0","id":4,"method":"echo","params":[1]}{"jsonrpc":"2.0","id":5,"method":"echo"}',
  '{"jsonrpc":"2.0","id":6,"method":"echo","params":null}',
  '{"jsonrpc":"2.0","id":1e2,"method":"echo"}',
  '{"jsonrpc":"2.0","id":-0,"method":"echo"}',
  '{"jsonrpc":"2.0","id":12345678901234567890,"method":"echo"}',
  '{"jsonrpc":"2.0","id":7,"method":"echo","params":[1]} x',
  '{"jsonrpc":"2.0","id":8,"method":"echo","params":["\\n\\"}"]}',
  '{"__proto__":{"x":1},"jsonrpc":"2.0","id":9,"method":"echo","params":{"__proto__":[1]}}',
);

const piece = fc.oneof(
  { weight: 4, arbitrary: requestPiece },
  { weight: 4, arbitrary: orderedPiece },
  { weight: 2, arbitrary: oddPiece.map((t): Piece => ({ text: Buffer.from(t), answers: [] })) },
  { weight: 1, arbitrary: garbageLinePiece },
  { weight: 1, arbitrary: brokenValuePiece },
);

/** Feeds the stream cut at `cuts`, then ends it; what came out, connection left out. */
function run(op: Op, bytes: Uint8Array, cuts: number[]): unknown[] {
  return runCut(op, bytes, cuts, 'jsonrpc', (r) => {
    const { connection: _c, ...rest } = r as PipelineRecord & { batch?: { replies: unknown[] } };
    return rest;
  });
}

describe('jsonFrames() fused with decodeJsonRpc()', () => {
  it('gives exactly the records the two give apart, however the stream is written and cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 8 }),
        fc.array(separator, { minLength: 1, maxLength: 4 }),
        cutOffTail,
        fc.array(fc.nat(), { maxLength: 6 }),
        (pieces, separators, tail, cuts) => {
          const { bytes } = stream('', pieces, separators);
          const all = Buffer.concat([bytes, Buffer.from(tail)]);
          expect(run(fused, all, cuts)).toEqual(run(apart, all, cuts));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('takes a plain NDJSON line at once and a message over the limit as a violation, as apart', () => {
    const line = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["x"]}\n';
    const huge = `{"jsonrpc":"2.0","id":2,"method":"echo","params":["${'y'.repeat(LIMIT)}"]}\n`;
    const bytes = Buffer.from(line + huge + line);
    const got = run(fused, bytes, []);
    expect(got).toEqual(run(apart, bytes, []));
    expect(got.map((r) => (r as { type: string }).type)).toEqual(['request', 'violation', 'end']);
  });

  it('parses only the params of a plain line: the envelope is read from the text, simple positional params too', () => {
    const parsed: string[] = [];
    const parse = JSON.parse;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      parsed.push(text);
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      run(
        fused,
        Buffer.from(
          '{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[1,2]}}\n{"method":"m","params":["p"],"jsonrpc":"2.0","id":"x"}\n',
        ),
        [],
      );
    } finally {
      JSON.parse = parse;
    }
    expect(parsed).toEqual(['{"a":[1,2]}']);
  });
});
