/**
 * Fuzzes mcp1Frames() through a real server: runs of requests (MessagePack and
 * JSON payloads), notifications, pings and cancels, now and then a header the
 * server must refuse (wrong magic, a reserved bit or field, an unknown or
 * server-only type, a length over the limit), and sometimes a frame cut off at the
 * end; all cut at random points. Every frame gets the frames PROTOCOL.md 3 says,
 * a violation one type-3 frame with id 0 and -32600, then the close.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { transports, useCleanup } from '../fixtures/harness.js';
import { recordFigure } from '../hardening/input-wire.js';
import { budgetMs, caseOf, exchange, expectServerWell, fuzzFor, fuzzServer, testTimeoutMs } from './fuzzing.js';
import { cutOffTail, expectWritten, fatalFrame, goodFrame, mcp1Stream } from './mcp1Messages.js';

useCleanup();

const MS = budgetMs(1);

const frames = caseOf(
  fc
    .tuple(
      goodFrame,
      fc.array(fc.oneof({ weight: 10, arbitrary: goodFrame }, { weight: 1, arbitrary: fatalFrame }), { maxLength: 10 }),
      fc.integer({ min: 1, max: 0x3fff0000 }),
      cutOffTail,
    )
    .map(([first, rest, firstId, tail]) => mcp1Stream([first, ...rest], firstId, tail)),
);

describe.each(transports())('fuzz: mcp1Frames (%s)', (transport) => {
  it(
    'answers every frame of a stream cut at random points, and a bad header with a type-3 id-0 frame then close',
    async ({ expect }) => {
      const fuzz = await fuzzServer(transport);
      const runs = await fuzzFor(MS, frames, async (c) => {
        expectWritten(await exchange(fuzz, c), c.pieces);
        expect(await fuzz.bystander.call('ping')).toBe('pong');
      });
      recordFigure('fuzz mcp1-frames (' + transport + ')', { cases: runs, ms: MS });
      await expectServerWell(fuzz, runs);
    },
    testTimeoutMs(MS),
  );
});
