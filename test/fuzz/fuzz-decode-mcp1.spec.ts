/**
 * Fuzzes decodeMcp1() through a real server: request frames whose payloads are
 * MessagePack or JSON of every shape (a request map, a map with a bad `method` or
 * `params`, scalars, arrays, nil), and random bytes with either flag; cut at random
 * points. A payload the fuzzer built gets exactly its PROTOCOL.md 3 answer; random
 * bytes get a type-3 error of their own id (-32700 or -32600) — and in every case
 * the framing stays intact: the next frame is answered, the connection lives on.
 */
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import { describe, it } from 'vitest';
import { mcp1Bytes } from '../../src/testing/wire.js';
import { transports, useCleanup } from '../fixtures/harness.js';
import { recordFigure } from '../hardening/input-wire.js';
import { budgetMs, caseOf, exchange, expectServerWell, fuzzFor, fuzzServer, METHODS, tameStream, testTimeoutMs } from './fuzzing.js';
import { type Answer, answersToPayload, expectWritten, goodFrame, type Mcp1Piece, mcp1Stream, params, value } from './mcp1Messages.js';

useCleanup();

const MS = budgetMs(1);

/** Payload values around the shape of a request, each member right, wrong or missing. */
const shaped = fc.oneof(
  fc
    .record(
      {
        method: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...METHODS, 'rpc.x', '') }, { weight: 1, arbitrary: value }),
        params: fc.oneof({ weight: 3, arbitrary: params }, { weight: 1, arbitrary: fc.oneof(value, fc.constant(null)) }),
        extra: value,
      },
      { requiredKeys: [] },
    )
    .map(tameStream),
  value,
);

/** A frame with a payload the fuzzer built: its exact answer is known. */
const builtPayload = fc.tuple(shaped, fc.boolean()).map(([body, json]) => (id: number): Mcp1Piece => {
  const onWire = json ? (JSON.parse(JSON.stringify(body)) as unknown) : unpack(pack(body));
  return {
    text: mcp1Bytes({ type: 1, id, flags: json ? 1 : 0, payload: json ? JSON.stringify(body) : pack(body) }),
    id,
    answers: answersToPayload(id, json ? 1 : 0, onWire),
  };
});

/** Random payload bytes: one type-3 frame for this id, -32700 (does not decode) or -32600 (decodes, not a request). */
const randomPayload = fc.tuple(fc.uint8Array({ maxLength: 48 }), fc.nat(1)).map(
  ([payload, flags]) =>
    (id: number): Mcp1Piece => ({
      text: mcp1Bytes({ type: 1, id, flags, payload }),
      id,
      answers: (frames: readonly Answer[]) => {
        if (
          frames.length !== 1 ||
          frames[0]![0] !== 3 ||
          frames[0]![2] !== flags ||
          ![-32700, -32600].includes((frames[0]![3] as { code: number }).code)
        ) {
          // Only a payload that happens to be a request with a string method may get anything else.
          let decoded: unknown;
          try {
            decoded = flags ? JSON.parse(Buffer.from(payload).toString('utf8')) : unpack(payload);
          } catch {
            decoded = undefined;
          }
          const method = typeof decoded === 'object' && decoded !== null ? (decoded as { method?: unknown }).method : undefined;
          if (typeof method !== 'string')
            throw new Error(`random payload ${Buffer.from(payload).toString('hex')} got ${JSON.stringify(frames)}`);
        }
      },
    }),
);

/** Random bytes as a notification: never answered, however broken. */
const brokenNotification = fc.uint8Array({ maxLength: 24 }).map(
  (payload) =>
    (_id: number): Mcp1Piece => ({ text: mcp1Bytes({ type: 4, id: 0, payload }), id: 0, answers: [] }),
);

const payloads = caseOf(
  fc
    .tuple(
      goodFrame,
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: builtPayload },
          { weight: 3, arbitrary: randomPayload },
          { weight: 1, arbitrary: brokenNotification },
          { weight: 1, arbitrary: goodFrame },
        ),
        {
          minLength: 1,
          maxLength: 10,
        },
      ),
      fc.integer({ min: 1, max: 0x3fff0000 }),
    )
    // A ping closes every stream: the framing survived whatever came before it.
    .map(([first, rest, firstId]) =>
      mcp1Stream(
        [first, ...rest, (id) => ({ text: mcp1Bytes({ type: 5, id }), id, answers: [[6, id, 0, undefined]] })],
        firstId,
        new Uint8Array(0),
      ),
    ),
);

describe.each(transports())('fuzz: decodeMcp1 (%s)', (transport) => {
  it(
    'answers every payload as PROTOCOL.md 3 says, each failure costing only its own request',
    async ({ expect }) => {
      const fuzz = await fuzzServer(transport);
      const runs = await fuzzFor(MS, payloads, async (c) => {
        expectWritten(await exchange(fuzz, c), c.pieces);
        expect(await fuzz.bystander.call('ping')).toBe('pong');
      });
      recordFigure('fuzz decode-mcp1 (' + transport + ')', { cases: runs, ms: MS });
      await expectServerWell(fuzz, runs);
    },
    testTimeoutMs(MS),
  );
});
