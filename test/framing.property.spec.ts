import fc from 'fast-check';
import { from, type OperatorFunction, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { contentLengthFrames } from '../operators/contentLengthFrames.js';
import { detectProtocol } from '../operators/detectProtocol.js';
import { jsonFrames } from '../operators/jsonFrames.js';
import { mcp1Frames } from '../operators/mcp1Frames.js';
import { proxyProtocol } from '../operators/proxyProtocol.js';
import type { PipelineRecord, Protocol } from '../src/core/records.js';
import { bytes, concatBytes, dataRecord, endRecord, hex, lspBytes, mcp1Bytes, testConnection } from '../src/testing/index.js';

type Op = OperatorFunction<PipelineRecord, PipelineRecord>;

/** Cuts `data` at the given points (any numbers; taken modulo length), each slice in its own buffer. */
function split(data: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => (data.length === 0 ? 0 : p % (data.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    out.push(data.slice(at, cut));
    at = cut;
  }
  return out;
}

interface Outcome {
  readonly records: PipelineRecord[];
  readonly completed: boolean;
  readonly error: unknown;
  /** Per slice fed: whether a violation had come out once that slice was processed. */
  readonly violatedAfter: boolean[];
}

/** Feeds slices one by one (each a data record of `protocol`), then completes. */
function feed(op: Op, slices: Uint8Array[], protocol: Protocol | undefined): Outcome {
  const conn = testConnection({ listener: { proxyProtocol: protocol === undefined } });
  const input = new Subject<PipelineRecord>();
  const records: PipelineRecord[] = [];
  let completed = false;
  let error: unknown;
  input.pipe(op).subscribe({
    next: (r) => records.push(r),
    error: (e: unknown) => (error = e),
    complete: () => (completed = true),
  });
  const violatedAfter: boolean[] = [];
  for (const slice of slices) {
    // Not dataRecord(): it copies, and the checks below tell views of the input from copies.
    input.next(
      protocol === undefined
        ? { type: 'data', connection: conn, bytes: slice }
        : { type: 'data', connection: conn, bytes: slice, protocol },
    );
    violatedAfter.push(records.some((r) => r.type === 'violation'));
  }
  input.complete();
  return { records, completed, error, violatedAfter };
}

/** Frames as comparable strings (payload hex, MCP1 header too), and violations by reason. */
function summarize(records: PipelineRecord[]): string[] {
  return records.map((r) => {
    if (r.type === 'frame') return `${r.header ? `${r.header.type}/${r.header.id}/` : ''}${hex(r.bytes)}`;
    if (r.type === 'violation') return `!${r.reason}`;
    return r.type;
  });
}

/** Checks what every framer promises on any input: no error, completion, sizes, nothing after a violation. */
function checkInvariants(outcome: Outcome, slices: Uint8Array[], limit: number): void {
  expect(outcome.error).toBeUndefined();
  expect(outcome.completed).toBe(true);
  const inputs = new Set(slices.map((s) => s.buffer));
  const violation = outcome.records.findIndex((r) => r.type === 'violation');
  if (violation >= 0) expect(outcome.records.length).toBe(violation + 1);
  for (const r of outcome.records) {
    if (r.type !== 'frame') continue;
    expect(r.bytes.length).toBeLessThanOrEqual(limit);
    // A copy (across slices) is never allocated past the limit.
    if (!inputs.has(r.bytes.buffer)) expect(r.bytes.buffer.byteLength).toBeLessThanOrEqual(limit);
  }
}

const cutPoints = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 });

// ---- JSON ---------------------------------------------------------------------------

const jsonContainer = fc
  .oneof(
    fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  )
  .map((v) => JSON.stringify(v));
/** Bytes that start no value, up to a newline: framed as a line (decoding answers -32700). */
const garbageLine = fc
  .tuple(
    fc.constantFrom('x', '1', '"', '}', ']', 'n'),
    fc.string({ unit: fc.constantFrom('a', ' ', '{', '[', '"', '\\', '}', ':', '\t'), maxLength: 12 }),
  )
  .map(([first, rest]) => first + rest);
const jsonItem = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(jsonContainer, fc.constantFrom('', '\n', ' ', '\r\n', '\t \n')).map(([v, sep]) => ({ frame: v, wire: v + sep })),
  },
  { weight: 1, arbitrary: garbageLine.map((g) => ({ frame: g, wire: `${g}\n` })) },
);

