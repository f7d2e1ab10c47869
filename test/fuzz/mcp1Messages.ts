/**
 * MCP1 frames for the fuzzers, each with the frames PROTOCOL.md 3 says the server
 * answers it with. Answers are compared per id: responses may come in any order,
 * but one id's frames (stream items, then the final response) keep theirs.
 */
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import { expect } from 'vitest';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { parseFrames } from '../fixtures/mcp1.js';
import { demoOutcome, FUZZ_LIMIT, METHODS, type Outcome, tameStream } from './fuzzing.js';

/** One answer frame: [type, id, flags, value]; a violation's value is reduced to its code (its message is free text). */
export type Answer = readonly [number, number, number, unknown];

/** What one frame must get: exact frames, or (for payloads of random bytes) a check. */
export interface Mcp1Piece {
  readonly text: Uint8Array;
  readonly id: number;
  readonly answers: readonly Answer[] | ((frames: readonly Answer[]) => void);
  readonly fatal?: boolean;
}

/** Values MessagePack and JSON both carry exactly: int32s, plain doubles, strings, arrays, string-keyed maps. */
export const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.string({ maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
  ),
  // "__proto__" keys are left out: msgpackr renames them (a reported bug, pinned by security-prototype-pollution.spec.ts).
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(
      fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
      tie('node'),
      { maxKeys: 3 },
    ),
  ),
})).node;

/** Params for the demo methods (`stream` gets a small count: see tameStream). */
export const params = fc.oneof(
  fc.array(value, { maxLength: 3 }),
  fc.dictionary(
    fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__'),
    value,
    { maxKeys: 3 },
  ),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 4 }),
  fc.nat(5).map((n) => [n]),
);

/** The frames answering a request whose handler ran with `outcome`. */
export function answersFor(id: number, flags: number, method: string, outcome: Outcome): Answer[] {
  if ('error' in outcome) return [[3, id, flags, outcome.error]];
  if (method === 'stream') return [...(outcome.result as unknown[]).map((v): Answer => [8, id, flags, v]), [2, id, flags, null]];
  return [[2, id, flags, outcome.result ?? null]];
}

/** The answer to a request payload the fuzzer knows the value of (PROTOCOL.md 3: params, when present, an array or a map; nil is neither). */
export function answersToPayload(id: number, flags: number, payload: unknown): Answer[] {
  const plain = typeof payload === 'object' && payload !== null && Object.getPrototypeOf(payload) === Object.prototype;
  const m = plain ? (payload as Record<string, unknown>) : {};
  const p = Object.hasOwn(m, 'params') ? m.params : undefined;
  const paramsOk =
    p === undefined || (typeof p === 'object' && p !== null && (Array.isArray(p) || Object.getPrototypeOf(p) === Object.prototype));
  if (!plain || typeof m.method !== 'string' || !Object.hasOwn(m, 'method') || !paramsOk) {
    return [[3, id, flags, { code: -32600, message: 'Invalid Request' }]];
  }
  return answersFor(id, flags, m.method, demoOutcome(m.method, p));
}

/** A request (type 1) or notification (type 4) frame for `body`, MessagePack or JSON. */
export function requestFrame(id: number, body: unknown, json: boolean, notification = false): Uint8Array {
  return mcp1Bytes({
    type: notification ? 4 : 1,
    id: notification ? 0 : id,
    flags: json ? 1 : 0,
    payload: json ? JSON.stringify(body) : pack(body),
  });
}

/** A well-formed frame of a kind a client sends, for the id the stream gives it. */
export const goodFrame: fc.Arbitrary<(id: number) => Mcp1Piece> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ method: fc.constantFrom(...METHODS), params: fc.option(params, { nil: undefined }), json: fc.boolean() })
      .map(({ method, params: p, json }) => (id: number): Mcp1Piece => {
        const body = tameStream(p === undefined ? { method } : { method, params: p });
        // The oracle judges what crosses the wire: maps come back as plain objects, whatever made them here.
        const onWire = json ? (JSON.parse(JSON.stringify(body)) as unknown) : unpack(pack(body));
        return { text: requestFrame(id, body, json), id, answers: answersToPayload(id, json ? 1 : 0, onWire) };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ method: fc.constantFrom(...METHODS), json: fc.boolean() }).map(
      ({ method, json }) =>
        (id: number): Mcp1Piece => ({ text: requestFrame(id, { method, params: [1] }, json, true), id: 0, answers: [] }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.nat(1).map(
      (flags) =>
        (id: number): Mcp1Piece => ({ text: mcp1Bytes({ type: 5, id, flags }), id, answers: [[6, id, flags, undefined]] }),
    ),
  },
  // A cancel for an id never used: nothing to cancel, nothing written.
  {
    weight: 1,
    arbitrary: fc.constant(
      (id: number): Mcp1Piece => ({ text: mcp1Bytes({ type: 7, id: id + 0x40000000 }), id: id + 0x40000000, answers: [] }),
    ),
  },
);

