import fc from 'fast-check';
import { from, map, type OperatorFunction, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { frameText } from '../operators/codec/frameText.js';
import { decodeUtf8 } from '../operators/codec/utf8.js';
import { contentLengthFrames } from '../operators/contentLengthFrames.js';
import { jsonFrames } from '../operators/jsonFrames.js';
import type { FrameRecord, PipelineRecord, Protocol } from '../src/core/records.js';
import { bytes, concatBytes, dataRecord, lspBytes, testConnection } from '../src/testing/index.js';

type Op = OperatorFunction<PipelineRecord, PipelineRecord>;

/** What decodeUtf8 says of `b`, or 'malformed'. */
function alone(b: Uint8Array): string {
  try {
    return decodeUtf8(b);
  } catch {
    return 'malformed';
  }
}

function textOf(frame: FrameRecord): string {
  try {
    return frameText(frame);
  } catch {
    return 'malformed';
  }
}

/**
 * Frames `slices` and asks for each frame's text as a decoder would, while the slice
 * is being framed; returns [shared text, the frame's own bytes decoded] per frame.
 */
function texts(slices: Uint8Array[], framing: Op = jsonFrames(), protocol: Protocol = 'jsonrpc'): Array<[string, string]> {
  const conn = testConnection();
  const out: Array<[string, string]> = [];
  from(slices.map((s) => dataRecord(conn, s, protocol)))
    .pipe(framing)
    .subscribe((r) => {
      if (r.type === 'frame') out.push([textOf(r), alone(r.bytes)]);
    });
  return out;
}

describe('frameText', () => {
  it('gives every frame of an ASCII slice its own text', () => {
    const got = texts([bytes('{"id":1}\n{"id":22}\n  {"a":"}"}{"b":[3]}\nxyz\n{"id"')]);
    expect(got.map(([t]) => t)).toEqual(['{"id":1}', '{"id":22}', '{"a":"}"}', '{"b":[3]}', 'xyz']);
    for (const [shared, own] of got) expect(shared).toBe(own);
  });

  it('decodes frame by frame where the slice is not ASCII, malformed, or cut mid-character', () => {
    const euro = bytes('{"s":"€"}\n');
    const cases = [
      concatBytes(bytes('{"a":1}\n'), euro, bytes('{"b":2}\n')),
      concatBytes(bytes('{"a":1}\n{"bad":"'), new Uint8Array([0xff]), bytes('"}\n{"b":2}\n')),
      concatBytes(bytes('{"a":1}\n{"b":2}\n{"c":"'), euro.subarray(6, 7)),
      concatBytes(new Uint8Array([0xef, 0xbb, 0xbf]), bytes('{"a":1}\n{"b":2}\n')),
    ];
    for (const slice of cases) {
      const got = texts([slice]);
      expect(got.length).toBeGreaterThan(1);
      for (const [shared, own] of got) expect(shared).toBe(own);
    }
    expect(texts([cases[1]!]).map(([t]) => t)).toEqual(['{"a":1}', 'malformed', '{"b":2}']);
  });

  it('shares the text of Content-Length bodies too', () => {
    const slice = concatBytes(lspBytes('{"id":1}'), lspBytes('{"id":2,"s":"é"}'), lspBytes('{"id":3}'));
    const got = texts([slice], contentLengthFrames(), 'lsp');
    expect(got.map(([t]) => t)).toEqual(['{"id":1}', '{"id":2,"s":"é"}', '{"id":3}']);
  });

  it('never serves a record that carries other bytes, or one asked for after framing returned', () => {
    const conn = testConnection();
    const slice = bytes('{"id":1}\n{"id":2}\n');
    const seen: string[] = [];
    const held: FrameRecord[] = [];
    from([dataRecord(conn, slice, 'jsonrpc')])
      .pipe(
        jsonFrames(),
        // A stage that replaces the bytes makes a new record: its own bytes are decoded.
        map((r) => (r.type === 'frame' ? { ...r, bytes: bytes(`{"x":${r.bytes.length}}`) } : r)),
      )
      .subscribe((r) => {
        if (r.type === 'frame') seen.push(frameText(r));
      });
    expect(seen).toEqual(['{"x":8}', '{"x":8}']);

    // A stage that swaps the bytes of the same record (they are read-only, but still).
    const swapped: string[] = [];
    from([dataRecord(conn, slice, 'jsonrpc')])
      .pipe(jsonFrames())
      .subscribe((r) => {
        if (r.type !== 'frame') return;
        (r as { bytes: Uint8Array }).bytes = bytes('{"swapped":1}');
        swapped.push(frameText(r));
      });
    expect(swapped).toEqual(['{"swapped":1}', '{"swapped":1}']);

    const record = dataRecord(conn, slice, 'jsonrpc');
    from([record])
      .pipe(jsonFrames())
      .subscribe((r) => {
        if (r.type === 'frame') {
          frameText(r); // the slice's text is made now, while framing holds the slice
          held.push(r);
        }
      });
    // The memory under a slice is read into again after framing; a late question reads the bytes now there.
    record.bytes.set(bytes('{"id":7}\n{"id":8}\n'));
    expect(held.map(frameText)).toEqual(['{"id":7}', '{"id":8}']);
  });

  it('stays right when framing re-enters with a slice while a frame of another is handled', () => {
    const a = testConnection();
    const b = testConnection();
    const input = new Subject<PipelineRecord>();
    const outer = dataRecord(a, '{"a":1}\n{"a":333}\n{"a":4444}\n', 'jsonrpc');
    const seen: string[] = [];
    let frames = 0;
    input.pipe(jsonFrames()).subscribe((r) => {
      if (r.type !== 'frame' || frames++ === 0) return; // the first frame is not asked for
      seen.push(frameText(r));
      if (frames === 2) {
        // The same bytes read for another connection, framed while the first slice is mid-way,
        // and another connection's own bytes.
        input.next({ type: 'data', connection: b, bytes: outer.bytes, protocol: 'jsonrpc' });
        input.next(dataRecord(b, 'xx{"b":22}\n', 'jsonrpc'));
      }
    });
    input.next(outer);
    expect(seen).toEqual(['{"a":333}', '{"a":1}', '{"a":333}', '{"a":4444}', 'xx{"b":22}', '{"a":4444}']);
  });

  it('says what decodeUtf8 says of every frame, however the bytes are cut (property)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }).map((s) => bytes(`${JSON.stringify({ s })}\n`)),
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => bytes(`${JSON.stringify([s])}`)),
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((junk) => concatBytes(bytes('{"j":"'), junk, bytes('"}\n'))),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 4 }), (values, points) => {
        const all = concatBytes(...values);
        const cuts = [...new Set(points.map((p) => p % (all.length + 1)))].sort((a, b) => a - b);
        const slices: Uint8Array[] = [];
        let at = 0;
        for (const cut of [...cuts, all.length]) {
          slices.push(all.slice(at, cut));
          at = cut;
        }
        for (const [shared, own] of texts(slices)) expect(shared).toBe(own);
      }),
      { numRuns: 500 },
    );
  });
});
