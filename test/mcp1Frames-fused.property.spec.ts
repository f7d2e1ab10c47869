import fc from 'fast-check';
import { map, type OperatorFunction, pipe, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { decodeMcp1 } from '../operators/decodeMcp1.js';
import { mcp1Frames } from '../operators/mcp1Frames.js';
import type { PipelineRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/index.js';
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

/** Feeds the stream cut at `cuts` (each slice in its own buffer), then ends it; what came out, connection left out. */
function run(op: Op, bytes: Uint8Array, cuts: number[]): unknown[] {
  const conn = testConnection();
  const input = new Subject<PipelineRecord>();
  const out: unknown[] = [];
  input.pipe(op).subscribe({
    next: (r) => {
      const { connection: _c, ...rest } = r as PipelineRecord & { bytes?: Uint8Array };
      // A frame's bytes may be a view of memory the next slice reuses: compare them as they were.
      out.push('bytes' in rest && rest.bytes !== undefined ? { ...rest, bytes: Array.from(rest.bytes) } : rest);
    },
    error: (e: unknown) => out.push({ error: String(e) }),
  });
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b).concat(bytes.length)) {
    input.next({ type: 'data', connection: conn, bytes: bytes.slice(at, cut), protocol: 'mcp1' });
    at = cut;
  }
  input.next({ type: 'end', connection: conn });
  input.complete();
  return out;
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