const codeOnly = (frames: readonly Answer[]): Answer[] =>
  frames.map(([t, i, f, v]) => (t === 3 && i === 0 ? [t, i, f, { code: (v as { code: number }).code }] : [t, i, f, v]));

/** A header the server must refuse: type-3 frame, id 0, -32600, then close. */
export const fatalFrame: fc.Arbitrary<(id: number) => Mcp1Piece> = fc
  .oneof(
    fc.constant({ magic: 'MCP2' }),
    fc.integer({ min: 2, max: 255 }).map((flags) => ({ flags: flags & 0xfe || 2 })),
    fc.integer({ min: 1, max: 0xffff }).map((reserved) => ({ reserved })),
    fc.constantFrom(0, 2, 3, 6, 8, 9, 42, 255).map((type) => ({ type })),
    fc.integer({ min: FUZZ_LIMIT + 1, max: 0xffffffff }).map((length) => ({ length })),
  )
  .map(
    (bad) =>
      (id: number): Mcp1Piece => ({
        text: mcp1Bytes({ type: 1, id, payload: pack({ method: 'ping' }), ...bad }),
        id: 0,
        answers: [[3, 0, 0, { code: -32600 }]],
        fatal: true,
      }),
  );

/** Frames the server wrote, parsed; everything must be whole frames. */
export function written(bytes: Buffer): Answer[] {
  const frames = parseFrames(bytes);
  expect(frames.reduce((n, f) => n + 16 + f.length, 0)).toBe(bytes.length);
  return codeOnly(frames.map((f): Answer => [f.type, f.id, f.flags, f.value]));
}

/** Checks what was written against the pieces, up to the first fatal one, per id. */
export function expectWritten(bytes: Buffer, pieces: readonly Mcp1Piece[]): void {
  const got = written(bytes);
  const byId = new Map<number, Answer[]>();
  for (const frame of got) byId.set(frame[1], [...(byId.get(frame[1]) ?? []), frame]);
  const end = pieces.findIndex((p) => p.fatal);
  const answered = end < 0 ? pieces : pieces.slice(0, end + 1);
  const expectedIds = new Set<number>();
  for (const piece of answered) {
    if (typeof piece.answers === 'function') {
      expectedIds.add(piece.id);
      piece.answers(byId.get(piece.id) ?? []);
    } else if (piece.answers.length > 0) {
      expectedIds.add(piece.id);
      expect(JSON.parse(JSON.stringify(byId.get(piece.id) ?? [])), `frames for id ${piece.id}`).toEqual(
        JSON.parse(JSON.stringify(piece.answers)),
      );
    }
  }
  expect(
    [...byId.keys()].filter((id) => !expectedIds.has(id)),
    'frames for ids nobody asked about',
  ).toEqual([]);
}

/** Gives the pieces distinct ids (MCP1 refuses an id already in flight) and joins them; `tail` is a cut-off frame. */
export function mcp1Stream(
  makers: ReadonlyArray<(id: number) => Mcp1Piece>,
  firstId: number,
  tail: Uint8Array,
): { bytes: Buffer; pieces: Mcp1Piece[] } {
  const pieces = makers.map((make, i) => make(firstId + i));
  return { bytes: Buffer.concat([...pieces.map((p) => p.text), tail]), pieces };
}

/** The start of a frame, never finished: the server answers nothing for it. */
export const cutOffTail = fc.oneof(
  { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 15 })
      .map((n) => mcp1Bytes({ type: 1, id: 0x7fffffff, payload: pack({ method: 'ping' }) }).subarray(0, n)),
  },
  { weight: 1, arbitrary: fc.constant(mcp1Bytes({ type: 1, id: 0x7fffffff, payload: pack({ method: 'ping' }) }).subarray(0, 20)) },
);
