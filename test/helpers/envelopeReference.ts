import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import type { EnvelopeOut } from '../../operators/codec/envelope.js';

/**
 * What the full decode makes of `text` (decodeJsonRpc's checks after JSON.parse)
 * when it is one valid request or notification, else undefined: the reference
 * decodeEnvelope() must equal whenever it returns true.
 */
export function envelopeReference(text: string): EnvelopeOut | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  const r = m as Record<string, unknown>;
  const hasId = Object.hasOwn(r, 'id');
  const hasParams = Object.hasOwn(r, 'params');
  if (!Object.hasOwn(r, 'jsonrpc') || r.jsonrpc !== '2.0' || !Object.hasOwn(r, 'method') || typeof r.method !== 'string') return undefined;
  if (hasId && r.id !== null && typeof r.id !== 'string' && typeof r.id !== 'number') return undefined;
  if (hasParams && (typeof r.params !== 'object' || r.params === null)) return undefined;
  return {
    id: hasId ? (r.id as EnvelopeOut['id']) : null,
    notification: !hasId,
    method: r.method,
    params: hasParams ? r.params : undefined,
  };
}

/**
 * `got` equals the reference exactly: the id by Object.is (-0 stays -0), params
 * deeply, own `__proto__` keys and prototypes included (isDeepStrictEqual), and
 * in the same key order (JSON.stringify).
 */
export function expectSameEnvelope(got: EnvelopeOut, want: EnvelopeOut | undefined, text: string): void {
  if (want === undefined) throw new Error(`taken, but not a valid request: ${JSON.stringify(text)}`);
  expect(Object.is(got.id, want.id)).toBe(true);
  expect(got.notification).toBe(want.notification);
  expect(got.method).toBe(want.method);
  expect(isDeepStrictEqual(got.params, want.params)).toBe(true);
  expect(JSON.stringify(got.params)).toBe(JSON.stringify(want.params));
}
