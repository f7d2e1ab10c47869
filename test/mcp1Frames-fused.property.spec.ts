import fc from 'fast-check';
import { map, type OperatorFunction, pipe } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeMcp1 } from '../operators/decodeMcp1.js';
import { mcp1Frames } from '../operators/mcp1Frames.js';
import type { PipelineRecord } from '../src/core/records.js';
import { runCut } from './fixtures/cutStream.js';
import { fatalFrame, goodFrame } from './fuzz/mcp1Messages.js';

type Op = OperatorFunction<PipelineRecord, PipelineRecord>;

const LIMIT = 2048;
/** Side by side, decodeMcp1() right after mcp1Frames() fuses with it; a user stage between keeps them apart. */
const fused: Op = pipe(mcp1Frames({ maxMessageBytes: LIMIT }), decodeMcp1());
const apart: Op = pipe(
  mcp1Frames({ maxMessageBytes: LIMIT }),
  map((r: PipelineRecord) => r),
  decodeMcp1(),
);

/** Feeds the stream cut at `cuts`, then ends it; what came out, connection left out. */
function run(op: Op, bytes: Uint8Array, cuts: number[]): unknown[] {
  return runCut(op, bytes, cuts, 'mcp1', (r) => {
    const { connection: _c, ...rest } = r as PipelineRecord & { bytes?: Uint8Array };
    // A frame's bytes may be a view of memory the next slice reuses: compare them as they were.
    return 'bytes' in rest && rest.bytes !== undefined ? { ...rest, bytes: Array.from(rest.bytes) } : rest;
  });
}

describe('mcp1Frames() fused with decodeMcp1()', () => {
  it('gives exactly the records the two give apart, however the stream is cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(goodFrame, { maxLength: 8 }),
        fc.option(fatalFrame, { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (good, fatal, cuts) => {
          const pieces = good.map((make, i) => make(i + 1).text);
          if (fatal !== undefined) pieces.push(fatal(99).text);
          const bytes = Buffer.concat(pieces);
          expect(run(fused, bytes, cuts)).toEqual(run(apart, bytes, cuts));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