describe('jsonFrames properties', () => {
  it('gives the same frames however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(jsonItem, { maxLength: 8 }), cutPoints, (items, points) => {
        const wire = bytes(items.map((i) => i.wire).join(''));
        const expected = items.map((i) => hex(bytes(i.frame)));
        const outcome = feed(jsonFrames(), split(wire, points), 'jsonrpc');
        expect(summarize(outcome.records)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws or hangs on random bytes, and never buffers past maxMessageBytes', () => {
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.array(fc.constantFrom(...'{}[]"\\ \nab'), { maxLength: 120 }).map((c) => bytes(c.join(''))),
    );
    fc.assert(
      fc.property(noise, cutPoints, fc.integer({ min: 0, max: 24 }), (data, points, limit) => {
        const slices = split(data, points);
        checkInvariants(feed(jsonFrames({ maxMessageBytes: limit }), slices, 'jsonrpc'), slices, limit);
      }),
      { numRuns: 400 },
    );
  });

  it('reports a value over the limit no later than the read that carries its first byte past the limit', () => {
    fc.assert(
      fc.property(
        fc.array(jsonItem, { maxLength: 3 }),
        fc.integer({ min: 2, max: 40 }),
        fc.nat({ max: 30 }),
        cutPoints,
        (before, limit, extra, points) => {
          const small = before.filter((i) => bytes(i.frame).length <= limit);
          const prefix = small.map((i) => i.wire).join('');
          const big = `["${'y'.repeat(limit + extra)}"]`; // limit + extra + 4 bytes: always over
          const wire = bytes(prefix + big);
          const slices = split(wire, points);
          const outcome = feed(jsonFrames({ maxMessageBytes: limit }), slices, 'jsonrpc');
          const overAt = Buffer.byteLength(prefix) + limit; // offset of the value's byte number limit + 1
          let end = 0;
          const slice = slices.findIndex((s) => (end += s.length) > overAt);
          expect(outcome.violatedAfter[slice]).toBe(true);
          expect(summarize(outcome.records).at(-1)).toBe('!too-large');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('growth of copied frames', () => {
  const manyCuts = fc.array(fc.nat({ max: 10_000 }), { minLength: 4, maxLength: 30 });

  it('jsonFrames grows a split value geometrically, never past maxMessageBytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 3000 }), fc.nat({ max: 300 }), manyCuts, (size, slack, points) => {
        const value = `["${'v'.repeat(size - 4)}"]`;
        const slices = split(bytes(value), points);
        const limit = size + slack;
        const outcome = feed(jsonFrames({ maxMessageBytes: limit }), slices, 'jsonrpc');
        expect(summarize(outcome.records)).toEqual([hex(bytes(value))]);
        checkInvariants(outcome, slices, limit);
      }),
      { numRuns: 200 },
    );
  });

  it('mcp1Frames and contentLengthFrames copy a split payload into exactly its length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 200, maxLength: 3000 }), manyCuts, (payload, points) => {
        for (const [op, wire, protocol] of [
          [mcp1Frames(), mcp1Bytes({ type: 1, id: 1, payload }), 'mcp1'],
          [contentLengthFrames(), lspBytes(payload), 'lsp'],
        ] as const) {
          // Split once: a frame inside one slice is a view of THAT slice's buffer.
          const slices = split(wire, points);
          const outcome = feed(op, slices, protocol);
          const frame = outcome.records[0];
          expect(frame?.type).toBe('frame');
          if (frame?.type !== 'frame') return;
          expect(hex(frame.bytes)).toBe(hex(payload));
          const inputs = new Set(slices.map((s) => s.buffer));
          if (!inputs.has(frame.bytes.buffer)) expect(frame.bytes.buffer.byteLength).toBe(payload.length);
        }
      }),
      { numRuns: 150 },
    );
  });
});

// ---- MCP1 ---------------------------------------------------------------------------

const mcp1Frame = fc.record({
  type: fc.constantFrom(1, 4, 5, 7),
  id: fc.nat({ max: 0xffffffff }),
  flags: fc.constantFrom(0, 1),
  payload: fc.uint8Array({ maxLength: 40 }),
});

