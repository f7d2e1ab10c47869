/**
 * JSON-RPC streams for the fuzzers, each piece with the answer PROTOCOL.md 2
 * prescribes for it. The oracle is written from PROTOCOL.md and the JSON-RPC 2.0
 * specification, not from the server's code; JSON.parse is the reference for what
 * is JSON.
 */
import fc from 'fast-check';
import { demoOutcome, FUZZ_LIMIT, INVALID_REQUEST, METHODS, PARSE_ERROR, responseText, TOO_LARGE, tameStream } from './fuzzing.js';

/** Bytes of a stream, and the answers (JSON texts) they must get; `fatal`: the server closes after them. */
export interface Piece {
  readonly text: Buffer;
  readonly answers: readonly string[];
  readonly fatal?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The answer to one decoded JSON-RPC message (a batch member or a whole message), or undefined for none. */
export function answerToMessage(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return INVALID_REQUEST();
  const m = message as Record<string, unknown>;
  const hasId = Object.hasOwn(m, 'id');
  const id = m.id;
  const idValid = !hasId || id === null || typeof id === 'string' || typeof id === 'number';
  const hasParams = Object.hasOwn(m, 'params');
  const params = m.params;
  if (m.jsonrpc !== '2.0' || typeof m.method !== 'string' || !idValid || (hasParams && (typeof params !== 'object' || params === null))) {
    return INVALID_REQUEST(hasId && idValid ? id : null);
  }
  if (!hasId) return undefined; // a notification: never answered
  return responseText(id, demoOutcome(m.method, hasParams ? params : undefined));
}

/** The answers to one framed message's bytes (PROTOCOL.md 2.1-2.2). */
export function answersToFrame(frame: Uint8Array): string[] {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(frame));
  } catch {
    return [PARSE_ERROR];
  }
  if (!Array.isArray(value)) {
    const answer = answerToMessage(value);
    return answer === undefined ? [] : [answer];
  }
  if (value.length === 0) return [INVALID_REQUEST()];
  const members = value.map(answerToMessage).filter((a): a is string => a !== undefined);
  return members.length === 0 ? [] : [`[${members.join(',')}]`];
}

/** A JSON value piece: its answers, or Message too large and close when it is over the limit. */
export function valuePiece(text: string): Piece {
  const bytes = Buffer.from(text);
  if (bytes.length > FUZZ_LIMIT) return { text: bytes, answers: [TOO_LARGE], fatal: true };
  return { text: bytes, answers: answersToFrame(bytes) };
}

/** An id: numbers, and strings full of what framing must not trip on. */
export const id = fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.constantFrom('}{', '"]', '\\', '[[', 'é✓', null));

/** Params the demo handlers make something of. */
export const params = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 5 }),
  fc.integer({ min: 0, max: 4 }).map((n) => [n]),
  fc.string({ maxLength: 20 }).map((s) => [s]),
);

/** A well-formed request or notification object (before stringifying). */
export const request = fc
  .record({ jsonrpc: fc.constant('2.0'), id, method: fc.constantFrom(...METHODS), params }, { requiredKeys: ['jsonrpc', 'method'] })
  .map(tameStream);

/** Pretty-printing puts newlines and spaces inside values: framing must still find where they end. */
export const indent = fc.constantFrom<string | number | undefined>(undefined, undefined, 0, 1, '\t');

/** A request, notification or batch, stringified. */
export const requestPiece = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(request, indent).map(([r, i]) => valuePiece(JSON.stringify(r, null, i))) },
  { weight: 1, arbitrary: fc.tuple(fc.array(request, { maxLength: 4 }), indent).map(([b, i]) => valuePiece(JSON.stringify(b, null, i))) },
);

/**
 * Bytes that start neither an object nor an array, up to a newline: one message
 * (PROTOCOL.md 2.1), -32700 unless they happen to be a JSON scalar (then -32600).
 * A leading BOM is left out: the decoder may ignore one (RFC 8259 8.1), which would
 * make the rest an ordinary request.
 */
export const garbageLinePiece = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\n')),
    fc.boolean(),
  )
  .filter(([s]) => {
    const first = s.replace(/^[ \t\r]+/, '')[0];
    return first !== undefined && first !== '{' && first !== '[' && first !== '\uFEFF';
  })
  .map(([s, invalidUtf8]): Piece => {
    const line = Buffer.concat([Buffer.from(s), invalidUtf8 ? Buffer.from([0xff]) : Buffer.alloc(0)]);
    const frame = line.subarray(line.length - Buffer.from(s.replace(/^[ \t\r]+/, '')).length - (invalidUtf8 ? 1 : 0));
    const text = Buffer.concat([line, Buffer.from('\n')]);
    if (frame.length > FUZZ_LIMIT) return { text, answers: [TOO_LARGE], fatal: true };
    return { text, answers: answersToFrame(frame) };
  });

/** A bracketed value whose inside holds no brackets, quotes or backslashes: framing ends at its last byte. */
export const brokenValuePiece = fc
  .tuple(fc.boolean(), fc.string({ unit: fc.constantFrom(...'0123456789,:.-+eEtrufalsn \t\r\nxyz!#é'.split('')), maxLength: 40 }))
  .map(([object, inside]) => valuePiece(object ? `{${inside}}` : `[${inside}]`));

/** A value one byte over the limit: Message too large, then close. */
export const tooLargePiece = fc.constant<Piece>({
  text: Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"echo","params":["${'x'.repeat(FUZZ_LIMIT)}"]}`),
  answers: [TOO_LARGE],
  fatal: true,
});

/** The start of a value that never ends: the client's end discards it, unanswered. */
export const cutOffTail = fc.constantFrom(
  '',
  '',
  '',
  '{"jsonrpc":"2.0","id":77,"method":"ping"',
  '[{"jsonrpc":"2.0","id":"[","method":',
  '{"a":"\\',
);

/** Whitespace between values, or none (concatenated JSON). */
export const separator = fc.constantFrom('', '', ' ', '\n', '\r\n', '\t', '\n\n');

/** Joins pieces with separators; the answers are those of the pieces up to the first fatal one. */
export function stream(first: string, pieces: readonly Piece[], separators: readonly string[]): { bytes: Buffer; answers: string[] } {
  const parts: Buffer[] = [Buffer.from(first)];
  const answers: string[] = [];
  let over = false;
  pieces.forEach((piece, i) => {
    parts.push(piece.text, Buffer.from(separators[i % separators.length] ?? ''));
    if (over) return;
    answers.push(...piece.answers);
    over = piece.fatal === true;
  });
  return { bytes: Buffer.concat(parts), answers };
}
