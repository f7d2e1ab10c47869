/**
 * Fuzzes jsonFrames() through a real server: streams of requests, notifications
 * and batches (pretty-printed or not, strings full of brackets, quotes and
 * escapes), lines of garbage, broken values and the odd value over the limit, with
 * or without whitespace between them, cut at random points. Every well-formed
 * request gets its response, every broken message its error, nothing after a fatal
 * one is answered, and the server closes when the client does (a value cut off at the end is dropped
 * unanswered): no crash, no hang.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { transports, useCleanup } from '../fixtures/harness.js';
import { canonical, recordFigure } from '../hardening/input-wire.js';
import { budgetMs, caseOf, expectAnswered, expectServerWell, fuzzFor, fuzzServer, testTimeoutMs } from './fuzzing.js';
import { brokenValuePiece, cutOffTail, garbageLinePiece, requestPiece, separator, stream, tooLargePiece } from './jsonMessages.js';

useCleanup();

const MS = budgetMs(1);

const piece = fc.oneof(
  { weight: 6, arbitrary: requestPiece },
  { weight: 2, arbitrary: garbageLinePiece },
  { weight: 2, arbitrary: brokenValuePiece },
  { weight: 1, arbitrary: tooLargePiece },
);

/** The stream opens with a request (detection needs `{` or `[` within 16 bytes), maybe after whitespace. */
const jsonStream = caseOf(
  fc
    .tuple(
      fc.constantFrom('', ' ', '\r\n', '\t '),
      requestPiece,
      fc.array(piece, { maxLength: 8 }),
      fc.array(separator, { minLength: 1, maxLength: 9 }),
      cutOffTail,
    )
    .map(([lead, first, rest, separators, tail]) => {
      const s = stream(lead, [first, ...rest], separators);
      return { ...s, bytes: Buffer.concat([s.bytes, Buffer.from(tail)]) };
    }),
);

describe.each(transports())('fuzz: jsonFrames (%s)', (transport) => {
  it(
    'answers every message of a stream cut at random points, as PROTOCOL.md 2 says',
    async () => {
      const fuzz = await fuzzServer(transport);
      const runs = await fuzzFor(MS, jsonStream, (c) =>
        expectAnswered(fuzz, 'ndjson', c, canonical('ndjson', Buffer.from(c.answers.map((a) => `${a}\n`).join('')))),
      );
      recordFigure('fuzz json-frames (' + transport + ')', { cases: runs, ms: MS });
      await expectServerWell(fuzz, runs);
    },
    testTimeoutMs(MS),
  );
});