describe('mcp1Frames properties', () => {
  it('gives the same frames however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(mcp1Frame, { maxLength: 8 }), cutPoints, (frames, points) => {
        const wire = concatBytes(...frames.map((f) => mcp1Bytes(f)));
        const expected = frames.map((f) => `${f.type}/${f.id}/${hex(f.payload)}`);
        expect(summarize(feed(mcp1Frames(), split(wire, points), 'mcp1').records)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws or hangs on random bytes, and never buffers past maxMessageBytes', () => {
    const chunk = fc.oneof(
      mcp1Frame.map((f) => mcp1Bytes(f)),
      fc.uint8Array({ maxLength: 40 }).map((b) => concatBytes('MCP1', b)),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 5 }), cutPoints, fc.integer({ min: 0, max: 32 }), (chunks, points, limit) => {
        const slices = split(concatBytes(...chunks), points);
        checkInvariants(feed(mcp1Frames({ maxMessageBytes: limit }), slices, 'mcp1'), slices, limit);
      }),
      { numRuns: 400 },
    );
  });

  it('rejects an oversized frame as soon as its header is complete, before any payload', () => {
    fc.assert(
      fc.property(
        fc.array(mcp1Frame, { maxLength: 3 }),
        fc.integer({ min: 0, max: 40 }),
        fc.nat({ max: 1000 }),
        cutPoints,
        (before, limit, extra, points) => {
          const small = before.filter((f) => f.payload.length <= limit).map((f) => mcp1Bytes(f));
          const prefix = concatBytes(...small);
          const wire = concatBytes(prefix, mcp1Bytes({ type: 1, id: 1, length: limit + 1 + extra }));
          const slices = split(wire, points);
          const outcome = feed(mcp1Frames({ maxMessageBytes: limit }), slices, 'mcp1');
          expect(outcome.violatedAfter.at(-1)).toBe(true);
          expect(summarize(outcome.records).at(-1)).toBe('!too-large');
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---- LSP ----------------------------------------------------------------------------

const lspMessage = fc.tuple(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom<Record<string, string>>({}, { 'Content-Type': 'application/vscode-jsonrpc; charset=utf-8' }, { 'X-A': 'b:c' }),
);

describe('contentLengthFrames properties', () => {
  it('gives the same frames however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(lspMessage, { maxLength: 8 }), cutPoints, (messages, points) => {
        const wire = concatBytes(...messages.map(([body, headers]) => lspBytes(body, headers)));
        const expected = messages.map(([body]) => hex(body));
        expect(summarize(feed(contentLengthFrames(), split(wire, points), 'lsp').records)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws or hangs on random bytes, and never buffers past maxMessageBytes', () => {
    const chunk = fc.oneof(
      lspMessage.map(([body, headers]) => lspBytes(body, headers)),
      fc.tuple(fc.nat({ max: 60 }), fc.uint8Array({ maxLength: 30 })).map(([n, b]) => concatBytes(`Content-Length: ${n}\r\n\r\n`, b)),
      fc.array(fc.constantFrom(...'Content-Length: 12\r\n'), { maxLength: 40 }).map((c) => bytes(c.join(''))),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 5 }), cutPoints, fc.integer({ min: 0, max: 32 }), (chunks, points, limit) => {
        const slices = split(concatBytes(...chunks), points);
        checkInvariants(feed(contentLengthFrames({ maxMessageBytes: limit }), slices, 'lsp'), slices, limit);
      }),
      { numRuns: 400 },
    );
  });
});

// ---- Detection ----------------------------------------------------------------------

const opening = fc.oneof(
  fc.constant('MCP1'),
  fc.tuple(fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n'), maxLength: 18 }), fc.constantFrom('{', '[')).map(([ws, b]) => ws + b),
  fc.mixedCase(fc.constant('content-length:')),
  fc.mixedCase(fc.constant('content-length')),
  fc.constantFrom('MC', 'M', 'C', 'GET / HTTP/1.1', '  ', 'PROXY '),
);

describe('detectProtocol properties', () => {
  it('makes the same decision and passes the same bytes however the opening is split', () => {
    fc.assert(
      fc.property(opening, fc.uint8Array({ maxLength: 30 }), cutPoints, (open, rest, points) => {
        const wire = concatBytes(open, rest);
        const whole = feed(detectProtocol(), [wire], undefined);
        const pieces = feed(detectProtocol(), split(wire, points), undefined);
        const decision = (o: Outcome) =>
          o.records
            .map((r) => (r.type === 'data' ? r.protocol : r.type === 'violation' ? r.reason : r.type))
            .filter((v, i, a) => a.indexOf(v) === i);
        const passed = (o: Outcome) => hex(concatBytes(...o.records.flatMap((r) => (r.type === 'data' ? [r.bytes] : []))));
        expect(decision(pieces)).toEqual(decision(whole));
        expect(passed(pieces)).toBe(passed(whole));
        if (whole.records[0]?.type === 'data') expect(passed(whole)).toBe(hex(wire));
      }),
      { numRuns: 500 },
    );
  });
});

describe('proxyProtocol properties', () => {
  it('reads the same address and passes the same bytes however the header is split', () => {
    const header = fc
      .tuple(fc.ipV4(), fc.ipV4(), fc.nat({ max: 65535 }), fc.nat({ max: 65535 }))
      .map(([src, dst, sp, dp]) => ({ src, sp, text: `PROXY TCP4 ${src} ${dst} ${sp} ${dp}\r\n` }));
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 30 }), cutPoints, (h, rest, points) => {
        const slices = split(concatBytes(h.text, rest), points);
        const conn = testConnection({ listener: { proxyProtocol: true } });
        const out: PipelineRecord[] = [];
        from(slices.map((s) => dataRecord(conn, s)))
          .pipe(proxyProtocol())
          .subscribe((r) => out.push(r));
        expect(conn.proxied).toMatchObject({ family: 'IPv4', address: h.src, port: h.sp });
        expect(hex(concatBytes(...out.map((r) => (r.type === 'data' ? r.bytes : new Uint8Array(0)))))).toBe(hex(rest));
      }),
      { numRuns: 300 },
    );
  });
});

// ---- Timeouts -----------------------------------------------------------------------

describe('message timeout properties', () => {
  type Step = { readonly conn: number; readonly kind: 'begin' | 'finish' | 'end' };
  const step = fc.record({ conn: fc.nat({ max: 3 }), kind: fc.constantFrom<Step['kind']>('begin', 'begin', 'finish', 'end') });

  it('times out exactly the messages left unfinished for messageTimeoutMs, each at its deadline', () => {
    // Steps at even times, odd timeouts: a deadline never ties with a step. The long
    // one lets many cancelled entries pile up in the deadline queue (compaction).
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400, size: 'max' }), fc.constantFrom(7, 1001), (steps, timeoutMs) => {
        const scheduler = new TestScheduler(() => undefined);
        scheduler.maxFrames = Number.POSITIVE_INFINITY;
        const conns = [0, 1, 2, 3].map(() => testConnection());
        const input = new Subject<PipelineRecord>();
        const seen: string[] = [];
        input.pipe(jsonFrames({ messageTimeoutMs: timeoutMs, scheduler })).subscribe((r) => {
          if (r.type === 'violation') seen.push(`${conns.indexOf(r.connection as never)}@${scheduler.now()}`);
        });
        // The model: per connection, when its unfinished message began, and whether it was closed.
        const began: Array<number | undefined> = [undefined, undefined, undefined, undefined];
        const closed = [false, false, false, false];
        const expected: string[] = [];
        const expire = (until: number) => {
          const due = began
            .map((t, c) => ({ c, at: t === undefined ? Infinity : t + timeoutMs }))
            .filter((d) => d.at < until)
            .sort((a, b) => a.at - b.at);
          for (const d of due) {
            expected.push(`${d.c}@${d.at}`);
            began[d.c] = undefined;
            closed[d.c] = true;
          }
        };
        steps.forEach(({ conn, kind }, i) => {
          const time = 2 * i;
          expire(time);
          const c = conns[conn]!;
          if (kind === 'end') {
            scheduler.schedule(() => input.next(endRecord(c)), time);
            began[conn] = undefined;
            closed[conn] = false;
          } else if (kind === 'begin') {
            const text = began[conn] === undefined ? '{"a":' : '1,';
            scheduler.schedule(() => input.next(dataRecord(c, text, 'jsonrpc')), time);
            if (!closed[conn]) began[conn] ??= time;
          } else {
            const text = began[conn] === undefined ? '{}' : '1}';
            scheduler.schedule(() => input.next(dataRecord(c, text, 'jsonrpc')), time);
            began[conn] = undefined;
          }
        });
        expire(Infinity);
        scheduler.flush();
        expect(seen).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
