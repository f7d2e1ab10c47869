/**
 * Fuzzes contentLengthFrames() through a real server: LSP base-protocol messages
 * with the header name in any case, blanks around the value, other headers before
 * and after, a repeated equal Content-Length, bodies that are requests,
 * notifications, `$/cancelRequest`, garbage or empty; now and then a fatal header
 * (missing, malformed or conflicting Content-Length, a line without a colon, a
 * length over the limit). Cut at random points. Every message gets its answer in
 * LSP framing; a fatal header its error (PROTOCOL.md 2.3), then the close.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { transports, useCleanup } from '../fixtures/harness.js';
import { canonical, recordFigure } from '../hardening/input-wire.js';
import {
  budgetMs,
  caseOf,
  expectAnswered,
  expectServerWell,
  FUZZ_LIMIT,
  fuzzFor,
  fuzzServer,
  PARSE_ERROR,
  TOO_LARGE,
  testTimeoutMs,
} from './fuzzing.js';
import { answersToFrame, type Piece, request } from './jsonMessages.js';

useCleanup();

const MS = budgetMs(1);

const name = fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH', 'Content-length');
const colon = fc.constantFrom(':', ': ', ':  ', ':\t');
const trailing = fc.constantFrom('', '', ' ', '\t');
const otherHeader = fc.constantFrom(
  'Content-Type: application/vscode-jsonrpc; charset=utf-8',
  'X-Trace: a:b:c',
  'X-Empty:',
  'x-odd:  [{"}]',
);
const body = fc.oneof(
  { weight: 5, arbitrary: request.map((r) => JSON.stringify(r)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 99 }).map((n) => `{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":${n}}}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)) },
);

const lines = (headers: readonly string[]) => headers.map((h) => `${h}\r\n`).join('');

/** A well-framed message; `first`: its header must open with Content-Length for detection. */
function message(first: boolean): fc.Arbitrary<Piece> {
  return fc
    .record({
      name,
      colon,
      trailing,
      body,
      before: fc.array(otherHeader, { maxLength: first ? 0 : 2 }),
      after: fc.array(otherHeader, { maxLength: 2 }),
      repeat: fc.boolean(),
    })
    .map((m) => {
      const bytes = Buffer.from(m.body);
      const length = `${m.name}${m.colon}${bytes.length}${m.trailing}`;
      const head = lines([...m.before, length, ...m.after, ...(m.repeat ? [`Content-Length: ${bytes.length}`] : [])]);
      const text = Buffer.concat([Buffer.from(`${head}\r\n`), bytes]);
      if (bytes.length > FUZZ_LIMIT) return { text, answers: [TOO_LARGE], fatal: true };
      return { text, answers: answersToFrame(bytes) };
    });
}

/** A header that ends the connection, and the error it gets first. */
const fatal: fc.Arbitrary<Piece> = fc
  .oneof(
    fc.constant(['X-Only: 1', PARSE_ERROR]),
    fc.constantFrom('12a', '', '-5', '0x10', '1 2', '+3', '٣').map((v) => [`Content-Length: ${v}`, PARSE_ERROR]),
    fc.constant(['Content-Length: 2\r\nContent-Length: 3', PARSE_ERROR]),
    fc.constant(['Content-Length 2', PARSE_ERROR]),
    fc.integer({ min: FUZZ_LIMIT + 1, max: 2 ** 40 }).map((n) => [`Content-Length: ${n}`, TOO_LARGE]),
  )
  .map(([head, error]) => ({ text: Buffer.from(`${head}\r\n\r\n{}`), answers: [error!], fatal: true }));

const lspStream = caseOf(
  fc
    .tuple(message(true), fc.array(fc.oneof({ weight: 8, arbitrary: message(false) }, { weight: 1, arbitrary: fatal }), { maxLength: 6 }))
    .map(([first, rest]) => {
      const pieces = [first, ...rest];
      const end = pieces.findIndex((p) => p.fatal);
      const answered = end < 0 ? pieces : pieces.slice(0, end + 1);
      return { bytes: Buffer.concat(pieces.map((p) => p.text)), answers: answered.flatMap((p) => p.answers) };
    }),
);

const lsp = (text: string) => `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;

describe.each(transports())('fuzz: contentLengthFrames (%s)', (transport) => {
  it(
    'answers every LSP message of a stream cut at random points, and a fatal header with its error then close',
    async () => {
      const fuzz = await fuzzServer(transport);
      const runs = await fuzzFor(MS, lspStream, (c) =>
        expectAnswered(fuzz, 'lsp', c, canonical('lsp', Buffer.from(c.answers.map(lsp).join('')))),
      );
      recordFigure('fuzz content-length-frames (' + transport + ')', { cases: runs, ms: MS });
      await expectServerWell(fuzz, runs);
    },
    testTimeoutMs(MS),
  );
});
